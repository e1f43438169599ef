use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use legate_sip::{parse_message, Limits, Message};

use super::NAME;
use crate::testing::filter_before_terminal;
use legate_filters_api::Authenticated;
use legate_filters_api::{
    call, BoxSipService, BuildContext, Context, DialogHolds, DialogInfo, ListenerInfo, Metrics,
    Peers, Side, SipRequest, SipResponse, Transport,
};

const PEERS: &str = "
- { name: limited, domains: [limited.example], reach: { address: 192.0.2.1:5061 }, trust_bundle: ca.pem,
    limits: { requests_per_second: 1, burst: 2 } }
- { name: free, domains: [free.example], reach: { address: 192.0.2.2:5061 }, trust_bundle: ca.pem }
";

/// The far side: a Request-URI user `busy` is refused, everything else accepted.
fn ok(request: &SipRequest) -> Message {
    let busy = request
        .message
        .request_uri()
        .is_some_and(|uri| uri.starts_with(b"sip:busy@"));
    if busy {
        Message::response_to(&request.message, 486, "Busy Here")
    } else {
        Message::response_to(&request.message, 200, "OK")
    }
}

fn chain(config: serde_yaml::Value) -> Result<BoxSipService, legate_filters_api::ChainError> {
    chain_with(config, PEERS)
}

fn chain_with(
    config: serde_yaml::Value,
    peers: &str,
) -> Result<BoxSipService, legate_filters_api::ChainError> {
    let mut resources = http::Extensions::new();
    resources.insert(Peers::new(serde_yaml::from_str(peers).unwrap()));
    let addr: SocketAddr = "127.0.0.1:5061".parse().unwrap();
    let context = BuildContext {
        listener: ListenerInfo {
            name: "external".into(),
            side: Side::External,
            transport: Transport::Tls,
            local_addr: addr,
        },
        resources,
        metrics: metrics().clone(),
    };
    filter_before_terminal(NAME, config, ok, &context)
}

/// One set of metrics for every chain of these tests, as the proxy has one per process (what
/// partners hold outlives a snapshot's chain, and so do its gauges). Each test names its own
/// partner, so its series are its own.
fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

async fn send(chain: &BoxSipService, from: Option<Authenticated>) -> (u16, Option<String>) {
    let text =
        "MESSAGE sip:alice@acme.example SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1\r\n\
                From: <sip:bob@limited.example>;tag=1\r\nTo: <sip:alice@acme.example>\r\n\
                Call-ID: c1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
    let message = parse_message(Bytes::from_static(text.as_bytes()), &Limits::default()).unwrap();
    let mut context = Context::new();
    if let Some(who) = from {
        context.insert(who);
    }
    let response = call(chain, SipRequest { message, context }).await.unwrap();
    let retry = response
        .message
        .headers
        .first(legate_sip::HeaderKind::RetryAfter)
        .map(|v| String::from_utf8_lossy(v).into_owned());
    (response.status(), retry)
}

fn partner(name: &str) -> Option<Authenticated> {
    Some(Authenticated::Peer {
        name: name.into(),
        domain: format!("{name}.example"),
    })
}

#[tokio::test(start_paused = true)]
async fn a_partner_gets_its_burst_then_waits_for_its_rate() {
    let chain = chain(serde_yaml::Value::Null).unwrap();
    assert_eq!(send(&chain, partner("limited")).await.0, 200);
    assert_eq!(send(&chain, partner("limited")).await.0, 200);
    assert_eq!(
        send(&chain, partner("limited")).await,
        (503, Some("1".into()))
    );
    assert!(
        metrics()
            .value("legate_peer_rate_limited_total", &[])
            .unwrap()
            >= 1.0
    );
    assert_eq!(refusals("limited", "requests_per_second"), 1);
    tokio::time::advance(Duration::from_millis(1000)).await;
    assert_eq!(
        send(&chain, partner("limited")).await.0,
        200,
        "one token a second"
    );
    assert_eq!(send(&chain, partner("limited")).await.0, 503);
}

#[tokio::test(start_paused = true)]
async fn unlimited_partners_and_internal_systems_pass() {
    let chain = chain(serde_yaml::Value::Null).unwrap();
    for _ in 0..20 {
        assert_eq!(send(&chain, partner("free")).await.0, 200);
        assert_eq!(send(&chain, Some(Authenticated::Internal)).await.0, 200);
        assert_eq!(send(&chain, None).await.0, 200);
    }
}

#[test]
fn the_filter_takes_no_config() {
    let error = chain(serde_yaml::from_str("{ rate: 5 }").unwrap())
        .err()
        .unwrap();
    assert!(
        error.message.contains("takes no config"),
        "{}",
        error.message
    );
    assert!(crate::builtins().get(NAME).is_some());
}

// The dialog counts are per partner name for the whole process, so each test below uses a
// partner of its own.

/// A chain for one partner `name` with `limits` (a YAML flow mapping).
fn limited_chain(name: &str, limits: &str) -> BoxSipService {
    let peers = format!(
        "- {{ name: {name}, domains: [{name}.example], reach: {{ address: 192.0.2.9:5061 }}, \
         trust_bundle: ca.pem, limits: {limits} }}"
    );
    chain_with(serde_yaml::Value::Null, &peers).unwrap()
}

/// `method` to `target`@acme.example from `user`@`peer`.example, new (`call` is the Call-ID)
/// or inside its dialog.
fn request(method: &str, peer: &str, user: &str, target: &str, call: &str) -> SipRequest {
    let text = format!(
        "{method} sip:{target}@acme.example SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.9;branch=z9hG4bK-{call}\r\n\
         From: <sip:{user}@{peer}.example>;tag=f-{call}\r\nTo: <sip:{target}@acme.example>\r\n\
         Call-ID: {call}\r\nCSeq: 1 {method}\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n"
    );
    let message = parse_message(Bytes::from(text), &Limits::default()).unwrap();
    let mut context = Context::new();
    context.insert(Authenticated::Peer {
        name: peer.into(),
        domain: format!("{peer}.example"),
    });
    SipRequest { message, context }
}

/// The same request as a refresh inside its established dialog.
fn in_dialog(mut request: SipRequest) -> SipRequest {
    let to = String::from_utf8_lossy(
        request
            .message
            .headers
            .first(legate_sip::HeaderKind::To)
            .unwrap(),
    )
    .into_owned();
    request
        .message
        .headers
        .set(legate_sip::HeaderKind::To, format!("{to};tag=t1"));
    request.context.insert(DialogInfo {
        id: "dialog".into(),
        in_dialog: true,
        known_locally: true,
    });
    request
}

async fn answer(chain: &BoxSipService, request: SipRequest) -> SipResponse {
    call(chain, request).await.unwrap()
}

/// The lease a 2xx carries (among its dialog holds), if any.
fn lease(response: &mut SipResponse) -> Option<DialogHolds> {
    response
        .context
        .remove::<DialogHolds>()
        .filter(|holds| !holds.is_empty())
}

fn warning(response: &SipResponse) -> String {
    response
        .message
        .headers
        .first(legate_sip::HeaderKind::Warning)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

/// (sessions, subscriptions) `peer` holds, as its gauges show them.
fn usage(peer: &str) -> (u32, u32) {
    let gauge = |name| metrics().value(name, &[("peer", peer)]).unwrap() as u32;
    (
        gauge("legate_peer_sessions_active"),
        gauge("legate_peer_subscriptions_active"),
    )
}

fn refusals(peer: &str, limit: &str) -> u64 {
    metrics()
        .value(
            "legate_peer_limit_refusals_total",
            &[("peer", peer), ("limit", limit)],
        )
        .unwrap() as u64
}

fn assert_refused(response: &SipResponse, limit: &str) {
    assert_eq!(response.status(), 503, "{:?}", response.message);
    assert_eq!(response.answered_by, Some(NAME));
    let retry = response
        .message
        .headers
        .first(legate_sip::HeaderKind::RetryAfter)
        .map(|v| String::from_utf8_lossy(v).into_owned());
    assert_eq!(retry.as_deref(), Some("30"));
    assert!(warning(response).contains(limit), "{}", warning(response));
    assert!(response.context.get::<DialogHolds>().is_none());
}

#[tokio::test]
async fn a_new_session_over_max_sessions_is_refused_with_503_naming_the_limit() {
    let chain = limited_chain("sessions", "{ max_sessions: 1 }");
    let mut first = answer(&chain, request("INVITE", "sessions", "bob", "alice", "s1")).await;
    assert_eq!(first.status(), 200);
    let held = lease(&mut first).expect("a 2xx to a new INVITE carries the slot");
    assert_eq!(usage("sessions").0, 1);

    let second = answer(&chain, request("INVITE", "sessions", "bob", "alice", "s2")).await;
    assert_refused(&second, "max_sessions");
    assert_eq!(refusals("sessions", "max_sessions"), 1);
    let message = answer(&chain, request("MESSAGE", "sessions", "bob", "alice", "s3")).await;
    assert_eq!(message.status(), 200, "a MESSAGE opens no session");
    drop(held);
}

#[tokio::test]
async fn dropping_the_lease_gives_the_slot_back() {
    let chain = limited_chain("release", "{ max_sessions: 1 }");
    let mut first = answer(&chain, request("INVITE", "release", "bob", "alice", "r1")).await;
    let held = lease(&mut first).unwrap();
    let refused = answer(&chain, request("INVITE", "release", "bob", "alice", "r2")).await;
    assert_eq!(refused.status(), 503);

    drop(held);
    assert_eq!(usage("release").0, 0);
    let mut again = answer(&chain, request("INVITE", "release", "bob", "alice", "r3")).await;
    assert_eq!(again.status(), 200, "the ended dialog's slot is free again");
    assert!(lease(&mut again).is_some());
}

#[tokio::test]
async fn a_dialog_that_is_not_established_keeps_no_slot() {
    let chain = limited_chain("declined", "{ max_sessions: 1 }");
    let mut busy = answer(&chain, request("INVITE", "declined", "bob", "busy", "d1")).await;
    assert_eq!(busy.status(), 486);
    assert!(lease(&mut busy).is_none());
    assert_eq!(usage("declined").0, 0);
    let ok = answer(&chain, request("INVITE", "declined", "bob", "alice", "d2")).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn the_per_user_limit_counts_each_remote_user_apart() {
    let chain = limited_chain("peruser", "{ max_subscriptions_per_user: 1 }");
    let mut bob = answer(
        &chain,
        request("SUBSCRIBE", "peruser", "bob", "alice", "u1"),
    )
    .await;
    assert_eq!(bob.status(), 200);
    let bob_holds = lease(&mut bob).unwrap();

    let again = answer(
        &chain,
        request("SUBSCRIBE", "peruser", "bob", "carol", "u2"),
    )
    .await;
    assert_refused(&again, "max_subscriptions_per_user");
    let respelled = answer(
        &chain,
        request("SUBSCRIBE", "peruser", "BOB", "carol", "u3"),
    )
    .await;
    assert_eq!(
        respelled.status(),
        503,
        "the same user, spelled in capitals"
    );
    assert_eq!(refusals("peruser", "max_subscriptions_per_user"), 2);

    let mut carol = answer(
        &chain,
        request("SUBSCRIBE", "peruser", "carol", "alice", "u4"),
    )
    .await;
    assert_eq!(carol.status(), 200, "another user has slots of its own");
    assert_eq!(usage("peruser").1, 2);

    drop(bob_holds);
    let mut bob = answer(
        &chain,
        request("SUBSCRIBE", "peruser", "bob", "carol", "u5"),
    )
    .await;
    assert_eq!(
        bob.status(),
        200,
        "bob's ended subscription gave its slot back"
    );
    drop((lease(&mut bob), lease(&mut carol)));
    assert_eq!(usage("peruser").1, 0);
}

#[tokio::test]
async fn max_subscriptions_counts_every_user_of_the_partner() {
    let chain = limited_chain("subs", "{ max_subscriptions: 2 }");
    let mut held = Vec::new();
    for (user, call) in [("bob", "m1"), ("carol", "m2")] {
        let mut ok = answer(&chain, request("SUBSCRIBE", "subs", user, "alice", call)).await;
        assert_eq!(ok.status(), 200);
        held.push(lease(&mut ok).unwrap());
    }
    let third = answer(&chain, request("SUBSCRIBE", "subs", "dave", "alice", "m3")).await;
    assert_refused(&third, "max_subscriptions");
    let invite = answer(&chain, request("INVITE", "subs", "dave", "alice", "m4")).await;
    assert_eq!(invite.status(), 200, "sessions are counted apart");
}

#[tokio::test]
async fn a_refresh_inside_its_dialog_takes_no_slot() {
    let chain = limited_chain("refresh", "{ max_subscriptions: 1, max_sessions: 1 }");
    let mut subscribed = answer(
        &chain,
        request("SUBSCRIBE", "refresh", "bob", "alice", "f1"),
    )
    .await;
    let _subscription = lease(&mut subscribed).unwrap();
    let mut invited = answer(&chain, request("INVITE", "refresh", "bob", "alice", "f2")).await;
    let _session = lease(&mut invited).unwrap();

    for (method, call) in [("SUBSCRIBE", "f1"), ("INVITE", "f2")] {
        let refresh = in_dialog(request(method, "refresh", "bob", "alice", call));
        let mut response = answer(&chain, refresh).await;
        assert_eq!(response.status(), 200, "{method} refresh at the limit");
        assert!(
            lease(&mut response).is_none(),
            "{method} refresh took a slot"
        );
    }
    let (sessions, subscriptions) = usage("refresh");
    assert_eq!((sessions, subscriptions), (1, 1));
}

#[tokio::test]
async fn the_counts_outlive_a_config_snapshot_and_its_limits_apply() {
    let old = limited_chain("swapped", "{ max_sessions: 1 }");
    let mut first = answer(&old, request("INVITE", "swapped", "bob", "alice", "w1")).await;
    let held = lease(&mut first).unwrap();

    let new = limited_chain("swapped", "{ max_sessions: 1 }");
    let refused = answer(&new, request("INVITE", "swapped", "bob", "alice", "w2")).await;
    assert_eq!(
        refused.status(),
        503,
        "the dialog from the old snapshot still counts"
    );
    let raised = limited_chain("swapped", "{ max_sessions: 2 }");
    let mut second = answer(&raised, request("INVITE", "swapped", "bob", "alice", "w3")).await;
    assert_eq!(second.status(), 200, "the new snapshot's limit applies");
    assert_eq!(usage("swapped").0, 2);
    drop((held, lease(&mut second)));
    assert_eq!(usage("swapped").0, 0);
}

#[tokio::test]
async fn unlimited_partners_dialogs_are_counted_and_internal_ones_are_not() {
    let chain = limited_chain("counted", "{}");
    let mut responses = Vec::new();
    for call in ["c1", "c2", "c3"] {
        let mut ok = answer(&chain, request("INVITE", "counted", "bob", "alice", call)).await;
        assert_eq!(ok.status(), 200);
        responses.push(lease(&mut ok).unwrap());
    }
    assert_eq!(usage("counted").0, 3);

    let mut internal = request("INVITE", "counted", "bob", "alice", "c4");
    internal.context.insert(Authenticated::Internal);
    let mut response = answer(&chain, internal).await;
    assert!(lease(&mut response).is_none());
    assert_eq!(usage("counted").0, 3);
}
