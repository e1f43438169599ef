//! Call and presence flows through Legate with sipp on both sides: CANCEL while ringing,
//! SUBSCRIBE/NOTIFY routed by the Record-Route set, and dialog bookkeeping seen in /metrics.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::time::Duration;

use legate_e2e::config::{default_config, Ports};
use legate_e2e::{assert_sipp_success, metric_value, sipp_client, Legate, SippServer};

#[test]
fn cancel_while_ringing_ends_with_487_and_the_ack_stays_hop_by_hop() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    let callee = SippServer::start("uas_cancel.xml", p.peer, "u1", 1);
    let output = sipp_client(
        "uac_cancel.xml",
        &p.internal_target(),
        p.client,
        "u1",
        1,
        &[],
    );
    assert_sipp_success(&output, "caller");
    assert!(
        callee.wait_success(Duration::from_secs(10)),
        "callee did not see CANCEL and the ACK for its 487"
    );
    let (_, metrics) = legate.admin_get("/metrics").unwrap();
    assert_eq!(
        metric_value(&metrics, "legate_sip_dialogs_active"),
        Some(0.0),
        "{metrics}"
    );
}

#[test]
fn subscription_is_notified_and_ended_through_the_route_set() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    let notifier = SippServer::start("uas_subscribe.xml", p.peer, "u1", 1);
    let output = sipp_client(
        "uac_subscribe.xml",
        &p.internal_target(),
        p.client,
        "u1",
        1,
        &[],
    );
    assert_sipp_success(&output, "watcher");
    assert!(
        notifier.wait_success(Duration::from_secs(10)),
        "notifier did not complete the subscription"
    );
    let (_, metrics) = legate.admin_get("/metrics").unwrap();
    // The terminating NOTIFY ended the dialog.
    assert_eq!(
        metric_value(&metrics, "legate_sip_dialogs_active"),
        Some(0.0),
        "{metrics}"
    );
}

#[test]
fn a_call_is_a_dialog_while_it_lasts() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    let callee = SippServer::start("uas_invite.xml", p.peer, "u1", 1);
    let target = p.internal_target();
    let caller = std::thread::spawn(move || {
        sipp_client(
            "uac_invite.xml",
            &target,
            p.client,
            "u1",
            1,
            &["-d", "3000"],
        )
    });
    // Poll (no timing assertion) until the call is up, then until it is over.
    let mut seen_up = false;
    for _ in 0..100 {
        let (_, metrics) = legate.admin_get("/metrics").unwrap();
        if metric_value(&metrics, "legate_sip_dialogs_active") == Some(1.0) {
            seen_up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        seen_up,
        "the established call never showed as an active dialog"
    );
    assert_sipp_success(&caller.join().unwrap(), "caller");
    assert!(callee.wait_success(Duration::from_secs(10)));
    let (_, metrics) = legate.admin_get("/metrics").unwrap();
    assert_eq!(
        metric_value(&metrics, "legate_sip_dialogs_active"),
        Some(0.0),
        "{metrics}"
    );
}
