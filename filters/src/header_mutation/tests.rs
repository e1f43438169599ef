use std::net::SocketAddr;

use bytes::Bytes;
use legate_sip::{parse_message, Limits, Message};

use super::NAME;
use crate::testing::filter_before_terminal;
use legate_filters_api::{
    call, BoxSipService, BuildContext, Context, ListenerInfo, Side, SipRequest, SipResponse,
    Transport,
};

const MESSAGE: &str = "MESSAGE sip:bob@remote.example SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@local.example>;tag=a1\r\n\
To: <sip:bob@remote.example>\r\n\
Call-ID: c1@local.example\r\n\
CSeq: 1 MESSAGE\r\n\
User-Agent: Client 1.0\r\n\
X-Internal-Debug: secret\r\n\
Content-Length: 2\r\n\r\nhi";

/// The end of the chain: answers 200, echoing the request headers it saw as response headers.
fn echo_headers(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    for header in request.message.headers.iter() {
        if header.name.starts_with(b"X-") || header.name.as_ref() == b"User-Agent" {
            response.headers.push(header.clone());
        }
    }
    response
        .headers
        .push(legate_sip::Header::other("Server", "Upstream"));
    response
}

fn context() -> BuildContext {
    let addr: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    BuildContext {
        listener: ListenerInfo {
            name: "internal".into(),
            side: Side::Internal,
            transport: Transport::Udp,
            local_addr: addr,
        },
        resources: http::Extensions::new(),
        metrics: Default::default(),
    }
}

fn chain(config: &str) -> Result<BoxSipService, legate_filters_api::ChainError> {
    let config = serde_yaml::from_str(config).unwrap();
    filter_before_terminal(NAME, config, echo_headers, &context())
}

async fn run(config: &str) -> SipResponse {
    let chain = chain(config).unwrap();
    let message =
        parse_message(Bytes::from_static(MESSAGE.as_bytes()), &Limits::default()).unwrap();
    call(
        &chain,
        SipRequest {
            message,
            context: Context::new(),
        },
    )
    .await
    .unwrap()
}

fn values(response: &SipResponse, name: &str) -> Vec<String> {
    response
        .message
        .headers
        .by_name(name)
        .map(|h| String::from_utf8_lossy(&h.value).into_owned())
        .collect()
}

#[tokio::test]
async fn adds_sets_removes_and_rewrites_request_headers() {
    let response = run(r#"
request:
  add: [ { name: X-Legate-Side, value: internal } ]
  set: [ { name: X-Org, value: Example } ]
  remove: [ X-Internal-Debug ]
  rewrite: [ { name: User-Agent, pattern: "^(.*)$", replacement: "$1 via Legate" } ]
"#)
    .await;
    assert_eq!(values(&response, "X-Legate-Side"), ["internal"]);
    assert_eq!(values(&response, "X-Org"), ["Example"]);
    assert!(values(&response, "X-Internal-Debug").is_empty());
    assert_eq!(values(&response, "User-Agent"), ["Client 1.0 via Legate"]);
}

#[tokio::test]
async fn mutates_the_final_response_on_the_way_back() {
    let response =
        run("response: { remove: [ Server ], add: [ { name: X-Seen, value: yes } ] }").await;
    assert!(values(&response, "Server").is_empty());
    assert_eq!(values(&response, "X-Seen"), ["yes"]);
}

#[test]
fn protected_headers_are_rejected_with_their_path() {
    let error = chain("request: { remove: [ Via ] }").err().unwrap();
    assert_eq!(error.field_path, "[0].config.request.remove[0]");
    assert!(
        error.message.contains("managed by the proxy"),
        "{}",
        error.message
    );
    let error = chain("request: { add: [ { name: v, value: x } ] }")
        .err()
        .unwrap();
    assert_eq!(error.field_path, "[0].config.request.add[0].name");
}

#[test]
fn bad_config_names_the_field() {
    let error = chain("request: { ad: [] }").err().unwrap();
    assert!(
        error.message.contains("unknown field `ad`"),
        "{}",
        error.message
    );
    let error = chain("request: { rewrite: [ { name: X-A, pattern: '(', replacement: '' } ] }")
        .err()
        .unwrap();
    assert_eq!(error.field_path, "[0].config.request.rewrite[0].pattern");
    let error = chain("request: { add: [ { name: X-A, value: \"a\\r\\nVia: evil\" } ] }")
        .err()
        .unwrap();
    assert_eq!(error.field_path, "[0].config.request.add[0].value");
}

#[test]
fn builtin_names_are_registered() {
    assert!(crate::builtins().get(NAME).is_some());
}
