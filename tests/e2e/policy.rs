//! Domain policy with a static directory, in a running Legate: group membership from the
//! directory decides whether a local user may reach a federated domain.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::Write;

use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::{legate_bin, udp_exchange, Legate, SippServer};

const DIRECTORY: &str = "users:
  - { user: alice, domain: local.example, groups: [sales, federated] }
  - { user: bob, domain: local.example, groups: [engineering] }
";

fn policy_config(p: &Ports, directory: &std::path::Path) -> String {
    let base = proxy_config(p, &udp_cluster(&[p.peer]), "", "");
    let policy = "      - name: legate.filters.sip.domain_policy
        config:
          directory: corp
          default: deny
          rules:
            - { id: sales-may-federate, action: allow, remote_domains: [remote.example], local_groups: [sales], services: [im], direction: outbound }
";
    // The policy runs first on the internal listener, before the header filter and the router.
    let with_policy = base.replacen(
        "    filters:\n      - name: legate.filters.sip.header_mutation",
        &format!("    filters:\n{policy}      - name: legate.filters.sip.header_mutation"),
        1,
    );
    format!(
        "{with_policy}directories:\n  - name: corp\n    static: {{ file: \"{}\" }}\n",
        directory.display()
    )
}

fn message(from_user: &str, call: &str) -> String {
    format!(
        "MESSAGE sip:carol@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from_user}@local.example>;tag=1\r\n\
         To: <sip:carol@remote.example>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn directory_groups_decide_who_may_write_to_a_federated_domain() {
    let p = Ports::pick();
    let mut directory = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    directory.write_all(DIRECTORY.as_bytes()).unwrap();
    let legate = Legate::start(&policy_config(&p, directory.path()), p.admin);
    let _peer = SippServer::start("uas_message.xml", p.peer, "u1", 10);

    let allowed = udp_exchange(&p.internal_target(), message("alice", "pol1").as_bytes()).unwrap();
    assert!(
        allowed.starts_with("SIP/2.0 200 "),
        "alice (sales) should pass: {allowed}"
    );

    let denied = udp_exchange(&p.internal_target(), message("bob", "pol2").as_bytes()).unwrap();
    assert!(
        denied.starts_with("SIP/2.0 403 "),
        "bob (engineering) should be refused: {denied}"
    );
    assert!(denied.contains("not permitted by policy"), "{denied}");
    assert!(
        !denied.contains("engineering") && !denied.contains("sales-may-federate"),
        "{denied}"
    );
    // Decisions are counted in /metrics.
    assert_eq!(
        legate.metric("legate_policy_decisions_total{decision=\"allowed\"}"),
        Some(1.0)
    );
    assert_eq!(
        legate.metric("legate_policy_decisions_total{decision=\"denied\"}"),
        Some(1.0)
    );
}

#[test]
fn a_directory_file_that_cannot_be_loaded_stops_legate_with_the_field() {
    let p = Ports::pick();
    let mut config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    let missing = std::path::Path::new("/nonexistent/users.yaml");
    config
        .write_all(policy_config(&p, missing).as_bytes())
        .unwrap();
    let output = std::process::Command::new(legate_bin())
        .args(["validate"])
        .arg(config.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("directories[0].static.file"), "{stderr}");
    assert!(stderr.contains("/nonexistent/users.yaml"), "{stderr}");
}
