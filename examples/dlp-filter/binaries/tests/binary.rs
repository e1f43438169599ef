//! The custom `legate-dlp` binary end to end: started on a config using the DLP filter, with raw
//! UDP sockets of the test as the sender and the upstream, all on 127.0.0.1.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{free_tcp_port, free_udp_port, is_ready, message, send, upstream, Running};

const BINARY: &str = env!("CARGO_BIN_EXE_legate-dlp");

/// legate-dlp running on `yaml`, once its admin API at `admin` says it is ready.
fn start_gateway(yaml: &str, admin: u16) -> (Running, tempfile::NamedTempFile) {
    let mut config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    config.write_all(yaml.as_bytes()).unwrap();
    let mut command = Command::new(BINARY);
    command.args(["run", "--config"]).arg(config.path());
    let mut gateway = Running::start("legate-dlp", &mut command);
    gateway.wait_until(|| is_ready(admin));
    (gateway, config)
}

#[test]
fn a_message_with_a_forbidden_keyword_is_refused_and_a_clean_one_passes() {
    let (listener, admin) = (free_udp_port(), free_tcp_port());
    let (upstream, received) = upstream();
    let config = format!(
        r#"
admin: {{ address: "127.0.0.1:{admin}" }}
proxy: {{ record_route_secret: {{ value: "dlp-example" }} }}
listeners:
  - name: internal
    address: "127.0.0.1:{listener}"
    transport: udp
    side: internal
    filters:
      - name: example.filters.sip.dlp
        config:
          rules:
            - {{ id: project-falcon, pattern: '(?i)project\s+falcon' }}
          disclaimer: "[archived]"
      - name: legate.filters.sip.router
routes:
  - {{ name: out, match: {{ domain: remote.example }}, cluster: remote }}
clusters:
  - {{ name: remote, transport: udp, endpoints: ["127.0.0.1:{upstream}"] }}
"#
    );
    let _gateway = start_gateway(&config, admin);

    let refused = send(
        listener,
        &message("dlp-1", "notes on PROJECT FALCON attached"),
    );
    assert!(
        refused.starts_with("SIP/2.0 403 content not permitted\r\n"),
        "{refused}"
    );
    assert!(
        refused.contains("Warning: 399 legate \"content not permitted (rule project-falcon)\""),
        "{refused}"
    );
    assert!(!refused.contains("PROJECT FALCON"), "{refused}");

    let passed = send(listener, &message("dlp-2", "lunch at noon?"));
    assert!(passed.starts_with("SIP/2.0 200 OK\r\n"), "{passed}");
    let forwarded = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        forwarded.contains("Call-ID: dlp-2\r\n"),
        "only the clean message: {forwarded}"
    );
    assert!(
        forwarded.ends_with("\r\n\r\nlunch at noon?\r\n[archived]"),
        "{forwarded}"
    );
    assert!(received.try_recv().is_err());
}

#[test]
fn the_custom_binary_validates_and_lists_the_filter_like_a_builtin() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dlp.yaml");
    let output = Command::new(BINARY)
        .arg("validate")
        .arg(&shipped)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = Command::new(BINARY).arg("filters").output().unwrap();
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.contains("| `example.filters.sip.dlp` | experimental | no | yes |"),
        "{table}"
    );
    assert!(table.contains("| `legate.filters.sip.router` |"), "{table}");
}

#[test]
fn a_bad_rule_is_refused_at_validation_with_its_field() {
    let mut config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../dlp.yaml"))
            .unwrap()
            .replace(r"(?i)project\s+falcon", "(unclosed");
    config.write_all(shipped.as_bytes()).unwrap();
    let output = Command::new(BINARY)
        .arg("validate")
        .arg(config.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("listeners[0].filters[0].config.rules[1].pattern"),
        "{error}"
    );
}
