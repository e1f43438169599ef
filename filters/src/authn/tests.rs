use std::net::SocketAddr;

use bytes::Bytes;
use legate_api::PeerConfig;
use legate_sip::{parse_message, Header, Limits, Message};

use super::{Authenticated, AuthnConfig, NAME};
use crate::testing::filter_before_terminal;
use legate_filters_api::{
    call, BoxSipService, BuildContext, ChainError, Context, DialogInfo, ListenerInfo, Metrics,
    PeerAddress, Peers, Side, SipRequest, SipResponse, TlsPeerIdentity, Transport,
};

const PEERS: &str = r#"
- name: partner
  domains: [partner.example, East.Partner.example]
  reach: { address: "192.0.2.1:5061" }
  trust_bundle: ca.pem
- name: other
  domains: [other.example]
  reach: { address: "192.0.2.2:5061" }
  trust_bundle: other-ca.pem
"#;

const EXTERNAL: &str = "local_domains: [acme.example, Corp.Example]";
const INTERNAL: &str =
    "{ local_domains: [acme.example], trusted_sources: [127.0.0.0/8, 10.1.0.0/16, 'fd00:1::/32'] }";

/// The end of the chain: answers 200, reporting who authn said sent the request and the identity
/// headers that reached it.
fn echo_identity(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    let who = match request.context.get::<Authenticated>() {
        Some(Authenticated::Peer { name, domain }) => format!("peer {name} {domain}"),
        Some(Authenticated::Internal) => "internal".to_string(),
        None => "none".to_string(),
    };
    response.headers.push(Header::other("X-Authenticated", who));
    let asserted = request
        .message
        .headers
        .by_name("P-Asserted-Identity")
        .count();
    response
        .headers
        .push(Header::other("X-Asserted", asserted.to_string()));
    response
}

fn peers() -> Peers {
    let peers: Vec<PeerConfig> = serde_yaml::from_str(PEERS).unwrap();
    Peers::new(peers)
}

fn listener(side: Side) -> ListenerInfo {
    ListenerInfo {
        name: format!("{side:?}").into(),
        side,
        transport: Transport::Tls,
        local_addr: "127.0.0.1:5061".parse().unwrap(),
    }
}

fn chain(config: &str, side: Side) -> Result<BoxSipService, ChainError> {
    chain_with(config, side, Some(peers()))
}

fn chain_with(config: &str, side: Side, peers: Option<Peers>) -> Result<BoxSipService, ChainError> {
    chain_in(config, side, peers, Metrics::new())
}

/// The chain, and the metrics its filter counts in.
fn counted_chain(config: &str, side: Side) -> (BoxSipService, Metrics) {
    let metrics = Metrics::new();
    let chain = chain_in(config, side, Some(peers()), metrics.clone()).unwrap();
    (chain, metrics)
}

fn refusals(metrics: &Metrics, reason: &str) -> f64 {
    metrics
        .value("legate_authn_refusals_total", &[("reason", reason)])
        .unwrap()
}

fn chain_in(
    config: &str,
    side: Side,
    peers: Option<Peers>,
    metrics: Metrics,
) -> Result<BoxSipService, ChainError> {
    let mut resources = http::Extensions::new();
    if let Some(peers) = peers {
        resources.insert(peers);
    }
    let context = BuildContext {
        listener: listener(side),
        resources,
        metrics,
    };
    let config = serde_yaml::from_str(config).unwrap();
    filter_before_terminal(NAME, config, echo_identity, &context)
}

/// A MESSAGE from `from` to the Request-URI `target`, with `extra` header lines.
fn request(from: &str, target: &str, extra: &str) -> Message {
    let text = format!(
        "MESSAGE sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from}>;tag=f1\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: c1@example\r\n\
         CSeq: 1 MESSAGE\r\n\
         {extra}\
         Content-Length: 2\r\n\r\nhi"
    );
    match parse_message(Bytes::from(text), &Limits::default()) {
        Ok(message) => message,
        Err(error) => panic!("test request does not parse: {error}"),
    }
}

/// The context the proxy sets for an external request with this certificate (if any).
fn external(certificate: Option<TlsPeerIdentity>) -> Context {
    let mut context = Context::new();
    context.insert(listener(Side::External));
    context.insert(PeerAddress("192.0.2.1:40000".parse().unwrap()));
    if let Some(certificate) = certificate {
        context.insert(certificate);
    }
    context
}

fn dns(names: &[&str]) -> Option<TlsPeerIdentity> {
    Some(TlsPeerIdentity {
        dns_names: names.iter().map(|n| n.to_string()).collect(),
        uris: Vec::new(),
    })
}

fn internal(source: &str) -> Context {
    let mut context = Context::new();
    context.insert(listener(Side::Internal));
    let source: SocketAddr = source.parse().unwrap();
    context.insert(PeerAddress(source));
    context
}

async fn send(chain: &BoxSipService, message: Message, context: Context) -> SipResponse {
    call(chain, SipRequest { message, context }).await.unwrap()
}

fn header(response: &SipResponse, name: &str) -> Option<String> {
    let value = response.message.headers.by_name(name).next()?;
    Some(String::from_utf8_lossy(&value.value).into_owned())
}

#[track_caller]
fn assert_refused(response: &SipResponse, reason: &str) {
    assert_eq!(response.status(), 403);
    assert_eq!(response.answered_by, Some(NAME));
    let warning = header(response, "Warning").unwrap_or_default();
    assert!(warning.contains(reason), "{warning}");
}

#[track_caller]
fn assert_passed(response: &SipResponse, who: &str) {
    assert_eq!(response.status(), 200, "{:?}", header(response, "Warning"));
    assert_eq!(header(response, "X-Authenticated").as_deref(), Some(who));
}

#[tokio::test]
async fn no_certificate_is_refused() {
    let (chain, metrics) = counted_chain(EXTERNAL, Side::External);
    let message = request("alice@partner.example", "bob@acme.example", "");
    let response = send(&chain, message, external(None)).await;
    assert_refused(&response, "a verified TLS client certificate is required");
    assert_eq!(refusals(&metrics, "no_certificate"), 1.0);
}

#[tokio::test]
async fn a_certificate_naming_another_domain_is_refused() {
    let chain = chain(EXTERNAL, Side::External).unwrap();
    for certificate in [
        dns(&["other.example"]),
        dns(&["mail.partner.example"]),
        Some(TlsPeerIdentity {
            dns_names: Vec::new(),
            uris: vec![
                "sip:alice@partner.example".into(),
                "https://partner.example".into(),
            ],
        }),
    ] {
        let message = request("alice@partner.example", "bob@acme.example", "");
        let response = send(&chain, message, external(certificate)).await;
        assert_refused(
            &response,
            "the certificate does not name the sending domain",
        );
    }
}

#[tokio::test]
async fn a_certificate_naming_the_domain_passes() {
    let chain = chain(EXTERNAL, Side::External).unwrap();
    let by_uri = |uri: &str| {
        Some(TlsPeerIdentity {
            dns_names: vec!["unrelated.example".into()],
            uris: vec![uri.to_string()],
        })
    };
    for certificate in [
        dns(&["partner.example"]),
        dns(&["PARTNER.example"]),
        // Another domain of the same partner.
        dns(&["east.partner.example"]),
        by_uri("sip:partner.example"),
        by_uri("sips:Partner.Example"),
    ] {
        let message = request("alice@Partner.Example", "bob@acme.example", "");
        let response = send(&chain, message, external(certificate.clone())).await;
        assert_passed(&response, "peer partner partner.example");
    }
}

#[tokio::test]
async fn a_domain_that_is_not_a_partner_is_refused() {
    let chain = chain(EXTERNAL, Side::External).unwrap();
    let message = request("mallory@evil.example", "bob@acme.example", "");
    let response = send(&chain, message, external(dns(&["evil.example"]))).await;
    assert_refused(&response, "the sending domain is not a federation partner");
    // Without a Peers resource nobody is a partner.
    let chain = chain_with(EXTERNAL, Side::External, None).unwrap();
    let message = request("alice@partner.example", "bob@acme.example", "");
    let response = send(&chain, message, external(dns(&["partner.example"]))).await;
    assert_refused(&response, "not a federation partner");
}

#[tokio::test]
async fn identity_of_another_domain_is_refused() {
    let (chain, metrics) = counted_chain(EXTERNAL, Side::External);
    for extra in [
        "P-Asserted-Identity: <sip:ceo@other.example>\r\n",
        "P-Asserted-Identity: <sip:alice@partner.example>, <sip:ceo@acme.example>\r\n",
        "P-Preferred-Identity: \"Boss, Big\" <sip:boss@acme.example>\r\n",
        "Remote-Party-ID: <sip:x@other.example>;party=calling\r\n",
        "P-Asserted-Identity: <tel:+15551234>\r\n",
        "P-Asserted-Identity: not an address\r\n",
    ] {
        let message = request("alice@partner.example", "bob@acme.example", extra);
        let response = send(&chain, message, external(dns(&["partner.example"]))).await;
        assert_refused(&response, "identity not owned by the sending domain");
        // The refusal does not echo the header's value.
        let warning = header(&response, "Warning").unwrap_or_default();
        assert!(!warning.contains("acme.example") && !warning.contains("other.example"));
    }
    assert_eq!(refusals(&metrics, "identity_not_owned"), 6.0);
}

#[tokio::test]
async fn identity_headers_are_stripped_on_pass() {
    let chain = chain(EXTERNAL, Side::External).unwrap();
    let extra = "P-Asserted-Identity: \"Alice\" <sip:alice@partner.example>, <sip:a@east.partner.example>\r\n\
                 Remote-Party-ID: <sip:alice@partner.example>;party=calling\r\n";
    let message = request("alice@partner.example", "bob@acme.example", extra);
    let response = send(&chain, message, external(dns(&["partner.example"]))).await;
    assert_passed(&response, "peer partner partner.example");
    assert_eq!(header(&response, "X-Asserted").as_deref(), Some("0"));
}

/// An in-dialog request to `contact` (the Request-URI) for the local party `to`.
fn in_dialog_request(contact: &str, to: &str) -> Message {
    let text = String::from_utf8_lossy(&request("alice@partner.example", contact, "").to_bytes())
        .replace(
            &format!("To: <sip:{contact}>"),
            &format!("To: <sip:{to}>;tag=t1"),
        );
    match parse_message(Bytes::from(text), &Limits::default()) {
        Ok(message) => message,
        Err(error) => panic!("test request does not parse: {error}"),
    }
}

#[tokio::test]
async fn requests_not_for_us_are_refused_in_and_out_of_dialogs() {
    let chain = chain(EXTERNAL, Side::External).unwrap();
    let certificate = dns(&["partner.example"]);
    let message = request("alice@partner.example", "bob@other.example", "");
    let response = send(&chain, message.clone(), external(certificate.clone())).await;
    assert_refused(&response, "not addressed to this organisation");
    // Our domains compare case-insensitively, in config and on the wire.
    let upper = request("alice@partner.example", "bob@CORP.example", "");
    let response = send(&chain, upper, external(certificate.clone())).await;
    assert_passed(&response, "peer partner partner.example");
    // In a dialog the Request-URI is a Contact (an address of ours), not a domain: the local
    // party is in To, and it must be ours too.
    let in_dialog = |certificate| {
        let mut context = external(certificate);
        context.insert(DialogInfo {
            id: "c1@example;f1;t1".into(),
            in_dialog: true,
            known_locally: true,
        });
        context
    };
    let ours = in_dialog_request("bob@10.1.2.3:5061", "bob@corp.example");
    let response = send(&chain, ours, in_dialog(certificate.clone())).await;
    assert_passed(&response, "peer partner partner.example");
    let theirs = in_dialog_request("bob@10.1.2.3:5061", "bob@other.example");
    let response = send(&chain, theirs, in_dialog(certificate)).await;
    assert_refused(&response, "not addressed to this organisation");
}

#[tokio::test]
async fn trusted_internal_sources_pass() {
    let chain = chain(INTERNAL, Side::Internal).unwrap();
    for source in [
        "127.0.0.1:5060",
        "10.1.200.3:5060",
        "[fd00:1:2::9]:5060",
        "[::ffff:10.1.0.1]:5060",
    ] {
        // Internal requests keep their identity headers: the IM system is trusted.
        let extra = "P-Asserted-Identity: <sip:alice@acme.example>\r\n";
        let message = request("alice@acme.example", "x@partner.example", extra);
        let response = send(&chain, message, internal(source)).await;
        assert_passed(&response, "internal");
        assert_eq!(header(&response, "X-Asserted").as_deref(), Some("1"));
    }
}

#[tokio::test]
async fn untrusted_internal_sources_are_refused() {
    let (chain, metrics) = counted_chain(INTERNAL, Side::Internal);
    for source in ["10.2.0.1:5060", "192.0.2.1:5060", "[fd01::1]:5060"] {
        let message = request("alice@acme.example", "x@partner.example", "");
        let response = send(&chain, message, internal(source)).await;
        assert_refused(&response, "source not trusted");
    }
    // No source address at all.
    let mut context = Context::new();
    context.insert(listener(Side::Internal));
    let message = request("alice@acme.example", "x@partner.example", "");
    let response = send(&chain, message, context).await;
    assert_refused(&response, "source not trusted");
    assert_eq!(refusals(&metrics, "source_not_trusted"), 4.0);
}

#[tokio::test]
async fn an_earlier_claim_is_not_trusted() {
    // Built for an external listener, the request says it came in externally, and something
    // before authn already claimed it was internal.
    let chain = chain(EXTERNAL, Side::External).unwrap();
    let mut context = external(None);
    context.insert(Authenticated::Internal);
    let message = request("alice@partner.example", "bob@acme.example", "");
    let response = send(&chain, message, context).await;
    assert_refused(&response, "certificate is required");
    // An external chain has no trusted sources: an internal request on it is refused.
    let message = request("alice@acme.example", "x@partner.example", "");
    let response = send(&chain, message, internal("127.0.0.1:5060")).await;
    assert_refused(&response, "source not trusted");
}

fn config_error(config: &str, side: Side) -> ChainError {
    match chain(config, side) {
        Ok(_) => panic!("config accepted: {config}"),
        Err(error) => error,
    }
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (
            "{ trusted_sources: [10.0.0.0/8] }",
            Side::Internal,
            "[0].config.local_domains",
            "at least one",
        ),
        (
            "~",
            Side::External,
            "[0].config.local_domains",
            "needs a config",
        ),
        (
            "{ local_domains: ['acme example'] }",
            Side::External,
            "[0].config.local_domains[0]",
            "not a domain name",
        ),
        (
            "{ local_domains: [acme.example], trusted_sources: [10.0.0.0/8] }",
            Side::External,
            "[0].config.trusted_sources",
            "must not be set on an external listener",
        ),
        (
            "{ local_domains: [acme.example] }",
            Side::Internal,
            "[0].config.trusted_sources",
            "required on an internal listener",
        ),
        (
            "{ local_domains: [acme.example], trusted_sources: [] }",
            Side::Internal,
            "[0].config.trusted_sources",
            "empty list",
        ),
        (
            "{ local_domains: [acme.example], trusted_sources: [10.0.0.0/8, 10.1.0.0] }",
            Side::Internal,
            "[0].config.trusted_sources[1]",
            "not a CIDR (expected a.b.c.d/len",
        ),
        (
            "{ local_domains: [acme.example], trusted_sources: ['fd00::/129'] }",
            Side::Internal,
            "[0].config.trusted_sources[0]",
            "longer than 128",
        ),
        (
            "{ local_domains: [acme.example], trusted_sources: [10.1.2.0/16] }",
            Side::Internal,
            "[0].config.trusted_sources[0]",
            "did you mean 10.1.0.0/16?",
        ),
        (
            "{ local_domains: [acme.example], identity_headers: [P-Asserted-Identity, From] }",
            Side::External,
            "[0].config.identity_headers[1]",
            "managed by the proxy",
        ),
        (
            "{ local_domains: [acme.example], identity_headers: ['P Asserted'] }",
            Side::External,
            "[0].config.identity_headers[0]",
            "not a valid header name",
        ),
        (
            "{ local_domains: [acme.example], domains: [x] }",
            Side::External,
            "[0].config",
            "unknown field `domains`",
        ),
    ];
    for (config, side, path, message) in cases {
        let error = config_error(config, side);
        assert_eq!(error.field_path, path, "{config}: {error}");
        assert!(error.message.contains(message), "{config}: {error}");
    }
}

#[test]
fn the_documented_example_builds() {
    let value: serde_yaml::Value = serde_yaml::from_str(AuthnConfig::example()).unwrap();
    let config = AuthnConfig::from_yaml(&value).unwrap();
    assert_eq!(config.local_domains, ["acme.example"]);
    assert!(chain(AuthnConfig::example(), Side::Internal).is_ok());
    assert!(chain(EXTERNAL, Side::External).is_ok());
}

#[test]
fn the_filter_is_registered() {
    let registry = crate::builtins();
    let factory = registry.get(NAME).unwrap();
    assert!(factory.safe_for_untrusted());
    assert!(factory.authenticates_peers());
}
