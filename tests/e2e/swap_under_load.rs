//! Configuration changed 20 times under load: the real `legate-control-plane` serves a directory
//! the test edits while sipp sends MESSAGEs through Legate at a steady rate and subscriptions stay
//! open. Every change (policy rules, a header value, the route's cluster) is ACKed, no
//! transaction fails, the subscriptions end normally, and new traffic carries the last change.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::control_plane_process::ControlPlaneProcess;
use legate_e2e::upstream::{final_response, AcceptingUpstream};
use legate_e2e::{assert_sipp_success, free_port, sipp_client, Legate, SippServer};

const TOKEN: &str = "e2e-swap-under-load-token";
const CHANGES: u32 = 20;
/// MESSAGE load: `RATE` per second, `MESSAGES` in all (about 20 s).
const RATE: &str = "1000";
const MESSAGES: u32 = 20_000;
const SUBSCRIPTIONS: u32 = 3;
/// How long each subscription stays open after its first NOTIFY: longer than the 20 changes.
const HELD_MS: &str = "15000";
/// The time between two changes, at least (each also waits for the ACK of the one before).
const SPACING: Duration = Duration::from_millis(400);

/// Revision `rev` of the shared configuration. Every revision allows remote.example,
/// presence.example and check.example under a rule id of its own and stamps `X-Legate-Config:
/// rev-N` on requests from inside; odd revisions also deny blocked.example and send
/// remote.example to a second cluster with the same endpoint.
fn config(p: &Ports, presence: u16, check: u16, rev: u32) -> String {
    let deny = if rev % 2 == 1 {
        "            - { id: block-other, action: deny, remote_domains: [blocked.example] }\n"
    } else {
        ""
    };
    let policy = format!(
        "      - name: legate.filters.sip.domain_policy
        config:
          default: deny
          rules:
{deny}            - {{ id: federate-rev-{rev}, action: allow, remote_domains: [remote.example, presence.example, check.example] }}
"
    );
    let routes = "  - name: to-presence
    match: { domain: presence.example, side: internal }
    cluster: presence-peer
  - name: to-check
    match: { domain: check.example, side: internal }
    cluster: check-peer
";
    let clusters = format!(
        "  - name: remote-peer-b\n{}  - name: presence-peer\n{}  - name: check-peer\n{}",
        udp_cluster(&[p.peer]),
        udp_cluster(&[presence]),
        udp_cluster(&[check]),
    );
    let mut yaml = proxy_config(p, &udp_cluster(&[p.peer]), routes, &clusters)
        .replacen(
            "    filters:\n      - name: legate.filters.sip.header_mutation",
            &format!("    filters:\n{policy}      - name: legate.filters.sip.header_mutation"),
            1,
        )
        .replacen(
            "value: internal } ]",
            &format!("value: internal }}, {{ name: X-Legate-Config, value: rev-{rev} }} ]"),
            1,
        );
    if rev % 2 == 1 {
        yaml = yaml.replacen(
            "    cluster: remote-peer\n",
            "    cluster: remote-peer-b\n",
            1,
        );
    }
    yaml
}

/// Replaces `file` whole, so the control plane never reads a half-written one.
fn write_atomically(file: &Path, scratch: &Path, contents: &str) {
    std::fs::write(scratch, contents).unwrap();
    std::fs::rename(scratch, file).unwrap();
}

fn message(call: &str) -> String {
    format!(
        "MESSAGE sip:dave@check.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=1\r\n\
         To: <sip:dave@check.example>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Waits (bounded) until `name` reaches `value`.
fn wait_metric(legate: &Legate, name: &str, value: f64) {
    for _ in 0..200 {
        if legate.metric(name) == Some(value) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{name} never reached {value}: {:?}", legate.metric(name));
}

/// The control plane's `GET /v1/status`.
fn plane_status(plane: &ControlPlaneProcess) -> serde_json::Value {
    let mut stream = TcpStream::connect(("127.0.0.1", plane.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{response}");
    serde_json::from_str(body).unwrap()
}

#[test]
fn twenty_changes_under_message_load_fail_no_transaction_and_the_last_one_applies() {
    let p = Ports::pick();
    let presence = p.peer2;
    let subscriber = free_port();
    let check = AcceptingUpstream::start();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    let config_file = config_dir.join("legate.yaml");
    let scratch = dir.path().join("legate.yaml.next");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();

    write_atomically(&config_file, &scratch, &config(&p, presence, check.port, 0));
    let plane = ControlPlaneProcess::start(&config_dir, &token_file);
    let args: Vec<OsString> = vec![
        "run".into(),
        "--control-plane".into(),
        plane.url().into(),
        "--node-id".into(),
        "edge-1".into(),
        "--control-plane-token-file".into(),
        token_file.clone().into(),
        "--state-dir".into(),
        dir.path().join("state").into(),
    ];
    let legate = Legate::start_with_args(&args, p.admin);
    let first_version = legate.metric("legate_config_version").unwrap();
    // The first snapshot, the one Legate started on, is not a swap.
    let acks_before = legate.metric("legate_config_acks_total").unwrap_or(0.0);
    assert_eq!(acks_before, 0.0);

    // Subscriptions open first and stay open across every change.
    let notifier = SippServer::start("uas_subscribe.xml", presence, "u1", SUBSCRIPTIONS);
    let target = p.internal_target();
    let watchers = std::thread::spawn(move || {
        sipp_client(
            "uac_subscribe_held.xml",
            &target,
            subscriber,
            "u1",
            SUBSCRIPTIONS,
            &["-d", HELD_MS],
        )
    });
    wait_metric(
        &legate,
        "legate_sip_dialogs_active",
        f64::from(SUBSCRIPTIONS),
    );

    // The MESSAGE load runs through all the changes.
    let peer = SippServer::start("uas_message.xml", p.peer, "u1", MESSAGES);
    let target = p.internal_target();
    let load = std::thread::spawn(move || {
        sipp_client(
            "uac_message.xml",
            &target,
            p.client,
            "u1",
            MESSAGES,
            &["-r", RATE],
        )
    });
    std::thread::sleep(Duration::from_millis(500));

    let mut versions = vec![first_version];
    for rev in 1..=CHANGES {
        let started = std::time::Instant::now();
        write_atomically(
            &config_file,
            &scratch,
            &config(&p, presence, check.port, rev),
        );
        wait_metric(
            &legate,
            "legate_config_acks_total",
            acks_before + f64::from(rev),
        );
        assert_eq!(
            legate.metric("legate_config_nacks_total").unwrap_or(0.0),
            0.0,
            "revision {rev} was refused"
        );
        versions.push(legate.metric("legate_config_version").unwrap());
        std::thread::sleep(SPACING.saturating_sub(started.elapsed()));
    }
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "each change runs under a newer version: {versions:?}"
    );
    // The subscriptions were open through all of it.
    assert_eq!(
        legate.metric("legate_sip_dialogs_active"),
        Some(f64::from(SUBSCRIPTIONS))
    );

    let output = load.join().unwrap();
    assert_sipp_success(&output, "MESSAGE load across the changes");
    assert!(
        peer.wait_success(Duration::from_secs(30)),
        "the MESSAGE peer did not receive all {MESSAGES} MESSAGEs marked by Legate"
    );
    let output = watchers.join().unwrap();
    assert_sipp_success(&output, "subscriptions across the changes");
    assert!(
        notifier.wait_success(Duration::from_secs(20)),
        "the notifier did not end its subscriptions normally"
    );

    assert_eq!(
        legate.metric("legate_config_acks_total"),
        Some(f64::from(CHANGES))
    );
    assert_eq!(
        legate.metric("legate_config_nacks_total").unwrap_or(0.0),
        0.0
    );
    let last = *versions.last().unwrap();
    assert_eq!(legate.metric("legate_config_version"), Some(last));
    let status = plane_status(&plane);
    assert_eq!(status["version"].as_f64(), Some(last), "{status}");
    assert_eq!(
        status["nodes"][0]["acked_version"].as_f64(),
        Some(last),
        "{status}"
    );
    assert!(status["nodes"][0]["last_nack"].is_null(), "{status}");

    // A new request carries the last change.
    check.drain();
    let answer = final_response(p.internal, &message("after-last-change"));
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let received = check.drain();
    assert_eq!(received.len(), 1, "{received:#?}");
    assert!(
        received[0].contains(&format!("X-Legate-Config: rev-{CHANGES}\r\n")),
        "{}",
        received[0]
    );
}
