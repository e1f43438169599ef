//! The process as an operator meets it: the embedded quickstart, refusal of invalid config,
//! the admin API, and a graceful drain on SIGTERM.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use legate_e2e::config::{default_config, proxy_config, udp_cluster, Ports};
use legate_e2e::{
    admin_get, assert_sipp_success, legate_bin, sipp_client, udp_exchange, Legate, SippServer,
};

#[test]
fn invalid_config_is_refused_with_file_line_and_field() {
    let mut config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    write!(
        config,
        "listeners:\n  - name: internal\n    address: 127.0.0.1:0\n    transport: udp\n    side: internal\n    filters:\n      - name: legate.filters.sip.routr\n"
    )
    .unwrap();
    for args in [vec!["run", "--config"], vec!["validate"]] {
        let output = Command::new(legate_bin())
            .args(&args)
            .arg(config.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{args:?} accepted an invalid config"
        );
        let expected = format!("{}:7:", config.path().display());
        assert!(
            stderr.contains(&expected),
            "{args:?}: no file:line in {stderr}"
        );
        assert!(
            stderr.contains("listeners[0].filters[0].name"),
            "{args:?}: no field path in {stderr}"
        );
        assert!(
            stderr.contains("unknown filter `legate.filters.sip.routr`"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn the_embedded_quickstart_lets_alice_federate_refuses_mallory_and_audits_both() {
    // The quickstart's fixed ports: 5060 (internal), 5080 (external), 9901 (admin), peer 5070.
    // It keeps its state (the audit database) in ./legate-state.
    let folder = tempfile::tempdir().unwrap();
    let mut child = Command::new(legate_bin())
        .arg("run")
        .current_dir(folder.path())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..200 {
        if admin_get(9901, "/readyz").is_some_and(|(code, _)| code == 200) {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let result = std::panic::catch_unwind(|| {
        assert!(ready, "quickstart did not become ready on 127.0.0.1:9901");
        let peer = SippServer::start("uas_message.xml", 5070, "u1", 1);
        let output = sipp_client(
            "uac_message.xml",
            "127.0.0.1:5060",
            legate_e2e::free_port(),
            "u1",
            1,
            &[],
        );
        assert_sipp_success(&output, "quickstart MESSAGE from alice");
        assert!(peer.wait_success(Duration::from_secs(10)));
        let from_mallory = "MESSAGE sip:bob@remote.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-quickstart-mallory\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:mallory@local.example>;tag=1\r\n\
             To: <sip:bob@remote.example>\r\n\
             Call-ID: quickstart-mallory@local.example\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Length: 0\r\n\r\n";
        let answer = udp_exchange("127.0.0.1:5060", from_mallory.as_bytes()).unwrap();
        assert!(answer.starts_with("SIP/2.0 403 "), "{answer}");

        // Both are in the audit database, with the policy's rule.
        let database = folder.path().join("legate-state/audit.db");
        let query = || {
            let output = Command::new(legate_bin())
                .args(["audit", "query", "--sqlite"])
                .arg(&database)
                .output()
                .unwrap();
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        let mut table = query();
        for _ in 0..100 {
            if table.lines().count() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            table = query();
        }
        let alice = table.lines().find(|l| l.contains("alice@local.example"));
        let mallory = table.lines().find(|l| l.contains("mallory@local.example"));
        assert!(
            alice.is_some_and(|l| l.contains(" request ") && l.contains(" federated-users ")),
            "{table}"
        );
        assert!(
            mallory.is_some_and(|l| l.contains(" denied ")
                && l.contains(" contractors-stay-inside ")
                && l.contains(" 403 ")),
            "{table}"
        );
    });
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
}

#[test]
fn admin_api_serves_health_metrics_and_a_redacted_config_dump() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    assert_eq!(legate.admin_get("/healthz").map(|(c, _)| c), Some(200));
    assert_eq!(legate.admin_get("/readyz").map(|(c, _)| c), Some(200));
    let (code, dump) = legate.admin_get("/config_dump").unwrap();
    assert_eq!(code, 200);
    assert!(
        dump.contains("remote-peer") && dump.contains("\"version\""),
        "{dump}"
    );
    assert!(
        !dump.contains("e2e-secret"),
        "the record-route secret leaked: {dump}"
    );
    assert!(dump.contains("[redacted]"), "{dump}");
    let (code, metrics) = legate.admin_get("/metrics").unwrap();
    assert_eq!(code, 200);
    for name in [
        "legate_sip_transactions_active",
        "legate_sip_dialogs_active",
    ] {
        assert!(metrics.contains(name), "{name} missing from {metrics}");
    }
}

#[test]
fn sigterm_finishes_running_transactions_refuses_new_ones_and_exits_zero() {
    let p = Ports::pick();
    let legate = Legate::start(&proxy_config(&p, &udp_cluster(&[p.peer]), "", ""), p.admin);
    let _slow_peer = SippServer::start("uas_message_slow.xml", p.peer, "u1", 1);
    let target = p.internal_target();
    let running =
        std::thread::spawn(move || sipp_client("uac_message.xml", &target, p.client, "u1", 1, &[]));
    // Wait until the MESSAGE is inside Legate, waiting for the slow peer.
    let mut pending = false;
    for _ in 0..100 {
        let (_, metrics) = legate.admin_get("/metrics").unwrap();
        if legate_e2e::metric_value(&metrics, "legate_sip_transactions_active") == Some(1.0) {
            pending = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(pending, "the MESSAGE never became a running transaction");
    legate.signal_term();
    // While draining: not ready, and a new request is refused with a reason and Retry-After.
    let mut refused = None;
    for attempt in 0..20 {
        let request = format!(
            "MESSAGE sip:bob@remote.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-drain{attempt}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:a@local.example>;tag=1\r\n\
             To: <sip:bob@remote.example>\r\n\
             Call-ID: drain{attempt}@local.example\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Length: 0\r\n\r\n"
        );
        if let Some(answer) = udp_exchange(&p.internal_target(), request.as_bytes()) {
            if answer.starts_with("SIP/2.0 503 ") {
                refused = Some(answer);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = refused.expect("no 503 while draining");
    assert!(
        refused.contains("Retry-After:") && refused.contains("shutting down"),
        "{refused}"
    );
    assert_eq!(legate.admin_get("/readyz").map(|(c, _)| c), Some(503));
    // The running MESSAGE still completes, then the process exits 0.
    assert_sipp_success(
        &running.join().unwrap(),
        "MESSAGE running when SIGTERM arrived",
    );
    let status = legate.wait_exit();
    assert!(status.success(), "exit status {status}");
}
