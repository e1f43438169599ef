//! The XMPP peers the connector's tests federate with work on their own: a real Prosody on
//! 127.0.0.1 with users registered, and slixmpp clients (tests/xmpp/client.py) that log in,
//! chat and report what arrived, so a failure in those tests is Legate's, not theirs.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::time::Duration;

use legate_e2e::prosody::{Prosody, XmppUser};

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
