//! Configuration pushed by a control plane while traffic flows: a policy change applies to new
//! traffic at once, a running subscription finishes under the snapshot it started with, a bad
//! snapshot is refused with its reason, and the proxy keeps (and restarts on) its last good
//! snapshot when the control plane goes away.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::time::Duration;

use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::control_plane::StandInControlPlane;
use legate_e2e::{sipp_client, udp_exchange, Legate, SippServer};

const TOKEN: &str = "e2e-push-token-0427";
const DIALOGS: &str = "legate_sip_dialogs_active";

/// The test config with a domain policy whose one rule `allow`s or `deny`s remote.example.
fn config(p: &Ports, action: &str) -> String {
    let policy = format!(
        "      - name: legate.filters.sip.domain_policy
        config:
          default: deny
          rules:
            - {{ id: federate-remote, action: {action}, remote_domains: [remote.example] }}
"
    );
    proxy_config(p, &udp_cluster(&[p.peer]), "", "").replacen(
        "    filters:\n      - name: legate.filters.sip.header_mutation",
        &format!("    filters:\n{policy}      - name: legate.filters.sip.header_mutation"),
        1,
    )
}

fn message(call: &str) -> String {
    format!(
        "MESSAGE sip:carol@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=1\r\n\
         To: <sip:carol@remote.example>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

fn wait_metric(legate: &Legate, name: &str, value: f64) {
    for _ in 0..100 {
        if legate.metric(name) == Some(value) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} never reached {value}: {:?}", legate.metric(name));
}

#[test]
fn pushed_snapshots_swap_live_pin_running_dialogs_and_survive_the_control_plane() {
    let p = Ports::pick();
    let plane = StandInControlPlane::start(TOKEN);
    let state_dir = tempfile::tempdir().unwrap();
    let args = plane.proxy_args(state_dir.path());

    // No saved snapshot and no config file: Legate waits for v1 before it binds.
    plane.publish(1, &config(&p, "allow"));
    let legate = Legate::start_with_args(&args, p.admin);
    assert!(plane.wait_ack(1).accepted);
    let (_, dump) = legate.admin_get("/config_dump").unwrap();
    assert!(dump.contains("\"version\": 1"), "{dump}");
    assert!(dump.contains("\"hash\": \""), "{dump}");

    // A subscription starts under v1 (allowed) and pauses after its first NOTIFY.
    let peer = SippServer::start("uas_subscribe.xml", p.peer, "u1", 1);
    let target = p.internal_target();
    let watcher = std::thread::spawn(move || {
        sipp_client("uac_subscribe_paused.xml", &target, p.client, "u1", 1, &[])
    });
    wait_metric(&legate, DIALOGS, 1.0);

    // v2 denies remote.example: new traffic is refused at once.
    plane.publish(2, &config(&p, "deny"));
    let ack = plane.wait_ack(2);
    assert!(ack.accepted, "{ack:?}");
    let denied = udp_exchange(&p.internal_target(), message("hot1").as_bytes()).unwrap();
    assert!(
        denied.starts_with("SIP/2.0 403 "),
        "v2 should deny: {denied}"
    );

    // The subscription, pinned to v1, still ends normally (unsubscribe and final NOTIFY).
    let output = watcher.join().unwrap();
    legate_e2e::assert_sipp_success(&output, "subscription across the swap");
    assert!(peer.wait_success(Duration::from_secs(20)));
    wait_metric(&legate, DIALOGS, 0.0);

    // An invalid v3 and a v4 that needs a restart are refused; v2 keeps running.
    let broken =
        config(&p, "deny").replace("legate.filters.sip.router", "legate.filters.sip.routr");
    plane.publish(3, &broken);
    let nack = plane.wait_ack(3);
    assert!(!nack.accepted);
    let error = nack.error.unwrap();
    assert!(error.starts_with("control-plane/v3.yaml:"), "{error}");
    assert!(
        error.contains("unknown filter `legate.filters.sip.routr`"),
        "{error}"
    );
    let flipped = config(&p, "deny").replace("    side: external", "    side: internal");
    plane.publish(4, &flipped);
    let nack = plane.wait_ack(4);
    assert!(
        nack.error
            .as_deref()
            .unwrap_or("")
            .contains("listeners[1].side: changing a listener's side needs a restart"),
        "{nack:?}"
    );
    let still = udp_exchange(&p.internal_target(), message("hot2").as_bytes()).unwrap();
    assert!(
        still.starts_with("SIP/2.0 403 "),
        "v2 should still run: {still}"
    );
    assert_eq!(legate.metric("legate_config_version"), Some(2.0));
    assert_eq!(legate.metric("legate_config_swaps_total"), Some(1.0));
    assert_eq!(legate.metric("legate_config_acks_total"), Some(1.0));
    assert_eq!(legate.metric("legate_config_nacks_total"), Some(2.0));

    // Without the control plane, traffic goes on under v2.
    plane.stop();
    std::thread::sleep(Duration::from_secs(2));
    let served = udp_exchange(&p.internal_target(), message("hot3").as_bytes()).unwrap();
    assert!(served.starts_with("SIP/2.0 403 "), "{served}");

    // A restart with the control plane still away runs the saved v2.
    legate.terminate();
    let legate = Legate::start_with_args(&args, p.admin);
    let (_, dump) = legate.admin_get("/config_dump").unwrap();
    assert!(dump.contains("\"version\": 2"), "{dump}");
    let after = udp_exchange(&p.internal_target(), message("hot4").as_bytes()).unwrap();
    assert!(after.starts_with("SIP/2.0 403 "), "{after}");
}
