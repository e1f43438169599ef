use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use legate_sip::{parse_message, Limits, Message};

use super::{rate_limited_count, NAME};
use crate::authn::Authenticated;
use crate::testing::filter_before_terminal;
use crate::{
    call, BoxSipService, BuildContext, Context, ListenerInfo, Peers, Registry, Side, SipRequest,
    Transport,
};

const PEERS: &str = "
- { name: limited, domains: [limited.example], reach: { address: 192.0.2.1:5061 }, trust_bundle: ca.pem,
    limits: { requests_per_second: 1, burst: 2 } }
- { name: free, domains: [free.example], reach: { address: 192.0.2.2:5061 }, trust_bundle: ca.pem }
";

fn ok(request: &SipRequest) -> Message {
    Message::response_to(&request.message, 200, "OK")
}

fn chain(config: serde_yaml::Value) -> Result<BoxSipService, crate::ChainError> {
    let mut resources = http::Extensions::new();
    resources.insert(Peers::new(serde_yaml::from_str(PEERS).unwrap()));
    let addr: SocketAddr = "127.0.0.1:5061".parse().unwrap();
    let context = BuildContext {
        listener: ListenerInfo {
            name: "external".into(),
            side: Side::External,
            transport: Transport::Tls,
            local_addr: addr,
        },
        resources,
    };
    filter_before_terminal(NAME, config, ok, &context)
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
    let before = rate_limited_count();
    assert_eq!(send(&chain, partner("limited")).await.0, 200);
    assert_eq!(send(&chain, partner("limited")).await.0, 200);
    assert_eq!(
        send(&chain, partner("limited")).await,
        (503, Some("1".into()))
    );
    assert!(rate_limited_count() > before);
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
    assert!(Registry::with_builtins().get(NAME).is_some());
}
