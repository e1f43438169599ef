//! A certificate rotated by a pushed snapshot: new connections get the new certificate at once,
//! a connection set up before the swap keeps working, and a certificate that cannot be loaded
//! is refused (NACK) while the running one stays.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use legate_e2e::config::config_head;
use legate_e2e::control_plane::StandInControlPlane;
use legate_e2e::stream::{options_to_legate, SipConnection};
use legate_e2e::tls::{tls_connect, Ca, Issued};
use legate_e2e::{free_port, Legate};

const TOKEN: &str = "e2e-rotation-token";

fn config(admin: u16, tls_port: u16, udp_port: u16, server: &Issued) -> String {
    format!(
        "{head}
listeners:
  - name: partners
    address: \"127.0.0.1:{tls_port}\"
    transport: tls
    side: external
    tls: {{ certificate: \"{cert}\", private_key: \"{key}\" }}
    filters:
      - name: legate.filters.sip.router
  - name: internal
    address: \"127.0.0.1:{udp_port}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.router
",
        head = config_head(admin),
        cert = server.certificate.display(),
        key = server.private_key.display(),
    )
}

/// An OPTIONS to Legate over `connection`, answered 200.
fn ping<S: std::io::Read + std::io::Write>(
    connection: &mut SipConnection<S>,
    port: u16,
    call: &str,
) {
    connection
        .send(options_to_legate(port, "TLS", call).as_bytes())
        .unwrap();
    let answer = connection.receive().message();
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
}

#[test]
fn a_rotated_certificate_serves_new_connections_and_spares_running_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (Ca::new(dir.path(), "old"), Ca::new(dir.path(), "new"));
    let (admin, tls_port, udp_port) = (free_port(), free_port(), free_port());
    let plane = StandInControlPlane::start(TOKEN);
    let args = plane.proxy_args(dir.path());

    plane.publish(
        1,
        &config(admin, tls_port, udp_port, &old_ca.server("legate")),
    );
    let _legate = Legate::start_with_args(&args, admin);
    assert!(plane.wait_ack(1).accepted);
    let mut before = SipConnection::new(tls_connect(tls_port, &old_ca, None));
    ping(&mut before, tls_port, "before-1");

    // v2 rotates to a certificate of another CA.
    plane.publish(
        2,
        &config(admin, tls_port, udp_port, &new_ca.server("legate")),
    );
    let ack = plane.wait_ack(2);
    assert!(ack.accepted, "{ack:?}");

    let mut after = SipConnection::new(tls_connect(tls_port, &new_ca, None));
    ping(&mut after, tls_port, "after-1");
    let mut stale = SipConnection::new(tls_connect(tls_port, &old_ca, None));
    let refused = stale.send(options_to_legate(tls_port, "TLS", "stale").as_bytes());
    let verified =
        refused.is_ok() && matches!(stale.receive(), legate_e2e::stream::Received::Message(_));
    assert!(!verified, "a new connection still got the old certificate");
    // The connection set up before the rotation carries on with its own.
    ping(&mut before, tls_port, "before-2");

    // v3 names a certificate that does not exist: refused, v2's certificate stays.
    let mut missing = new_ca.server("legate");
    missing.certificate = dir.path().join("no-such-cert.pem");
    plane.publish(3, &config(admin, tls_port, udp_port, &missing));
    let nack = plane.wait_ack(3);
    assert!(!nack.accepted);
    let error = nack.error.unwrap();
    assert!(error.contains("listeners[0].tls"), "{error}");
    let mut still = SipConnection::new(tls_connect(tls_port, &new_ca, None));
    ping(&mut still, tls_port, "still-1");
}
