//! One source flooding requests or connections, trickling a message, or forging its address
//! costs Legate a bounded amount, and others are still served.

use legate_e2e::raw_sip::{has_pending, receive, reply, send};
use legate_e2e::stream::SipConnection;
use legate_e2e::Legate;

use super::edge::*;

/// One source floods the external UDP listener with many times the messages its limit
/// allows, while another sends at a normal rate: the normal one is answered every time, and
/// the flooder is banned with its transactions held under the cap.
#[test]
fn a_udp_flood_from_one_source_leaves_another_unharmed() {
    const FLOOD: usize = 20_000;
    let edge = Edge::new();
    let proxy = "  edge: { per_source: { requests_per_second: 50, burst: 100, ban_for: 60s, \
                 max_transactions: 150 } }\n";
    let legate = Legate::start(&edge.config(proxy), edge.admin);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        // The IM server answers whatever reaches it.
        scope.spawn(|| {
            edge.im
                .set_read_timeout(Some(std::time::Duration::from_millis(100)))
                .unwrap();
            let mut buffer = vec![0u8; 65535];
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok((len, _)) = edge.im.recv_from(&mut buffer) {
                    let request = String::from_utf8_lossy(&buffer[..len]).into_owned();
                    if request.starts_with("MESSAGE") {
                        send(
                            &edge.im,
                            edge.internal,
                            &reply(&request, "200 OK", "i1", ""),
                        );
                    }
                }
            }
        });
        let flooder = scope.spawn(|| {
            let socket = udp_socket_at("127.0.0.2");
            for n in 0..FLOOD {
                let message =
                    message_from(&socket, &format!("flood-{n}"), "nobody@nowhere.example");
                send(&socket, edge.external_udp, &message);
            }
        });
        let normal = udp_socket_at("127.0.0.3");
        let mut failures = Vec::new();
        for n in 0..40 {
            let message = message_from(&normal, &format!("normal-{n}"), "alice@acme.example");
            match request_like_a_user_agent(&normal, edge.external_udp, &message) {
                Some(status) if status.starts_with("SIP/2.0 200") => {}
                other => failures.push((n, other)),
            }
            // The normal source's own pace, about 20 requests a second: not a wait for Legate.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        flooder.join().unwrap();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(
            failures.is_empty(),
            "the normal source failed: {failures:?}"
        );
    });
    let bans = legate.metric("legate_edge_bans_total").unwrap_or(0.0);
    assert!(bans >= 1.0, "the flooder was not banned");
    let dropped = legate
        .metric("legate_edge_messages_dropped_total{reason=\"banned\"}")
        .unwrap_or(0.0);
    assert!(
        dropped > 1000.0,
        "only {dropped} messages dropped as banned"
    );
    let held = legate
        .metric("legate_edge_transactions_active")
        .unwrap_or(f64::MAX);
    assert!(held <= 150.0 + 40.0, "{held} transactions held");
}

/// One source opens connections up to its cap: the next is closed at accept, and a partner
/// from another address still connects and is served.
#[test]
fn a_connection_flood_from_one_source_leaves_room_for_partners() {
    let edge = Edge::new();
    let proxy = "  edge: { per_source: { max_connections: 8 } }\n";
    let legate = Legate::start(&edge.config(proxy), edge.admin);
    let held: Vec<_> = (0..8)
        .map(|_| tcp_from("127.0.0.2", edge.external_tcp))
        .collect();
    // Legate has taken them all once the gauge says so.
    assert!(wait_for_metric(
        &legate,
        "legate_edge_connections_active",
        8.0
    ));
    let mut over = tcp_from("127.0.0.2", edge.external_tcp);
    assert!(
        closed_by_legate(&mut over),
        "a ninth connection stayed open"
    );
    assert_eq!(
        legate.metric("legate_edge_connections_refused_total{limit=\"per_source\"}"),
        Some(1.0)
    );

    let partner = tcp_from("127.0.0.3", edge.external_tcp);
    let mut connection = SipConnection::new(partner);
    let message = "MESSAGE sip:alice@acme.example SIP/2.0\r\n\
                   Via: SIP/2.0/TCP 127.0.0.3:9;branch=z9hG4bK-partner\r\n\
                   Max-Forwards: 70\r\n\
                   From: <sip:bob@partner.example>;tag=p1\r\n\
                   To: <sip:alice@acme.example>\r\n\
                   Call-ID: partner-over-tcp\r\n\
                   CSeq: 1 MESSAGE\r\n\
                   Content-Length: 0\r\n\r\n";
    connection.send(message.as_bytes()).unwrap();
    let inside = receive(&edge.im);
    assert!(inside.starts_with("MESSAGE "), "{inside}");
    send(&edge.im, edge.internal, &reply(&inside, "200 OK", "i1", ""));
    let answer = connection.receive().message();
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    drop(held);
}

/// A message whose header section trickles in byte by byte (slowloris), and one whose body
/// never comes, are cut off at their deadlines, not the idle timeout.
#[test]
fn slow_headers_and_withheld_bodies_are_closed_at_their_deadlines() {
    use std::io::Write;
    let edge = Edge::new();
    let proxy = "  edge: { streams: { header_timeout: 1s, body_timeout: 1s } }\n";
    let legate = Legate::start(&edge.config(proxy), edge.admin);

    let mut slow = tcp_from("127.0.0.2", edge.external_tcp);
    slow.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let head = b"MESSAGE sip:alice@acme.example SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2:9;branch=z9hG4bK-slow\r\nX-Padding: ";
    let mut closed = false;
    // One byte every 200 ms, each resetting an idle timer: at most 100 (20 s) before giving up.
    for byte in head.iter().chain(std::iter::repeat(&b'a')).take(100) {
        if slow.write_all(&[*byte]).is_err() || closed_by_legate(&mut slow) {
            closed = true;
            break;
        }
    }
    assert!(closed, "a trickling header kept its connection");

    let mut withheld = tcp_from("127.0.0.3", edge.external_tcp);
    let message = "MESSAGE sip:alice@acme.example SIP/2.0\r\n\
                   Via: SIP/2.0/TCP 127.0.0.3:9;branch=z9hG4bK-withheld\r\n\
                   Max-Forwards: 70\r\n\
                   From: <sip:bob@partner.example>;tag=p1\r\n\
                   To: <sip:alice@acme.example>\r\n\
                   Call-ID: withheld\r\n\
                   CSeq: 1 MESSAGE\r\n\
                   Content-Length: 100\r\n\r\nonly ten b";
    withheld.write_all(message.as_bytes()).unwrap();
    assert!(
        closed_by_legate(&mut withheld),
        "a withheld body kept its connection"
    );
    assert!(
        !has_pending(&edge.im),
        "a partial message reached the inside"
    );
    for phase in ["header", "body"] {
        let missed = format!("legate_edge_stream_deadlines_missed_total{{phase=\"{phase}\"}}");
        assert_eq!(legate.metric(&missed), Some(1.0), "{phase}");
    }
}

/// INVITEs from a forged source address that never acknowledges: Legate's answers and their
/// retransmissions (Timer G) to that address stay within three times what it sent (plus one
/// transaction's worth), instead of the many times an unanswered INVITE used to draw.
#[test]
fn answers_to_an_unacknowledging_source_do_not_amplify() {
    let edge = Edge::new();
    let legate = Legate::start(&edge.config(""), edge.admin);
    let victim = udp_socket_at("127.0.0.4");
    let mut sent = 0;
    for n in 0..10 {
        let invite = message_from(&victim, &format!("reflect-{n}"), "nobody@nowhere.example")
            .replace("MESSAGE", "INVITE");
        sent += invite.replace('\n', "\r\n").len();
        send(&victim, edge.external_udp, &invite);
    }
    // All ten transactions started, then all ended (Timer H) once none is active.
    for wanted in [10.0, 0.0] {
        assert!(
            wait_for_metric(&legate, "legate_edge_transactions_active", wanted),
            "{:?} transactions active, waiting for {wanted}",
            legate.metric("legate_edge_transactions_active")
        );
    }
    let mut received = 0;
    let mut answers = 0;
    victim.set_nonblocking(true).unwrap();
    let mut buffer = vec![0u8; 65535];
    while let Ok((len, _)) = victim.recv_from(&mut buffer) {
        received += len;
        answers += 1;
    }
    assert!(
        answers >= 10,
        "each INVITE is answered at least once: {answers}"
    );
    assert!(
        received <= 3 * sent + 2048,
        "{received} bytes answered to {sent} bytes sent"
    );
    assert!(
        legate
            .metric("legate_edge_answers_dropped_total")
            .unwrap_or(0.0)
            > 0.0
    );
}
