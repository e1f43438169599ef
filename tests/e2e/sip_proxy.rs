//! The proxy end to end over UDP with sipp on both sides: MESSAGE, a full call routed by the
//! Record-Route set (also across a restart of Legate mid-call), malformed input, and SIGTERM;
//! and a cluster endpoint given by host name.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use legate_e2e::config::{default_config, proxy_config, Ports};
use legate_e2e::upstream::{final_response, message, AcceptingUpstream};
use legate_e2e::{assert_sipp_success, play, sipp_client, udp_exchange, Legate, SippServer};

#[test]
fn message_crosses_from_internal_to_the_remote_peer() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    // The peer checks each MESSAGE arrives marked `X-Legate-Side: internal`, body intact.
    play(&p, "uas_message.xml", "uac_message.xml", 3, &[]);
    let (_, metrics) = legate.admin_get("/metrics").unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("legate_sip_requests_received_total")
                && l.contains("MESSAGE")
                && l.ends_with(" 3")),
        "{metrics}"
    );
}

#[test]
fn a_cluster_endpoint_given_by_name_is_resolved_and_sent_to() {
    let p = Ports::pick();
    // Whatever `localhost` resolves to here (127.0.0.1, and ::1 where the hosts file says so),
    // an IM server answers there.
    let resolved: Vec<SocketAddr> = ("localhost", p.peer).to_socket_addrs().unwrap().collect();
    let servers: Vec<AcceptingUpstream> = resolved
        .iter()
        .map(|address| AcceptingUpstream::start_at(*address))
        .collect();
    let cluster = format!(
        "    transport: udp\n    endpoints: [\"localhost:{}\"]\n",
        p.peer
    );
    let legate = Legate::start(&proxy_config(&p, &cluster, "", ""), p.admin);
    for n in 0..4 {
        let request = message(
            "alice@local.example",
            "bob@remote.example",
            &format!("named-{n}@local.example"),
        );
        let answer = final_response(p.internal, &request);
        assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    }
    let relayed: usize = servers.iter().map(|server| server.drain().len()).sum();
    assert_eq!(relayed, 4);
    // The running configuration shows the endpoint as written.
    let (_, dump) = legate.admin_get("/config_dump").unwrap();
    assert!(
        dump.contains(&format!("\"localhost:{}\"", p.peer)),
        "{dump}"
    );
}

#[test]
fn call_is_set_up_and_torn_down_through_the_record_route_set() {
    let p = Ports::pick();
    let _legate = Legate::start(&default_config(&p), p.admin);
    // The called side's scenario needs the ACK and the BYE, both routed by the route set.
    play(&p, "uas_invite.xml", "uac_invite.xml", 1, &["-d", "100"]);
}

#[test]
fn in_dialog_requests_are_routed_after_legate_restarts_mid_call() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    let peer = SippServer::start("uas_invite.xml", p.peer, "u1", 1);
    let target = format!("127.0.0.1:{}", p.internal);
    let client = std::thread::spawn({
        let target = target.clone();
        move || {
            sipp_client(
                "uac_invite.xml",
                &target,
                p.client,
                "u1",
                1,
                &["-d", "4000"],
            )
        }
    });
    // The call is up within a second; restart while it is in its 4 s pause before the BYE.
    std::thread::sleep(Duration::from_millis(1500));
    drop(legate);
    let _restarted = Legate::start(&default_config(&p), p.admin);
    let output = client.join().unwrap();
    assert_sipp_success(&output, "uac across restart");
    assert!(
        peer.wait_success(Duration::from_secs(10)),
        "BYE did not reach the called side after the restart"
    );
}

#[test]
fn malformed_requests_get_a_clear_answer_and_legate_keeps_serving() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    let target = format!("127.0.0.1:{}", p.internal);
    // CSeq method does not match the request method: 400 (RFC 4475 §3.1.2.x).
    let mismatch = "OPTIONS sip:bob@remote.example SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-bad1\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@local.example>;tag=1\r\n\
To: <sip:bob@remote.example>\r\n\
Call-ID: bad1@local.example\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n";
    let answer = udp_exchange(&target, mismatch.as_bytes()).expect("an answer to the bad request");
    assert!(answer.starts_with("SIP/2.0 400 "), "{answer}");
    // Max-Forwards exhausted: 483.
    let exhausted = mismatch
        .replace("bad1", "bad2")
        .replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS")
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    let answer = udp_exchange(&target, exhausted.as_bytes()).expect("an answer");
    assert!(answer.starts_with("SIP/2.0 483 "), "{answer}");
    // No route for the domain: 404 with the reason.
    let unrouted = exhausted
        .replace("bad2", "bad3")
        .replace("Max-Forwards: 0", "Max-Forwards: 70")
        .replace("sip:bob@remote.example SIP", "sip:bob@nowhere.example SIP");
    let answer = udp_exchange(&target, unrouted.as_bytes()).expect("an answer");
    assert!(
        answer.starts_with("SIP/2.0 404 ")
            && answer.contains("no route for domain nowhere.example"),
        "{answer}"
    );
    // Garbage is dropped silently, and Legate still serves.
    assert!(udp_exchange(&target, b"\x00\xffgarbage\r\n\r\n").is_none());
    assert_eq!(legate.admin_get("/healthz").map(|(c, _)| c), Some(200));
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let p = Ports::pick();
    let legate = Legate::start(&default_config(&p), p.admin);
    let status = legate.terminate();
    assert!(status.success(), "exit status {status}");
}
