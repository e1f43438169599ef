//! Interop with a real SIP server: users of the organisation's Kamailio reach remote.example
//! through Legate. Two record-routing proxies in a row: the call's in-dialog requests must
//! find their way through both, in both directions.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use legate_e2e::config::{default_config, Ports};
use legate_e2e::kamailio::Kamailio;
use legate_e2e::{free_port, Legate, SippServer};

/// Kamailio on its own port, relaying remote.example to Legate's internal listener.
fn edge(p: &Ports) -> (Kamailio, String) {
    let port = free_port();
    let kamailio = Kamailio::start(
        "edge.cfg",
        &[
            ("LISTEN_PORT", port.to_string()),
            ("LEGATE_PORT", p.internal.to_string()),
        ],
    );
    (kamailio, format!("127.0.0.1:{port}"))
}

#[test]
fn a_message_from_a_kamailio_user_reaches_the_remote_peer() {
    let p = Ports::pick();
    let _legate = Legate::start(&default_config(&p), p.admin);
    let (_kamailio, target) = edge(&p);
    let peer = SippServer::start("uas_message.xml", p.peer, "u1", 2);
    let output = legate_e2e::sipp_client("uac_message.xml", &target, p.client, "u1", 2, &[]);
    legate_e2e::assert_sipp_success(&output, "kamailio user");
    assert!(peer.wait_success(std::time::Duration::from_secs(10)));
}

#[test]
fn a_call_through_kamailio_and_legate_is_routed_by_both_route_sets() {
    let p = Ports::pick();
    let _legate = Legate::start(&default_config(&p), p.admin);
    let (_kamailio, target) = edge(&p);
    // The callee checks it sees Kamailio's and both of Legate's Record-Route entries; the
    // caller's ACK and BYE must then traverse Kamailio and Legate by loose routing.
    let callee = SippServer::start("uas_invite_three_record_routes.xml", p.peer, "u1", 1);
    let output =
        legate_e2e::sipp_client("uac_invite.xml", &target, p.client, "u1", 1, &["-d", "200"]);
    legate_e2e::assert_sipp_success(&output, "caller behind kamailio");
    assert!(
        callee.wait_success(std::time::Duration::from_secs(10)),
        "callee did not get ACK and BYE"
    );
}
