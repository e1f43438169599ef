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
    // The callee outside sees Legate only (one Via, one Record-Route entry, Legate's Contact);
    // its BYE must still traverse Legate and then Kamailio, whose entry Legate kept hidden.
    let callee = SippServer::start_with(
        "uas_invite_hidden_topology.xml",
        p.peer,
        "u1",
        1,
        &["-d", "300"],
    );
    let output = legate_e2e::sipp_client(
        "uac_invite_callee_hangs_up.xml",
        &target,
        p.client,
        "u1",
        1,
        &["-key", "contact_port", &p.client.to_string()],
    );
    legate_e2e::assert_sipp_success(&output, "caller behind kamailio");
    assert!(
        callee.wait_success(std::time::Duration::from_secs(10)),
        "callee did not see a hidden topology, or its BYE got lost"
    );
}
