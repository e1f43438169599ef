//! The example filters the way a vendor's customer runs them: a config naming them is checked
//! and pushed by the custom control plane (`legate-dlp-control-plane`) to the custom proxy
//! (`legate-dlp`), which has nothing but the control plane's address to start from. Both
//! filters' refusals land in the audit store as `denied` under their rule ids, and the DLP
//! filter's own metric is on `/metrics`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    admin_get, free_tcp_port, free_udp_port, is_ready, message, poll, send, upstream, Running,
};

const PROXY: &str = env!("CARGO_BIN_EXE_legate-dlp");
const CONTROL_PLANE: &str = env!("CARGO_BIN_EXE_legate-dlp-control-plane");

struct Ports {
    admin: u16,
    internal: u16,
    external: u16,
    upstream: u16,
}

fn config(dir: &Path, ports: &Ports) -> String {
    let Ports {
        admin,
        internal,
        external,
        upstream,
    } = ports;
    let dir = dir.display();
    format!(
        r#"
admin: {{ address: "127.0.0.1:{admin}" }}
proxy: {{ record_route_secret: {{ value: "dlp-example-pushed" }} }}
audit:
  partition: edge-1
  spool_dir: "{dir}/spool"
  sinks:
    - {{ name: local, sqlite: {{ file: "{dir}/audit.db" }} }}
peers:
  - name: partner-a
    domains: [partner-a.example]
    reach: {{ address: "127.0.0.1:{upstream}" }}
    trust_bundle: "{dir}/partner-a.pem"
listeners:
  - name: internal
    address: "127.0.0.1:{internal}"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.audit
      - name: example.filters.sip.dlp
        config:
          rules:
            - {{ id: project-falcon, pattern: '(?i)project\s+falcon' }}
      - name: legate.filters.sip.router
  - name: external
    address: "127.0.0.1:{external}"
    transport: udp
    side: external
    filters:
      - name: legate.filters.sip.audit
      - name: example.filters.sip.partner_key
        config:
          keys: [ {{ peer: partner-a, sha256: "{}" }} ]
      - name: legate.filters.sip.router
routes:
  - {{ name: out, match: {{ domain: remote.example }}, cluster: remote }}
clusters:
  - {{ name: remote, transport: udp, endpoints: ["127.0.0.1:{upstream}"] }}
"#,
        "0".repeat(64)
    )
}

/// The denied records in the audit store, as `(rule_id, listener)`, once there are `count` of
/// them (records are written off the request's path).
fn denied(store: &Path, count: usize) -> Vec<(String, String)> {
    let found = poll(|| {
        let output = Command::new(PROXY)
            .args([
                "audit",
                "query",
                "--decision",
                "deny",
                "--format",
                "json",
                "--sqlite",
            ])
            .arg(store)
            .output()
            .unwrap();
        if !output.status.success() {
            return None;
        }
        let records: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
        let found: Vec<(String, String)> = records
            .iter()
            .map(|chained| &chained["record"])
            .filter(|record| record["event"] == "denied")
            .map(|record| {
                let field = |name: &str| record[name].as_str().unwrap_or("").to_string();
                (field("rule_id"), field("listener"))
            })
            .collect();
        (found.len() >= count).then_some(found)
    });
    found.unwrap_or_else(|| panic!("fewer than {count} denied records in the audit store"))
}

#[test]
fn a_config_naming_the_example_filters_is_pushed_and_their_refusals_are_audited_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let partner_ca = rcgen::generate_simple_self_signed(vec!["partner-a.example".into()]).unwrap();
    std::fs::write(dir.path().join("partner-a.pem"), partner_ca.cert.pem()).unwrap();
    let (upstream, _received) = upstream();
    let ports = Ports {
        admin: free_tcp_port(),
        internal: free_udp_port(),
        external: free_udp_port(),
        upstream,
    };
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    std::fs::write(config_dir.join("legate.yaml"), config(dir.path(), &ports)).unwrap();

    let control_port = free_tcp_port();
    let mut control_plane = Running::start(
        "legate-dlp-control-plane",
        Command::new(CONTROL_PLANE)
            .args(["serve", "--insecure-loopback", "--config-dir"])
            .arg(&config_dir)
            .args(["--listen", &format!("127.0.0.1:{control_port}")]),
    );
    // The control plane serves errors once it has checked the directory: none.
    control_plane.wait_until(|| {
        admin_get(control_port, "/v1/errors").is_some_and(|body| body.contains("\"errors\":[]"))
    });

    let mut proxy = Running::start(
        "legate-dlp",
        Command::new(PROXY)
            .args(["run", "--node-id", "edge-1", "--control-plane"])
            .arg(format!("http://127.0.0.1:{control_port}"))
            .arg("--state-dir")
            .arg(dir.path().join("state")),
    );
    proxy.wait_until(|| is_ready(ports.admin));

    let refused = send(ports.internal, &message("pushed-1", "PROJECT FALCON notes"));
    assert!(refused.starts_with("SIP/2.0 403 "), "{refused}");
    let unkeyed = message("pushed-2", "hello").replace(
        "From: <sip:alice@local.example>",
        "From: <sip:carol@partner-a.example>",
    );
    let refused = send(ports.external, &unkeyed);
    assert!(refused.starts_with("SIP/2.0 403 "), "{refused}");

    let mut records = denied(&dir.path().join("audit.db"), 2);
    records.sort();
    assert_eq!(
        records,
        [
            ("missing-key".to_string(), "external".to_string()),
            ("project-falcon".to_string(), "internal".to_string()),
        ]
    );
    let metrics = admin_get(ports.admin, "/metrics").unwrap();
    assert!(
        metrics.contains("example_dlp_matches_total{rule=\"project-falcon\"} 1\n"),
        "{metrics}"
    );
}
