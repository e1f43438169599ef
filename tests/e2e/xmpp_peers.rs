//! The XMPP peers the connector's tests federate with work on their own: a real Prosody on
//! 127.0.0.1 with users registered, slixmpp clients (tests/xmpp/client.py) that log in, chat and
//! report what arrived, and two Prosody servers federating with each other over TLS, finding
//! each other in the test's DNS server, so a failure in those tests is Legate's, not theirs.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::time::Duration;

use legate_e2e::dns::Dnsmasq;
use legate_e2e::free_port;
use legate_e2e::prosody::{Prosody, S2s, XmppUser};
use legate_e2e::tls::Ca;

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn two_users_of_one_prosody_chat() {
    let prosody = Prosody::start(
        "a.example",
        &[("alice", "alice-secret"), ("bob", "bob-secret")],
    );
    let user = |name: &str, password: &'static str| XmppUser {
        jid: format!("{name}@a.example"),
        password,
        server: prosody.c2s(),
    };
    let bob = user("bob", "bob-secret").online(&[("alice@a.example", "hello bob")], WAIT);
    let alice = user("alice", "alice-secret").run(&[("bob@a.example", "hello bob")], &[], WAIT);
    assert!(
        alice.status.success(),
        "{}{}",
        String::from_utf8_lossy(&alice.stdout),
        String::from_utf8_lossy(&alice.stderr)
    );
    let (received, printed) = bob.finish();
    assert!(received, "{printed}\n{}", prosody.log());
    assert!(
        printed.contains("received alice@a.example hello bob"),
        "{printed}"
    );
}

#[test]
fn a_wrong_password_is_refused() {
    let prosody = Prosody::start("a.example", &[("alice", "alice-secret")]);
    let intruder = XmppUser {
        jid: "alice@a.example".into(),
        password: "guess",
        server: prosody.c2s(),
    };
    let output = intruder.run(&[], &[], WAIT);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn two_prosody_servers_federate_by_dialback() {
    federate(false);
}

#[test]
fn two_prosody_servers_federate_by_certificate() {
    federate(true);
}

/// Two Prosody servers that find each other in the test's DNS server carry a chat message from
/// a.example to b.example over TLS, proving their domains by certificate (SASL EXTERNAL) or by
/// dialback.
fn federate(by_certificate: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (a_port, b_port) = (free_port(), free_port());
    let dns = Dnsmasq::start_on_port_53(
        dir.path(),
        &[
            format!("--srv-host=_xmpp-server._tcp.a.example,xmpp.a.example,{a_port}"),
            format!("--srv-host=_xmpp-server._tcp.b.example,xmpp.b.example,{b_port}"),
            "--host-record=xmpp.a.example,127.0.0.1".to_string(),
            "--host-record=xmpp.b.example,127.0.0.1".to_string(),
        ],
    );
    let resolv_conf = dir.path().join("resolv.conf");
    dns.write_resolv_conf(&resolv_conf);
    let ca = Ca::new(dir.path(), "xmpp");
    let (a_certificate, b_certificate) = (ca.domain("a.example"), ca.domain("b.example"));
    let trust = by_certificate.then_some(ca.pem.as_path());
    let s2s = |port, certificate| S2s {
        port,
        resolv_conf: &resolv_conf,
        certificate,
        trust,
    };
    let a = Prosody::start_federating(
        "a.example",
        &[("alice", "alice-secret")],
        &s2s(a_port, &a_certificate),
    );
    let b = Prosody::start_federating(
        "b.example",
        &[("bob", "bob-secret")],
        &s2s(b_port, &b_certificate),
    );
    let bob = XmppUser {
        jid: "bob@b.example".into(),
        password: "bob-secret",
        server: b.c2s(),
    }
    .online(&[("alice@a.example", "hello from a")], WAIT);
    let alice = XmppUser {
        jid: "alice@a.example".into(),
        password: "alice-secret",
        server: a.c2s(),
    }
    .run(&[("bob@b.example", "hello from a")], &[], WAIT);
    assert!(
        alice.status.success(),
        "{}",
        String::from_utf8_lossy(&alice.stderr)
    );
    let (received, printed) = bob.finish();
    let logs = format!(
        "{printed}\n--- a.example:\n{}\n--- b.example:\n{}\n--- dns:\n{}",
        a.log(),
        b.log(),
        dns.log()
    );
    assert!(received, "{logs}");
    // How b.example let a.example in: by certificate, or (with no CA to verify one) not by
    // certificate, which leaves dialback.
    let by_sasl_external = b
        .log()
        .contains("Accepting SASL EXTERNAL identity from a.example");
    assert_eq!(by_sasl_external, by_certificate, "{logs}");
    assert!(
        b.log()
            .contains("Incoming s2s connection a.example->b.example complete"),
        "{logs}"
    );
}
