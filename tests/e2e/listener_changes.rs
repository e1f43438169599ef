//! Listeners added, removed and moved by pushed snapshots: a new listener answers as soon as
//! its snapshot is ACKed; a removed one stops accepting at once, refuses new dialogs while it
//! drains, and closes (its socket, and the connections accepted by it or leaving by it) when the
//! drain is over; a listener that cannot bind NACKs its snapshot and nothing running changes.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use legate_e2e::config::config_head;
use legate_e2e::control_plane::StandInControlPlane;
use legate_e2e::stream::{message_to_remote, options_to_legate, Received, SipConnection};
use legate_e2e::{free_port, udp_exchange, Legate};

const TOKEN: &str = "e2e-listener-token";
/// How long a removed listener drains (`proxy.shutdown_grace`).
const DRAIN: Duration = Duration::from_secs(3);

/// `listeners` as (name, port, transport), each with just the router, and remote.example routed
/// to the TCP server on `upstream`.
fn config(admin: u16, upstream: u16, listeners: &[(&str, u16, &str)]) -> String {
    let drain = format!("shutdown_grace: {}s", DRAIN.as_secs());
    let mut yaml = config_head(admin).replace("shutdown_grace: 5s", &drain);
    yaml.push_str("listeners:\n");
    for (name, port, transport) in listeners {
        yaml.push_str(&format!(
            "  - name: {name}\n    address: \"127.0.0.1:{port}\"\n    transport: {transport}\n    \
             side: internal\n    filters:\n      - name: legate.filters.sip.router\n"
        ));
    }
    yaml.push_str(&format!(
        "routes:\n  - name: up\n    match: {{ domain: remote.example, side: internal }}\n    \
         cluster: up\nclusters:\n  - name: up\n    transport: tcp\n    \
         endpoints: [\"127.0.0.1:{upstream}\"]\n"
    ));
    yaml
}

fn udp_ping(port: u16, call: &str) -> Option<String> {
    udp_exchange(
        &format!("127.0.0.1:{port}"),
        options_to_legate(port, "UDP", call).as_bytes(),
    )
}

fn tcp_ping(connection: &mut SipConnection<TcpStream>, port: u16, call: &str) -> String {
    connection
        .send(options_to_legate(port, "TCP", call).as_bytes())
        .unwrap();
    connection.receive().message()
}

/// Waits up to ten seconds for `done`.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn listeners_are_added_removed_and_moved_by_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let plane = StandInControlPlane::start(TOKEN);
    let args = plane.proxy_args(dir.path());
    let admin = free_port();
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_port = upstream.local_addr().unwrap().port();
    let (udp_a, tcp_b) = (free_port(), free_port());
    plane.publish(
        1,
        &config(
            admin,
            upstream_port,
            &[("a", udp_a, "udp"), ("b", tcp_b, "tcp")],
        ),
    );
    let _legate = Legate::start_with_args(&args, admin);
    assert!(plane.wait_ack(1).accepted);
    let mut on_b = SipConnection::tcp(tcp_b);
    assert!(tcp_ping(&mut on_b, tcp_b, "b-1").starts_with("SIP/2.0 200 "));

    // A MESSAGE to the TCP upstream leaves by b, the only TCP listener, on a new connection.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .send_to(
            message_to_remote("UDP", "out-by-b").as_bytes(),
            ("127.0.0.1", udp_a),
        )
        .unwrap();
    let (accepted, _) = upstream.accept().unwrap();
    accepted
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut left_by_b = SipConnection::new(accepted);
    assert!(left_by_b.receive().message().starts_with("MESSAGE "));

    // v2 adds a UDP and a TCP listener and removes b.
    let (udp_c, tcp_d) = (free_port(), free_port());
    let kept = [("c", udp_c, "udp"), ("d", tcp_d, "tcp")];
    let listing = |a_port: u16, extra: &[(&'static str, u16, &'static str)]| {
        let mut all = vec![("a", a_port, "udp")];
        all.extend(kept);
        all.extend_from_slice(extra);
        config(admin, upstream_port, &all)
    };
    plane.publish(2, &listing(udp_a, &[]));
    let ack = plane.wait_ack(2);
    assert!(ack.accepted, "{ack:?}");
    let answer = udp_ping(udp_c, "c-1").expect("the added UDP listener answers");
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let mut on_d = SipConnection::tcp(tcp_d);
    assert!(tcp_ping(&mut on_d, tcp_d, "d-1").starts_with("SIP/2.0 200 "));

    // b takes no new connection; the one it has drains: a new dialog is refused, then the
    // connection is closed when the drain is over.
    assert!(
        eventually(|| TcpStream::connect(("127.0.0.1", tcp_b)).is_err()),
        "the removed listener still accepts"
    );
    on_b.send(message_to_remote("TCP", "b-new").as_bytes())
        .unwrap();
    let refused = on_b.receive().message();
    assert!(
        refused.starts_with("SIP/2.0 503 ") && refused.contains("listener removed"),
        "{refused}"
    );
    // The read timeouts (10 s) are well beyond the drain: `Silent` would mean it stayed open.
    match on_b.receive() {
        Received::Closed(_) => {}
        other => panic!("the drained connection was not closed: {other:?}"),
    }
    // So is the connection Legate opened leaving by b: nothing may arrive over it as if on b.
    match left_by_b.receive() {
        Received::Closed(_) => {}
        other => panic!("the connection that left by b was not closed: {other:?}"),
    }

    // v3 moves a to another port: the new port answers at once, the old one goes quiet once
    // it has drained.
    let udp_a2 = free_port();
    plane.publish(3, &listing(udp_a2, &[]));
    assert!(plane.wait_ack(3).accepted);
    assert!(udp_ping(udp_a2, "a2-1").is_some_and(|a| a.starts_with("SIP/2.0 200 ")));
    assert!(
        udp_ping(udp_a, "a-draining").is_some(),
        "the old socket stopped reading before its drain"
    );
    assert!(
        eventually(|| udp_ping(udp_a, "a-old").is_none()),
        "the old socket still answers after its drain"
    );

    // v4 adds a listener on a port that is taken: NACKed, everything running stays.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    plane.publish(4, &listing(udp_a2, &[("e", taken_port, "udp")]));
    let nack = plane.wait_ack(4);
    assert!(!nack.accepted);
    let error = nack.error.unwrap();
    assert!(
        error.contains("listeners[3]") && error.contains("listener `e` cannot bind"),
        "{error}"
    );
    assert!(udp_ping(udp_a2, "a2-2").is_some_and(|a| a.starts_with("SIP/2.0 200 ")));
    assert!(tcp_ping(&mut on_d, tcp_d, "d-2").starts_with("SIP/2.0 200 "));
}
