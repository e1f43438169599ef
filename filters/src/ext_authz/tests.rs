use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use legate_sip::{parse_message, Header, Limits, Message};
use serde_json::{json, Value};

use super::test_service::{Reply, TestService};
use super::wire::{sanitise_reason, DEFAULT_DENY_REASON, MAX_REASON_CHARS};
use super::{ExtAuthzConfig, NAME};
use crate::domain_policy::{Action, Direction, PolicyDecision, Service};
use crate::testing::filter_before_terminal;
use legate_filters_api::Authenticated;
use legate_filters_api::{
    call, BoxSipService, BuildContext, ChainError, ConfigFolder, Context, DialogInfo, ListenerInfo,
    Metrics, PeerAddress, Side, SipRequest, SipResponse, TlsPeerIdentity, Transport,
};

const MESSAGE: &str = "MESSAGE sip:alice@acme.example SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bK-1\r\n\
Max-Forwards: 70\r\n\
From: \"Bob\" <sip:bob@partner.example>;tag=b1\r\n\
To: <sip:alice@acme.example>\r\n\
Call-ID: c1@partner.example\r\n\
CSeq: 1 MESSAGE\r\n\
Contact: <sip:bob@192.0.2.10:5061>\r\n\
Subject: Quarterly figures\r\n\
Subject: Second subject\r\n\
User-Agent: Partner 1.0\r\n\
Content-Type: text/plain\r\n\
Content-Length: 11\r\n\r\nhello there";

/// The end of the chain: answers 200 with `X-Reached`, echoing the request's `X-` headers,
/// Subject, User-Agent and Contact as response headers.
fn echo(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    response.headers.push(Header::other("X-Reached", "yes"));
    for header in request.message.headers.iter() {
        let name = String::from_utf8_lossy(&header.name).to_ascii_lowercase();
        if name.starts_with("x-") || ["subject", "user-agent", "contact"].contains(&name.as_str()) {
            response.headers.push(header.clone());
        }
    }
    response
}

fn listener(side: Side) -> ListenerInfo {
    ListenerInfo {
        name: "external".into(),
        side,
        transport: Transport::Udp,
        local_addr: "127.0.0.1:5060".parse().unwrap(),
    }
}

fn chain_with(config: &str, resources: http::Extensions) -> Result<BoxSipService, ChainError> {
    chain_in(config, resources, Metrics::new())
}

fn chain_in(
    config: &str,
    resources: http::Extensions,
    metrics: Metrics,
) -> Result<BoxSipService, ChainError> {
    let context = BuildContext {
        listener: listener(Side::External),
        resources,
        metrics,
    };
    let config = serde_yaml::from_str(config).unwrap();
    filter_before_terminal(NAME, config, echo, &context)
}

fn chain(config: &str) -> BoxSipService {
    chain_with(config, http::Extensions::new()).unwrap()
}

fn message(text: &str) -> Message {
    parse_message(Bytes::copy_from_slice(text.as_bytes()), &Limits::default()).unwrap()
}

async fn send(chain: &BoxSipService, text: &str, context: Context) -> SipResponse {
    let request = SipRequest {
        message: message(text),
        context,
    };
    call(chain, request).await.unwrap()
}

async fn run(config: &str) -> SipResponse {
    send(&chain(config), MESSAGE, Context::new()).await
}

/// [`run`], counting in `metrics`.
async fn run_counted(config: &str, metrics: &Metrics) -> SipResponse {
    let chain = chain_in(config, http::Extensions::new(), metrics.clone()).unwrap();
    send(&chain, MESSAGE, Context::new()).await
}

fn checks(metrics: &Metrics, result: &str) -> f64 {
    metrics
        .value("legate_ext_authz_total", &[("result", result)])
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

fn reason_phrase(response: &SipResponse) -> String {
    match &response.message.start {
        legate_sip::StartLine::Response(line) => String::from_utf8_lossy(&line.reason).into(),
        legate_sip::StartLine::Request(_) => String::new(),
    }
}

fn reached_upstream(response: &SipResponse) -> bool {
    values(response, "X-Reached") == ["yes"]
}

fn assert_unavailable(response: &SipResponse) {
    assert_eq!(response.status(), 503, "{:?}", response.message);
    assert_eq!(response.answered_by, Some(NAME));
    assert_eq!(values(response, "Retry-After"), ["5"]);
    let warning = values(response, "Warning").join(" ");
    assert!(
        warning.contains("authorization service unavailable"),
        "{warning}"
    );
    assert!(!reached_upstream(response));
}

#[tokio::test]
async fn an_allowed_request_passes_on() {
    let metrics = Metrics::new();
    let mut service = TestService::start(|_| Reply::json(r#"{"result":"allow"}"#)).await;
    let response = run_counted(&format!("url: \"{}\"", service.url()), &metrics).await;
    assert_eq!(response.status(), 200);
    assert!(reached_upstream(&response));
    assert_eq!(service.next_check().await["method"], "MESSAGE");
    assert_eq!(checks(&metrics, "allow"), 1.0);
    assert_eq!(checks(&metrics, "deny"), 0.0);
}

#[tokio::test]
async fn a_denied_request_gets_the_services_status_and_reason() {
    let metrics = Metrics::new();
    let service = TestService::start(|_| {
        Reply::json(r#"{"result":"deny","status":488,"reason":"Blocked by \"compliance\"\r\nVia: SIP/2.0/UDP evil","extra":1}"#)
    })
    .await;
    let response = run_counted(&format!("url: \"{}\"", service.url()), &metrics).await;
    assert_eq!(response.status(), 488);
    assert_eq!(response.answered_by, Some(NAME));
    assert!(!reached_upstream(&response));
    assert_eq!(
        reason_phrase(&response),
        "Blocked by compliance Via: SIP/2.0/UDP evil"
    );
    assert_eq!(
        values(&response, "Warning"),
        ["399 legate \"Blocked by compliance Via: SIP/2.0/UDP evil\""]
    );
    assert_eq!(values(&response, "Via").len(), 1);
    assert_eq!(checks(&metrics, "deny"), 1.0);
}

#[tokio::test]
async fn a_deny_without_status_or_reason_is_a_403_with_a_default_reason() {
    let service = TestService::start(|_| Reply::json(r#"{"result":"deny"}"#)).await;
    let response = run(&format!("url: \"{}\"", service.url())).await;
    assert_eq!(response.status(), 403);
    assert_eq!(reason_phrase(&response), DEFAULT_DENY_REASON);
}

#[tokio::test]
async fn header_changes_are_applied_before_the_request_goes_on() {
    let service = TestService::start(|_| {
        Reply::json(
            r#"{"result":"allow","headers":{
                "set":[{"name":"X-Compliance","value":"checked"},{"name":"subject","value":"[checked]"}],
                "remove":["User-Agent"]}}"#,
        )
    })
    .await;
    let response = run(&format!("url: \"{}\"", service.url())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(values(&response, "X-Compliance"), ["checked"]);
    assert!(values(&response, "User-Agent").is_empty());
    // `set` replaces both Subject headers with one.
    assert_eq!(values(&response, "Subject"), ["[checked]"]);
}

#[tokio::test]
async fn changing_a_header_the_proxy_depends_on_is_a_service_error() {
    let metrics = Metrics::new();
    let answers: [super::test_service::Answer; 4] = [
        |_| Reply::json(r#"{"result":"allow","headers":{"set":[{"name":"Via","value":"x"}]}}"#),
        |_| Reply::json(r#"{"result":"allow","headers":{"remove":["Contact"]}}"#),
        |_| Reply::json(r#"{"result":"allow","headers":{"remove":["m"]}}"#),
        |_| {
            Reply::json(
                r#"{"result":"allow","headers":{"set":[{"name":"X-A","value":"a\r\nVia: x"}]}}"#,
            )
        },
    ];
    for answer in answers {
        let service = TestService::start(answer).await;
        let response = run_counted(&format!("url: \"{}\"", service.url()), &metrics).await;
        assert_unavailable(&response);
        // With failure_mode allow the request passes, unchanged.
        let config = format!("{{ url: \"{}\", failure_mode: allow }}", service.url());
        let response = run_counted(&config, &metrics).await;
        assert!(reached_upstream(&response));
        assert_eq!(values(&response, "Contact"), ["<sip:bob@192.0.2.10:5061>"]);
        assert!(values(&response, "X-A").is_empty());
    }
    assert_eq!(checks(&metrics, "error"), 8.0);
}

#[tokio::test]
async fn a_service_that_never_answers_times_out_into_failure_mode() {
    let service = TestService::start(|_| Reply::Never).await;
    let url = service.url();
    let response = run(&format!("{{ url: \"{url}\", timeout: 200ms }}")).await;
    assert_unavailable(&response);
    let response = run(&format!(
        "{{ url: \"{url}\", timeout: 200ms, failure_mode: allow }}"
    ))
    .await;
    assert_eq!(response.status(), 200);
    assert!(reached_upstream(&response));
}

#[tokio::test]
async fn a_service_that_refuses_connections_follows_failure_mode() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/check", closed.local_addr().unwrap());
    drop(closed);
    assert_unavailable(&run(&format!("url: \"{url}\"")).await);
    let response = run(&format!("{{ url: \"{url}\", failure_mode: allow }}")).await;
    assert!(reached_upstream(&response));
}

#[tokio::test]
async fn garbage_answers_follow_failure_mode() {
    let answers: [super::test_service::Answer; 6] = [
        |_| Reply::json("this is not json"),
        |_| Reply::json(r#"{"result":"maybe"}"#),
        |_| Reply::json(r#"{"status":403}"#),
        |_| Reply::json(r#"{"result":"deny","status":302}"#),
        |_| Reply::json(r#"{"result":"deny","status":70000}"#),
        |_| Reply::Http(500, r#"{"result":"allow"}"#.to_string()),
    ];
    for answer in answers {
        let service = TestService::start(answer).await;
        assert_unavailable(&run(&format!("url: \"{}\"", service.url())).await);
        let response = run(&format!(
            "{{ url: \"{}\", failure_mode: allow }}",
            service.url()
        ))
        .await;
        assert!(reached_upstream(&response));
    }
}

#[tokio::test]
async fn the_check_request_carries_the_documented_fields() {
    let mut service = TestService::start(|_| Reply::json(r#"{"result":"allow"}"#)).await;
    let chain = chain(&format!(
        "{{ url: \"{}\", include_headers: [Subject, X-Absent], include_body: {{ max_bytes: 5 }} }}",
        service.url()
    ));
    let mut context = Context::new();
    context.insert(listener(Side::External));
    context.insert(PeerAddress(
        "192.0.2.10:40112".parse::<SocketAddr>().unwrap(),
    ));
    context.insert(TlsPeerIdentity {
        dns_names: vec!["partner.example".into()],
        uris: vec!["sip:partner.example".into()],
    });
    context.insert(Authenticated::Peer {
        name: "partner".into(),
        domain: "partner.example".into(),
    });
    context.insert(PolicyDecision {
        rule_id: Some("partners-write-in".into()),
        action: Action::Allow,
        service: Service::Im,
        direction: Direction::Inbound,
        remote_domain: "partner.example".into(),
        local_user: Some("alice@acme.example".into()),
    });
    send(&chain, MESSAGE, context).await;
    let check = service.next_check().await;
    let expected = json!({
        "version": 1,
        "method": "MESSAGE",
        "request_uri": "sip:alice@acme.example",
        "call_id": "c1@partner.example",
        "from": "sip:bob@partner.example",
        "to": "sip:alice@acme.example",
        "service": "im",
        "direction": "inbound",
        "partner": "partner",
        "identity": {
            "kind": "partner",
            "domain": "partner.example",
            "dns_names": ["partner.example"],
            "uris": ["sip:partner.example"]
        },
        "listener": "external",
        "source": "192.0.2.10:40112",
        "policy": { "decision": "allow", "rule_id": "partners-write-in" },
        "headers": { "Subject": ["Quarterly figures", "Second subject"] },
        "body": "hello",
        "body_truncated": true
    });
    assert_eq!(check, expected);
}

#[tokio::test]
async fn without_earlier_filters_the_context_fields_are_null() {
    let mut service = TestService::start(|_| Reply::json(r#"{"result":"allow"}"#)).await;
    run(&format!("url: \"{}\"", service.url())).await;
    let check = service.next_check().await;
    for field in ["partner", "identity", "source", "policy", "body"] {
        assert_eq!(check[field], Value::Null, "{field}");
    }
    assert_eq!(check["headers"], json!({}));
    assert_eq!(check["body_truncated"], false);
    // The side of the listener the chain was built for gives the direction.
    assert_eq!(check["direction"], "inbound");
    assert_eq!(check["listener"], "external");
}

#[tokio::test]
async fn unlisted_methods_and_in_dialog_requests_pass_unchecked() {
    let mut service = TestService::start(|_| Reply::json(r#"{"result":"deny"}"#)).await;
    let chain = chain(&format!(
        "{{ url: \"{}\", methods: [INVITE] }}",
        service.url()
    ));
    let response = send(&chain, MESSAGE, Context::new()).await;
    assert!(reached_upstream(&response));

    let in_dialog = MESSAGE.replace(
        "To: <sip:alice@acme.example>",
        "To: <sip:alice@acme.example>;tag=a1",
    );
    let dialog = || {
        let mut context = Context::new();
        context.insert(DialogInfo {
            id: "c1".into(),
            in_dialog: true,
            known_locally: true,
        });
        context
    };
    let chain = chain_with(&format!("url: \"{}\"", service.url()), Default::default()).unwrap();
    let response = send(&chain, &in_dialog, dialog()).await;
    assert!(reached_upstream(&response));
    assert!(service.nothing_checked());

    let strict = crate::testing::filter_before_terminal(
        NAME,
        serde_yaml::from_str(&format!(
            "{{ url: \"{}\", check_in_dialog: true }}",
            service.url()
        ))
        .unwrap(),
        echo,
        &BuildContext {
            listener: listener(Side::External),
            resources: Default::default(),
            metrics: Default::default(),
        },
    )
    .unwrap();
    let response = send(&strict, &in_dialog, dialog()).await;
    assert_eq!(response.status(), 403);
    assert_eq!(service.next_check().await["method"], "MESSAGE");
}

#[tokio::test]
async fn connections_to_the_service_are_reused() {
    let service = TestService::start(|_| Reply::json(r#"{"result":"allow"}"#)).await;
    let chain = chain(&format!("url: \"{}\"", service.url()));
    for _ in 0..5 {
        let response = send(&chain, MESSAGE, Context::new()).await;
        assert!(reached_upstream(&response));
    }
    // Normally one; a connection handed back to the pool a moment late makes another.
    assert!(service.connections() < 5, "{}", service.connections());
}

#[tokio::test]
async fn an_https_service_is_verified_against_tls_ca() {
    let (ca, ca_key) = test_ca();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let certificate = params.signed_by(&key, &ca, &ca_key).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let mut service =
        TestService::start_with(|_| Reply::json(r#"{"result":"allow"}"#), Some(acceptor)).await;
    let port = service.addr.port();

    // `tls_ca` is relative: it is taken from the configuration file's folder.
    let folder = std::env::temp_dir().join(format!("legate-ext-authz-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("authz-ca.pem"), ca.pem()).unwrap();
    let mut resources = http::Extensions::new();
    resources.insert(ConfigFolder(folder.clone()));
    let config = format!("{{ url: \"https://localhost:{port}/check\", tls_ca: authz-ca.pem }}");
    let chain = chain_with(&config, resources).unwrap();
    let response = send(&chain, MESSAGE, Context::new()).await;
    assert!(reached_upstream(&response), "{:?}", response.message);
    assert_eq!(service.next_check().await["method"], "MESSAGE");

    // A CA that did not issue the service's certificate: the check fails, per failure_mode.
    let (other, _) = test_ca();
    std::fs::write(folder.join("other-ca.pem"), other.pem()).unwrap();
    let mut resources = http::Extensions::new();
    resources.insert(ConfigFolder(folder.clone()));
    let config = format!("{{ url: \"https://localhost:{port}/check\", tls_ca: other-ca.pem }}");
    let chain = chain_with(&config, resources).unwrap();
    assert_unavailable(&send(&chain, MESSAGE, Context::new()).await);
    std::fs::remove_dir_all(&folder).unwrap();
}

fn test_ca() -> (rcgen::Certificate, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ext_authz test CA");
    (params.self_signed(&key).unwrap(), key)
}

#[test]
fn the_documented_example_parses() {
    let config = serde_yaml::from_str(ExtAuthzConfig::example()).unwrap();
    let settings = ExtAuthzConfig::from_yaml(&config)
        .unwrap()
        .compile(None)
        .unwrap();
    assert_eq!(settings.endpoint.port, 9191);
    assert_eq!(settings.timeout, std::time::Duration::from_secs(1));
    assert_eq!(settings.methods.map(|m| m.len()), Some(3));
}

#[test]
fn bad_config_names_the_field() {
    let cases = [
        ("null", "[0].config.url"),
        ("{ url: \"ftp://127.0.0.1/check\" }", "[0].config.url"),
        ("{ url: \"not a url\" }", "[0].config.url"),
        (
            "{ url: \"http://user:pw@127.0.0.1/check\" }",
            "[0].config.url",
        ),
        ("{ url: \"https://127.0.0.1/check\" }", "[0].config.tls_ca"),
        (
            "{ url: \"https://127.0.0.1/check\", tls_ca: /nonexistent/ca.pem }",
            "[0].config.tls_ca",
        ),
        (
            "{ url: \"http://127.0.0.1/check\", tls_ca: ca.pem }",
            "[0].config.tls_ca",
        ),
        (
            "{ url: \"http://127.0.0.1/\", timeout: 0s }",
            "[0].config.timeout",
        ),
        (
            "{ url: \"http://127.0.0.1/\", timeout: 1m }",
            "[0].config.timeout",
        ),
        (
            "{ url: \"http://127.0.0.1/\", failure_mode: maybe }",
            "[0].config.failure_mode",
        ),
        (
            "{ url: \"http://127.0.0.1/\", include_headers: [\"a b\"] }",
            "[0].config.include_headers[0]",
        ),
        (
            "{ url: \"http://127.0.0.1/\", include_body: { max_bytes: 0 } }",
            "[0].config.include_body.max_bytes",
        ),
        (
            "{ url: \"http://127.0.0.1/\", methods: [] }",
            "[0].config.methods",
        ),
        (
            "{ url: \"http://127.0.0.1/\", methods: [MESSAGE, ACK] }",
            "[0].config.methods[1]",
        ),
        (
            "{ url: \"http://127.0.0.1/\", methods: [\"MES SAGE\"] }",
            "[0].config.methods[0]",
        ),
    ];
    for (config, path) in cases {
        let error = chain_with(config, Default::default()).err().unwrap();
        assert_eq!(error.field_path, path, "{config}: {}", error.message);
    }
    let error = chain_with(
        "{ url: \"http://127.0.0.1/\", urls: [] }",
        Default::default(),
    )
    .err()
    .unwrap();
    assert!(
        error.message.contains("unknown field `urls`"),
        "{}",
        error.message
    );
}

#[test]
fn reasons_are_sanitised_and_capped() {
    assert_eq!(sanitise_reason("  a\t\"b\"\\c\r\n d  "), "a b c d");
    assert_eq!(sanitise_reason("\r\n\""), DEFAULT_DENY_REASON);
    let long = "é".repeat(500);
    assert_eq!(sanitise_reason(&long).chars().count(), MAX_REASON_CHARS);
}

#[test]
fn the_filter_is_registered() {
    let registry = crate::builtins();
    let factory = registry.get(NAME).unwrap();
    assert!(!factory.authenticates_peers());
}
