//! Legate under trouble: packet loss, dead or overloaded upstreams, health checks, loops.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::time::Duration;

use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::{assert_sipp_success, play, sipp_client, udp_exchange, Legate, SippServer};

fn message(call_id: &str, domain: &str) -> String {
    format!(
        "MESSAGE sip:bob@{domain} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call_id}\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@local.example>;tag=1\r\n\
To: <sip:bob@{domain}>\r\n\
Call-ID: {call_id}@local.example\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Length: 0\r\n\r\n"
    )
}

/// Waits (polling, no timing assertion) until a metric line starting with `prefix` has `value`.
fn wait_for_metric(legate: &Legate, prefix: &str, value: f64) -> bool {
    (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        legate.metric(prefix) == Some(value)
    })
}

#[test]
fn messages_survive_ten_percent_loss_on_both_sides() {
    let p = Ports::pick();
    let _legate = Legate::start(&proxy_config(&p, &udp_cluster(&[p.peer]), "", ""), p.admin);
    // The peer loses 10% of what it receives and sends; retransmissions (sipp's and Legate's)
    // must recover every call. Only the caller's verdict is asserted: a lossy peer may see
    // stray retransmissions after its last call and count them as failures of its own.
    let _peer = SippServer::start_with(
        "uas_message_lossy.xml",
        p.peer,
        "u1",
        1000,
        &["-lost", "10"],
    );
    let output = sipp_client(
        "uac_message.xml",
        &p.internal_target(),
        p.client,
        "u1",
        20,
        &["-lost", "10", "-r", "5"],
    );
    assert_sipp_success(&output, "caller under loss");
}

#[test]
fn a_dead_endpoint_times_out_and_the_next_one_answers() {
    let p = Ports::pick();
    // p.peer2 has nobody listening: requests sent there time out (Timer F) and fail over.
    let cluster = udp_cluster(&[p.peer2, p.peer]);
    let _legate = Legate::start(&proxy_config(&p, &cluster, "", ""), p.admin);
    // Round robin sends every other MESSAGE to the dead endpoint first; all must still succeed.
    play(&p, "uas_message.xml", "uac_message.xml", 4, &[]);
}

#[test]
fn a_503_from_one_endpoint_fails_over_to_the_next() {
    let p = Ports::pick();
    let cluster = udp_cluster(&[p.peer2, p.peer]);
    let _legate = Legate::start(&proxy_config(&p, &cluster, "", ""), p.admin);
    let _overloaded = SippServer::start("uas_503.xml", p.peer2, "u1", 100);
    // Every MESSAGE is answered 200 despite the 503s.
    play(&p, "uas_message.xml", "uac_message.xml", 4, &[]);
}

#[test]
fn health_checks_take_a_dead_endpoint_out_and_503_when_none_is_left() {
    let p = Ports::pick();
    let health = "    health_check: { interval: 300ms, timeout: 200ms, unhealthy_threshold: 1 }\n";
    let cluster = format!("{}{health}", udp_cluster(&[p.peer2]));
    let legate = Legate::start(&proxy_config(&p, &cluster, "", ""), p.admin);
    let endpoint = format!(
        "legate_cluster_endpoint_healthy{{cluster=\"remote-peer\",endpoint=\"127.0.0.1:{}\"}}",
        p.peer2
    );
    assert!(
        wait_for_metric(&legate, &endpoint, 0.0),
        "the dead endpoint was never marked unhealthy"
    );
    let answer = udp_exchange(
        &p.internal_target(),
        message("hc1", "remote.example").as_bytes(),
    )
    .expect("an answer");
    assert!(answer.starts_with("SIP/2.0 503 "), "{answer}");
    assert!(answer.contains("Retry-After:"), "{answer}");
    assert!(
        answer.contains("no healthy endpoint in cluster remote-peer"),
        "{answer}"
    );

    // An endpoint that answers OPTIONS comes back.
    let _alive = SippServer::start("uas_options.xml", p.peer2, "u1", 1000);
    assert!(
        wait_for_metric(&legate, &endpoint, 1.0),
        "the endpoint never came back after answering OPTIONS"
    );
}

#[test]
fn a_request_routed_back_to_legate_unchanged_is_a_loop() {
    let p = Ports::pick();
    let loop_route = "  - name: to-self\n    match: { domain: loop.example }\n    cluster: self\n";
    let self_cluster = format!("  - name: self\n{}", udp_cluster(&[p.internal]));
    let _legate = Legate::start(
        &proxy_config(&p, &udp_cluster(&[p.peer]), loop_route, &self_cluster),
        p.admin,
    );
    let answer = udp_exchange(
        &p.internal_target(),
        message("loop1", "loop.example").as_bytes(),
    )
    .expect("an answer");
    assert!(answer.starts_with("SIP/2.0 482 "), "{answer}");
}
