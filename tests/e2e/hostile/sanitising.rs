//! What comes in is checked at the edge: header text, and the admin token's strength.

use legate_e2e::raw_sip::{has_pending, header, port_of, receive, udp_socket};
use legate_e2e::{free_port, Legate};

use super::edge::*;

/// `validate` and `run` judge an admin token file alike: a one-byte token (or an empty file) is
/// refused by both, with the reason; a strong one passes.
#[test]
fn weak_admin_tokens_are_refused_by_validate_and_run_alike() {
    let dir = tempfile::tempdir().unwrap();
    let admin = free_port();
    let token = dir.path().join("admin-token");
    let config = dir.path().join("legate.yaml");
    let yaml = format!(
        "admin: {{ address: \"127.0.0.1:{admin}\", token_file: \"{}\" }}
listeners:
  - name: internal
    address: \"127.0.0.1:{}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.router
",
        token.display(),
        free_port()
    );
    std::fs::write(&config, yaml).unwrap();
    let legate = |command: &str| {
        let mut process = std::process::Command::new(legate_e2e::legate_bin());
        match command {
            "run" => process.args(["run", "--config"]),
            _ => process.arg(command),
        };
        process.arg(&config).output().unwrap()
    };
    for (contents, reason) in [("x", "at least 16"), ("", "is empty")] {
        std::fs::write(&token, contents).unwrap();
        for command in ["validate", "run"] {
            let output = legate(command);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{command} accepted {contents:?}");
            assert!(
                stderr.contains("admin.token_file") && stderr.contains(reason),
                "{command}: {stderr}"
            );
        }
    }
    std::fs::write(&token, "Xk2-9fQ_pL7wZ3rT-4nV8\n").unwrap();
    let output = legate("validate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Header values with control characters (raw, or escaped in a quoted string) and bytes that
/// are not UTF-8 get 400 at the edge and never reach the inside; UTF-8 text passes.
#[test]
fn control_characters_and_invalid_utf8_are_refused_at_the_edge() {
    let edge = Edge::new();
    let _legate = Legate::start(&edge.config(""), edge.admin);
    let partner = udp_socket();
    let message = |call: &str, extra: &[u8]| {
        let mut bytes = format!(
            "MESSAGE sip:alice@acme.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK-{call};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"Zoë\" <sip:bob@partner.example>;tag=p1\r\n\
             To: <sip:alice@acme.example>\r\n\
             Call-ID: {call}\r\n\
             CSeq: 1 MESSAGE\r\n",
            port_of(&partner)
        )
        .into_bytes();
        bytes.extend_from_slice(extra);
        bytes.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        bytes
    };
    let cases: [(&str, &[u8], &str); 4] = [
        ("nul", b"Subject: a\0b", "control character"),
        ("escaped-nul", b"Subject: \"a\\\0b\"", "control character"),
        ("bell", b"X-Note: \x07", "control character"),
        ("latin1", b"Subject: caf\xe9", "not valid utf-8"),
    ];
    let mut answers = Vec::new();
    for (call, extra, reason) in cases {
        partner
            .send_to(&message(call, extra), ("127.0.0.1", edge.external_udp))
            .unwrap();
        let answer = receive(&partner);
        assert!(answer.starts_with("SIP/2.0 400"), "{call}: {answer}");
        assert!(header(&answer, "Warning")[0].contains(reason), "{answer}");
        answers.push(answer);
    }
    edge.assert_nothing_internal(&answers);
    assert!(
        !has_pending(&edge.im),
        "a refused request reached the inside"
    );

    partner
        .send_to(
            &message("utf8", "Subject: café au lait".as_bytes()),
            ("127.0.0.1", edge.external_udp),
        )
        .unwrap();
    let inside = receive(&edge.im);
    assert!(inside.contains("Subject: café au lait"), "{inside}");
}
