//! Configuration changed 20 times under load: the real `legate-control-plane` serves a directory
//! the test edits while sipp sends 3000 MESSAGEs a second through Legate (the optimised build:
//! the debug one does not hold that rate on a small machine) and subscriptions stay open. The
//! changes are policy rules, a header value, the route's cluster, a new listener and a
//! certificate rotation. Every one is ACKed, no transaction fails, the subscriptions end
//! normally and on the snapshot they started with, and new traffic carries the last change.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::control_plane_process::{proxy_run_args, ControlPlaneProcess};
use legate_e2e::stream::{options_to_legate, SipConnection};
use legate_e2e::tls::{tls_connect, Ca, Issued, TlsStream};
use legate_e2e::upstream::{final_response, AcceptingUpstream};
use legate_e2e::{assert_sipp_success, free_port, sipp_client, Legate, SippServer};

const TOKEN: &str = "e2e-swap-under-load-token";
const CHANGES: u32 = 20;
/// MESSAGE load: `RATE` per second, `MESSAGES` in all (about 20 s).
const RATE: &str = "3000";
const MESSAGES: u32 = 60_000;
const SUBSCRIPTIONS: u32 = 3;
/// How long each subscription stays open after its first NOTIFY: longer than the 20 changes.
const HELD_MS: &str = "20000";
/// The revision that adds the listener `internal-2`, and the one from which the TLS listener
/// presents a certificate of another CA.
const LISTENER_ADDED_AT: u32 = 8;
const ROTATED_AT: u32 = 12;

/// What the configuration refers to besides its ports.
struct Setup {
    p: Ports,
    presence: u16,
    check: u16,
    second_internal: u16,
    tls: u16,
    old_certificate: Issued,
    new_certificate: Issued,
}
/// The time between two changes, at least (each also waits for the ACK of the one before).
const SPACING: Duration = Duration::from_millis(400);

/// Revision `rev` of the shared configuration. Every revision allows remote.example,
/// presence.example and check.example under a rule id of its own and stamps `X-Legate-Config:
/// rev-N` on requests from inside; odd revisions also deny blocked.example and send
/// remote.example to a second cluster with the same endpoint. From `LISTENER_ADDED_AT` a second
/// internal listener (the same chain) serves; from `ROTATED_AT` the TLS listener presents the new
/// certificate.
fn config(setup: &Setup, rev: u32) -> String {
    let p = &setup.p;
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
        udp_cluster(&[setup.presence]),
        udp_cluster(&[setup.check]),
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
    let certificate = if rev >= ROTATED_AT {
        &setup.new_certificate
    } else {
        &setup.old_certificate
    };
    let mut added = format!(
        "  - name: partners\n    address: \"127.0.0.1:{}\"\n    transport: tls\n    \
         side: external\n    tls: {{ certificate: \"{}\", private_key: \"{}\" }}\n    \
         filters:\n      - name: legate.filters.sip.router\n",
        setup.tls,
        certificate.certificate.display(),
        certificate.private_key.display(),
    );
    if rev >= LISTENER_ADDED_AT {
        let (start, end) = (
            yaml.find("  - name: internal\n").unwrap(),
            yaml.find("  - name: external\n").unwrap(),
        );
        added.push_str(
            &yaml[start..end]
                .replacen("name: internal", "name: internal-2", 1)
                .replacen(
                    &format!("127.0.0.1:{}", p.internal),
                    &format!("127.0.0.1:{}", setup.second_internal),
                    1,
                ),
        );
    }
    yaml.replacen("routes:\n", &format!("{added}routes:\n"), 1)
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

/// An OPTIONS to Legate over `connection`, answered 200.
fn tls_ping(connection: &mut SipConnection<TlsStream>, port: u16, call: &str) {
    connection
        .send(options_to_legate(port, "TLS", call).as_bytes())
        .unwrap();
    let answer = connection.receive().message();
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
}

/// The SUBSCRIBE requests in a sipp message log (`-trace_msg`), as received.
fn subscribes_in(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.split("message received")
        .skip(1)
        .filter_map(|entry| entry.split_once("\n\n").map(|(_, message)| message))
        .filter(|message| message.starts_with("SUBSCRIBE "))
        .map(str::to_string)
        .collect()
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
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (Ca::new(dir.path(), "old"), Ca::new(dir.path(), "new"));
    let check = AcceptingUpstream::start();
    let p = Ports::pick();
    let setup = Setup {
        presence: p.peer2,
        check: check.port,
        second_internal: free_port(),
        tls: free_port(),
        old_certificate: old_ca.server("legate"),
        new_certificate: new_ca.server("legate"),
        p,
    };
    let (p, presence) = (setup.p, setup.presence);
    let subscriber = free_port();
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    let config_file = config_dir.join("legate.yaml");
    let scratch = dir.path().join("legate.yaml.next");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();

    write_atomically(&config_file, &scratch, &config(&setup, 0));
    let plane = ControlPlaneProcess::start(&config_dir, &token_file);
    let token: Vec<OsString> = vec![
        "--control-plane-token-file".into(),
        token_file.clone().into(),
    ];
    let args = proxy_run_args(&plane.url(), "edge-1", &dir.path().join("state"), &token);
    let legate = Legate::start_release_with_args(&args, p.admin);
    let mut before_rotation = SipConnection::new(tls_connect(setup.tls, &old_ca, None));
    tls_ping(&mut before_rotation, setup.tls, "before-rotation");
    let first_version = legate.metric("legate_config_version").unwrap();
    // The first snapshot, the one Legate started on, is not a swap.
    let acks_before = legate.metric("legate_config_acks_total").unwrap_or(0.0);
    assert_eq!(acks_before, 0.0);

    // Subscriptions open first and stay open across every change.
    let notifier_log = dir.path().join("notifier-messages.log");
    let notifier_log_arg = notifier_log.to_str().unwrap();
    let notifier = SippServer::start_with(
        "uas_subscribe.xml",
        presence,
        "u1",
        SUBSCRIPTIONS,
        &["-trace_msg", "-message_file", notifier_log_arg],
    );
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
        write_atomically(&config_file, &scratch, &config(&setup, rev));
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
    // Each subscription ran on the snapshot it started with: its unsubscribe, sent after all
    // the changes, went through revision 0's chain.
    let subscribes = subscribes_in(&notifier_log);
    assert_eq!(
        subscribes.len(),
        2 * SUBSCRIPTIONS as usize,
        "{subscribes:#?}"
    );
    for subscribe in &subscribes {
        assert!(
            subscribe.contains("X-Legate-Config: rev-0\r\n"),
            "{subscribe}"
        );
    }

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

    // New requests carry the last change, on the first listener and on the added one.
    check.drain();
    for (port, call) in [
        (p.internal, "after-last-change"),
        (setup.second_internal, "on-the-added-listener"),
    ] {
        let answer = final_response(port, &message(call));
        assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
        let received = check.drain();
        assert_eq!(received.len(), 1, "{received:#?}");
        assert!(
            received[0].contains(&format!("X-Legate-Config: rev-{CHANGES}\r\n")),
            "{}",
            received[0]
        );
    }
    // New TLS connections get the rotated certificate; the one made before still works.
    let mut after_rotation = SipConnection::new(tls_connect(setup.tls, &new_ca, None));
    tls_ping(&mut after_rotation, setup.tls, "after-rotation");
    tls_ping(&mut before_rotation, setup.tls, "before-rotation-again");
}
