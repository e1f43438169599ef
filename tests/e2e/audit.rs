//! Audit in a running Legate: the `stdout` sink's JSON lines for a MESSAGE, a call (INVITE and
//! BYE through sipp) and a policy denial, their hash chain verified, the sink's health on
//! `/readyz` and `/metrics`, and the chain continued by a restarted Legate.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use legate_audit::{verify, ChainedRecord, EventKind};
use legate_e2e::config::{proxy_config, udp_cluster, with_internal_filters, Ports};
use legate_e2e::{legate_bin, play, udp_exchange, Legate};

const PARTITION: &str = "e2e";

/// The default config with the audit filter in front of a policy that denies
/// `blocked.example` on the internal listener, and a `stdout` audit sink.
fn audit_config(p: &Ports, spool: &Path) -> String {
    let base = proxy_config(p, &udp_cluster(&[p.peer]), "", "");
    let filters = "      - name: legate.filters.sip.audit
      - name: legate.filters.sip.domain_policy
        config:
          default: allow
          rules:
            - { id: no-blocked, action: deny, remote_domains: [blocked.example] }
";
    let chain = with_internal_filters(&base, filters);
    format!(
        "{chain}audit:\n  partition: {PARTITION}\n  spool_dir: \"{}\"\n  sinks:\n    - {{ name: log, stdout: {{}} }}\n",
        spool.display()
    )
}

fn message_to_blocked(call: &str) -> String {
    format!(
        "MESSAGE sip:mallory@blocked.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=1\r\n\
         To: <sip:mallory@blocked.example>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

fn records(lines: &[String]) -> Vec<ChainedRecord> {
    lines
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not an audit record ({e}): {line}"))
        })
        .collect()
}

#[test]
fn a_message_a_call_and_a_denial_are_chained_records_on_stdout() {
    let p = Ports::pick();
    let spool = tempfile::tempdir().unwrap();
    let legate = Legate::start_capturing_stdout(&audit_config(&p, spool.path()), p.admin);

    play(&p, "uas_message.xml", "uac_message.xml", 1, &[]);
    play(&p, "uas_invite.xml", "uac_invite.xml", 1, &[]);
    let denied = udp_exchange(
        &p.internal_target(),
        message_to_blocked("audit-d").as_bytes(),
    )
    .expect("an answer to the blocked MESSAGE");
    assert!(denied.starts_with("SIP/2.0 403 "), "{denied}");

    let records = records(&legate.stdout().wait_for(4));
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_eq!(verify(PARTITION, &records), Ok(4), "the chain holds");
    let events: Vec<_> = records
        .iter()
        .map(|r| (r.record.event, r.record.method.as_str(), r.record.status))
        .collect();
    assert_eq!(
        events,
        [
            (EventKind::Request, "MESSAGE", 200),
            (EventKind::DialogStart, "INVITE", 200),
            (EventKind::DialogEnd, "BYE", 200),
            (EventKind::Denied, "MESSAGE", 403),
        ]
    );
    for chained in &records[..3] {
        let record = &chained.record;
        assert_eq!(
            record.local_internal.as_deref(),
            Some("alice@local.example")
        );
        assert_eq!(record.remote.as_deref(), Some("bob@remote.example"));
        assert_eq!(
            (record.direction.as_str(), record.listener.as_str()),
            ("outbound", "internal")
        );
        assert_eq!(record.config_version, 1);
    }
    assert_eq!(records[0].record.service, "im");
    assert_eq!(records[1].record.service, "voice");
    assert_eq!(records[1].record.call_id, records[2].record.call_id);
    let denial = &records[3].record;
    assert_eq!(denial.remote.as_deref(), Some("mallory@blocked.example"));
    assert_eq!(
        (denial.decision.as_deref(), denial.rule_id.as_deref()),
        (Some("deny"), Some("no-blocked"))
    );

    assert_eq!(
        legate.metric("legate_audit_records_total{sink=\"log\"}"),
        Some(4.0)
    );
    assert_eq!(
        legate.metric("legate_audit_sink_up{sink=\"log\"}"),
        Some(1.0)
    );
    assert_eq!(
        legate.metric("legate_audit_spooled{sink=\"log\"}"),
        Some(0.0)
    );
    assert_eq!(legate.metric("legate_audit_refusals_total"), Some(0.0));
    let (status, ready) = legate.admin_get("/readyz").unwrap();
    assert_eq!(status, 200);
    assert!(ready.contains("audit sink log: up, 0 spooled"), "{ready}");
    assert!(legate.terminate().success());
}

#[test]
fn a_restarted_legate_continues_its_chain() {
    let p = Ports::pick();
    let spool = tempfile::tempdir().unwrap();
    let config = audit_config(&p, spool.path());
    let mut lines = Vec::new();
    for call in ["first", "second"] {
        let legate = Legate::start_capturing_stdout(&config, p.admin);
        udp_exchange(&p.internal_target(), message_to_blocked(call).as_bytes()).expect("an answer");
        let stdout = legate.stdout();
        stdout.wait_for(1);
        assert!(legate.terminate().success());
        lines.extend(stdout.lines());
        // The next run binds the same ports.
        std::thread::sleep(Duration::from_millis(200));
    }
    let records = records(&lines);
    assert_eq!(
        verify(PARTITION, &records),
        Ok(2),
        "the second run links to the first: {records:#?}"
    );
}

#[test]
fn the_audit_filter_without_an_audit_section_is_a_config_error() {
    let p = Ports::pick();
    let spool = tempfile::tempdir().unwrap();
    let config = audit_config(&p, spool.path());
    let without = &config[..config.find("audit:\n").unwrap()];
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(without.as_bytes()).unwrap();
    let output = std::process::Command::new(legate_bin())
        .arg("validate")
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("listeners[0].filters[0]"), "{stderr}");
    assert!(stderr.contains("top-level `audit` section"), "{stderr}");
}
