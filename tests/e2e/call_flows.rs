//! Call and presence flows through Legate with sipp on both sides: CANCEL while ringing,
//! SUBSCRIBE/NOTIFY routed by the Record-Route set, and dialog bookkeeping seen in /metrics.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::time::Duration;

use legate_e2e::config::{default_config, Ports};
use legate_e2e::{assert_sipp_success, play, sipp_client, Legate, SippServer};

const DIALOGS: &str = "legate_sip_dialogs_active";

#[test]
fn cancel_while_ringing_ends_with_487_and_the_ack_stays_hop_by_hop() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    // The callee's scenario also requires the ACK for its 487, which only Legate can send.
    play(&p, "uas_cancel.xml", "uac_cancel.xml", 1, &[]);
    assert_eq!(legate.metric(DIALOGS), Some(0.0));
}

#[test]
fn subscription_is_notified_and_ended_through_the_route_set() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    play(&p, "uas_subscribe.xml", "uac_subscribe.xml", 1, &[]);
    // The terminating NOTIFY ended the dialog.
    assert_eq!(legate.metric(DIALOGS), Some(0.0));
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
    let seen_up = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        legate.metric(DIALOGS) == Some(1.0)
    });
    assert!(
        seen_up,
        "the established call never showed as an active dialog"
    );
    assert_sipp_success(&caller.join().unwrap(), "caller");
    assert!(callee.wait_success(Duration::from_secs(10)));
    assert_eq!(legate.metric(DIALOGS), Some(0.0));
}
