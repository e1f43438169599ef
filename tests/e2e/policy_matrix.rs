//! The policy matrix end to end: remote domain × local group × service × direction, each cell
//! sent through a running Legate and answered as the rules say. The upstream is a raw socket of
//! the test that accepts everything, so every refusal seen is Legate's.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::Write;

use legate_e2e::config::config_head;
use legate_e2e::upstream::{final_response, AcceptingUpstream};
use legate_e2e::{free_port, Legate};

const DIRECTORY: &str = "users:
  - { user: alice, domain: acme.example, groups: [federated, sales] }
  - { user: bob, domain: acme.example, groups: [federated, engineering] }
  - { user: carol, domain: acme.example, groups: [federated, support] }
  - { user: dave, domain: acme.example, groups: [board] }
";

const POLICY: &str = "      - name: legate.filters.sip.domain_policy
        config:
          directory: corp
          exposed_groups: [federated]
          default: deny
          rules:
            - { id: block-competitor, action: deny, remote_domains: [competitor.example] }
            - { id: sales-talk, action: allow, direction: outbound, local_groups: [sales], services: [im, presence], remote_domains: [partner.example, \"*.partner.example\"] }
            - { id: engineering-calls, action: allow, direction: outbound, local_groups: [engineering], services: [voice], remote_domains: [partner.example] }
            - { id: partners-write-in, action: allow, direction: inbound, local_groups: [federated], services: [im, presence], remote_domains: [partner.example, \"*.partner.example\", competitor.example] }
            - { id: files-for-support, action: allow, direction: inbound, local_groups: [support], services: [file-transfer] }
";

#[derive(Clone, Copy)]
enum Service {
    Im,
    Presence,
    Voice,
    Video,
    FileTransfer,
    Chat,
}

fn request(from: &str, to: &str, service: Service, call: usize) -> String {
    let (method, extra, body) = match service {
        Service::Im => (
            "MESSAGE",
            "Content-Type: text/plain\r\n",
            "hello".to_string(),
        ),
        Service::Presence => (
            "SUBSCRIBE",
            "Event: presence\r\nExpires: 60\r\n",
            String::new(),
        ),
        Service::Voice => (
            "INVITE",
            "Content-Type: application/sdp\r\n",
            sdp(&["m=audio 4000 RTP/AVP 0"]),
        ),
        Service::Video => (
            "INVITE",
            "Content-Type: application/sdp\r\n",
            sdp(&["m=audio 4000 RTP/AVP 0", "m=video 4002 RTP/AVP 31"]),
        ),
        Service::FileTransfer => (
            "INVITE",
            "Content-Type: application/sdp\r\n",
            sdp(&[
                "m=message 7654 TCP/MSRP *",
                "a=file-selector:name:\"report.pdf\" type:application/pdf",
            ]),
        ),
        Service::Chat => (
            "INVITE",
            "Content-Type: application/sdp\r\n",
            sdp(&["m=message 7654 TCP/MSRP *"]),
        ),
    };
    format!(
        "{method} sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-m{call};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{from}>;tag=f{call}\r\nTo: <sip:{to}>\r\nCall-ID: matrix-{call}\r\nCSeq: 1 {method}\r\nContact: <sip:{from}>\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn sdp(media: &[&str]) -> String {
    let mut sdp =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n".to_string();
    for line in media {
        sdp.push_str(line);
        sdp.push_str("\r\n");
    }
    sdp
}

/// Sends `request` to Legate on `port` and returns the final status line and Warning.
fn final_answer(port: u16, request: &str) -> (String, String) {
    let answer = final_response(port, request);
    let status = answer.lines().next().unwrap_or("").to_string();
    let warning = answer
        .lines()
        .find(|l| l.starts_with("Warning:"))
        .unwrap_or("")
        .to_string();
    (status, warning)
}

#[test]
fn every_cell_of_the_policy_matrix_gets_the_configured_answer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::File::create(dir.path().join("users.yaml"))
        .unwrap()
        .write_all(DIRECTORY.as_bytes())
        .unwrap();
    let (internal, external, admin) = (free_port(), free_port(), free_port());
    let upstream = AcceptingUpstream::start();
    let config = format!(
        "{head}
directories:
  - name: corp
    static: {{ file: \"{users}\" }}
listeners:
  - name: internal
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
{POLICY}      - name: legate.filters.sip.router
  - name: external
    address: \"127.0.0.1:{external}\"
    transport: udp
    side: external
    filters:
{POLICY}      - name: legate.filters.sip.router
routes:
  - {{ name: anywhere, match: {{ domain: \"*\" }}, cluster: up }}
clusters:
  - {{ name: up, transport: udp, endpoints: [\"127.0.0.1:{upstream}\"] }}
",
        head = config_head(admin),
        upstream = upstream.port,
        users = dir.path().join("users.yaml").display(),
    );
    let legate = Legate::start(&config, admin);

    use Service::*;
    let outbound = "outbound";
    let inbound = "inbound";
    #[rustfmt::skip]
    let matrix: &[(&str, &str, &str, Service, u16)] = &[
        // direction, from, to, service, expected status
        (outbound, "alice@acme.example", "bob@partner.example", Im, 200),
        (outbound, "alice@acme.example", "bob@eu.partner.example", Im, 200),
        (outbound, "alice@acme.example", "bob@partner.example", Presence, 200),
        (outbound, "alice@acme.example", "bob@partner.example", Voice, 403),
        (outbound, "alice@acme.example", "eve@competitor.example", Im, 403),
        (outbound, "alice@acme.example", "bob@elsewhere.example", Im, 403),
        (outbound, "bob@acme.example", "bob@partner.example", Voice, 200),
        (outbound, "bob@acme.example", "bob@eu.partner.example", Voice, 403),
        (outbound, "bob@acme.example", "bob@partner.example", Video, 403),
        (outbound, "bob@acme.example", "bob@partner.example", Im, 403),
        (outbound, "carol@acme.example", "bob@partner.example", Im, 403),
        (inbound, "bob@partner.example", "alice@acme.example", Im, 200),
        (inbound, "bob@eu.partner.example", "alice@acme.example", Presence, 200),
        (inbound, "bob@partner.example", "alice@acme.example", Voice, 403),
        (inbound, "eve@competitor.example", "alice@acme.example", Im, 403),
        (inbound, "bob@elsewhere.example", "alice@acme.example", Im, 403),
        (inbound, "bob@partner.example", "carol@acme.example", FileTransfer, 200),
        (inbound, "bob@partner.example", "carol@acme.example", Chat, 403),
        (inbound, "bob@partner.example", "bob@acme.example", FileTransfer, 403),
        (inbound, "bob@partner.example", "dave@acme.example", Im, 404),
        (inbound, "bob@partner.example", "nobody@acme.example", Im, 404),
    ];
    let mut wrong = Vec::new();
    for (call, (direction, from, to, service, expected)) in matrix.iter().enumerate() {
        let port = if *direction == outbound {
            internal
        } else {
            external
        };
        let (status, warning) = final_answer(port, &request(from, to, *service, call));
        if !status.starts_with(&format!("SIP/2.0 {expected} ")) {
            wrong.push(format!(
                "{direction} {from} -> {to}: expected {expected}, got {status} {warning}"
            ));
        }
        if *expected == 403 {
            assert!(
                !warning.contains("group") && !warning.contains("acme"),
                "a refusal names internal detail: {warning}"
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "policy matrix mismatches:\n{}",
        wrong.join("\n")
    );

    // A hidden user and a user who does not exist get the very same answer.
    let hidden = final_answer(
        external,
        &request("bob@partner.example", "dave@acme.example", Im, 900),
    );
    let unknown = final_answer(
        external,
        &request("bob@partner.example", "nobody@acme.example", Im, 901),
    );
    assert_eq!(hidden, unknown);

    let metrics = legate.admin_get("/metrics").unwrap().1;
    assert!(
        metrics.contains("legate_policy_decisions_total"),
        "{metrics}"
    );
}
