use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use legate_sip::{parse_message, HeaderKind, Limits, Message};

use super::{DomainPolicyConfig, PolicyDecision, NAME};
use crate::testing::filter_before_terminal;
use legate_directory::StaticDirectory;
use legate_filters_api::{
    call, BoxSipService, BuildContext, ChainError, Context, DialogInfo, ListenerInfo, Side,
    SipRequest, SipResponse, Transport,
};
use legate_filters_api::{Directories, Directory, DirectoryError, LookupFuture, Metrics};

const USERS: &str = r#"
users:
  - { user: alice, domain: corp.example, groups: [sales, federated] }
  - { user: bob, domain: corp.example, groups: [engineering, federated] }
  - { user: carol, domain: corp.example, groups: [sales] }
"#;

const POLICY: &str = r#"
directory: corp
exposed_groups: [federated]
default: deny
rules:
  - id: out-partner-im-sales
    action: allow
    remote_domains: [partner.example]
    local_groups: [sales]
    services: [im, presence]
    direction: outbound
  - id: in-partner-calls
    action: allow
    remote_domains: [partner.example]
    services: [voice, video]
    direction: inbound
  - id: engineering-out
    action: allow
    local_groups: [engineering]
    direction: outbound
  - id: block-competitor
    action: deny
    remote_domains: [competitor.example]
  - id: chat-anyone
    action: allow
    services: [chat]
"#;

/// The end of the chain: answers 200, reporting the policy decision it saw as headers.
fn echo_decision(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    if let Some(decision) = request.context.get::<PolicyDecision>() {
        let rule = decision.rule_id.as_deref().unwrap_or("default");
        let headers = &mut response.headers;
        headers.push(legate_sip::Header::other("X-Rule", rule.to_string()));
        headers.push(legate_sip::Header::other(
            "X-Service",
            decision.service.to_string(),
        ));
        headers.push(legate_sip::Header::other(
            "X-Direction",
            decision.direction.to_string(),
        ));
    }
    response
}

/// A directory whose server is down.
struct Broken;

impl Directory for Broken {
    fn lookup<'a>(&'a self, _user: &'a str, _domain: &'a str) -> LookupFuture<'a> {
        Box::pin(std::future::ready(Err(DirectoryError::Unavailable {
            reason: "connection refused".into(),
        })))
    }
}

fn build_context(side: Side) -> BuildContext {
    let addr: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    let mut directories = Directories::new();
    let corp = StaticDirectory::from_yaml(USERS, "users.yaml").unwrap();
    directories.insert("corp", Arc::new(corp));
    directories.insert("broken", Arc::new(Broken));
    let mut resources = http::Extensions::new();
    resources.insert(directories);
    BuildContext {
        listener: listener(side, addr),
        resources,
        metrics: Default::default(),
    }
}

fn listener(side: Side, local_addr: SocketAddr) -> ListenerInfo {
    ListenerInfo {
        name: format!("{side:?}").into(),
        side,
        transport: Transport::Udp,
        local_addr,
    }
}

fn chain(config: &str, side: Side) -> Result<BoxSipService, ChainError> {
    let config = serde_yaml::from_str(config).unwrap();
    filter_before_terminal(NAME, config, echo_decision, &build_context(side))
}

/// The chain, and the metrics its filter counts in.
fn counted_chain(config: &str, side: Side, metrics: &Metrics) -> BoxSipService {
    let config = serde_yaml::from_str(config).unwrap();
    let context = BuildContext {
        metrics: metrics.clone(),
        ..build_context(side)
    };
    filter_before_terminal(NAME, config, echo_decision, &context).unwrap()
}

fn decisions(metrics: &Metrics, decision: &str) -> f64 {
    metrics
        .value("legate_policy_decisions_total", &[("decision", decision)])
        .unwrap()
}

const AUDIO: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                     m=audio 49170 RTP/AVP 0\r\n";
const VIDEO: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                     m=video 49170 RTP/AVP 31\r\n";
const MSRP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                    m=message 7654 TCP/MSRP *\r\na=accept-types:text/plain\r\n";

#[derive(Clone, Copy, Debug)]
enum Kind {
    Im,
    Presence,
    Voice,
    Video,
    Chat,
    Refer,
}

/// A request from `from` to `to` (both `user@domain`) of the given kind.
fn request(kind: Kind, from: &str, to: &str) -> Message {
    let (method, extra, body) = match kind {
        Kind::Im => ("MESSAGE", "Content-Type: text/plain\r\n", "hi"),
        Kind::Presence => ("SUBSCRIBE", "Event: presence\r\n", ""),
        Kind::Voice => ("INVITE", "Content-Type: application/sdp\r\n", AUDIO),
        Kind::Video => ("INVITE", "Content-Type: application/sdp\r\n", VIDEO),
        Kind::Chat => ("INVITE", "Content-Type: application/sdp\r\n", MSRP),
        Kind::Refer => ("REFER", "Refer-To: <sip:x@y.example>\r\n", ""),
    };
    message(&format!(
        "{method} sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.9:5061;branch=z9hG4bK-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from}>;tag=f1\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: c1@example\r\n\
         CSeq: 1 {method}\r\n\
         {extra}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

fn message(text: &str) -> Message {
    parse_message(Bytes::from(text.to_string()), &Limits::default()).unwrap()
}

async fn send_with(chain: &BoxSipService, message: Message, context: Context) -> SipResponse {
    call(chain, SipRequest { message, context }).await.unwrap()
}

async fn send(chain: &BoxSipService, message: Message) -> SipResponse {
    send_with(chain, message, Context::new()).await
}

fn header(response: &SipResponse, name: &str) -> Option<String> {
    let mut values = response.message.headers.by_name(name);
    values
        .next()
        .map(|h| String::from_utf8_lossy(&h.value).into_owned())
}

#[tokio::test]
async fn the_configured_answers_over_domain_group_service_and_direction() {
    let outbound = chain(POLICY, Side::Internal).unwrap();
    let inbound = chain(POLICY, Side::External).unwrap();
    use Kind::*;
    // (direction, kind, local user, remote user, status, rule)
    let cases = [
        (
            "out",
            Im,
            "alice@corp.example",
            "x@partner.example",
            200,
            "out-partner-im-sales",
        ),
        (
            "out",
            Presence,
            "alice@corp.example",
            "x@partner.example",
            200,
            "out-partner-im-sales",
        ),
        (
            "out",
            Voice,
            "alice@corp.example",
            "x@partner.example",
            403,
            "default",
        ),
        (
            "out",
            Voice,
            "bob@corp.example",
            "x@partner.example",
            200,
            "engineering-out",
        ),
        // First match: engineering-out comes before block-competitor.
        (
            "out",
            Im,
            "bob@corp.example",
            "x@competitor.example",
            200,
            "engineering-out",
        ),
        (
            "out",
            Im,
            "carol@corp.example",
            "x@competitor.example",
            403,
            "block-competitor",
        ),
        (
            "out",
            Chat,
            "alice@corp.example",
            "x@other.example",
            200,
            "chat-anyone",
        ),
        (
            "out",
            Refer,
            "alice@corp.example",
            "x@partner.example",
            403,
            "default",
        ),
        // A user the directory does not know is in no group.
        (
            "out",
            Im,
            "dave@corp.example",
            "x@partner.example",
            403,
            "default",
        ),
        (
            "in",
            Voice,
            "alice@corp.example",
            "x@partner.example",
            200,
            "in-partner-calls",
        ),
        (
            "in",
            Video,
            "bob@corp.example",
            "x@partner.example",
            200,
            "in-partner-calls",
        ),
        (
            "in",
            Im,
            "alice@corp.example",
            "x@partner.example",
            403,
            "default",
        ),
        (
            "in",
            Chat,
            "alice@corp.example",
            "x@other.example",
            200,
            "chat-anyone",
        ),
        (
            "in",
            Chat,
            "alice@corp.example",
            "x@competitor.example",
            403,
            "block-competitor",
        ),
        // Carol exists but is not exposed to the outside.
        (
            "in",
            Voice,
            "carol@corp.example",
            "x@partner.example",
            404,
            "",
        ),
    ];
    for (direction, kind, local, remote, status, rule) in cases {
        let (chain, from, to) = match direction {
            "out" => (&outbound, local, remote),
            _ => (&inbound, remote, local),
        };
        let response = send(chain, request(kind, from, to)).await;
        let case = format!("{direction} {kind:?} {local} {remote}");
        assert_eq!(response.status(), status, "{case}");
        match status {
            200 => {
                assert_eq!(header(&response, "X-Rule").as_deref(), Some(rule), "{case}");
                let expected = if direction == "out" {
                    "outbound"
                } else {
                    "inbound"
                };
                assert_eq!(header(&response, "X-Direction").as_deref(), Some(expected));
            }
            403 => {
                assert_eq!(response.answered_by, Some(NAME), "{case}");
                let warning = header(&response, "Warning").unwrap_or_default();
                assert_eq!(warning, "399 legate \"not permitted by policy\"", "{case}");
                // The reason names no rule: rule ids are internal.
                assert!(!warning.contains(rule), "{case}");
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_decision_is_attached_with_its_service() {
    let outbound = chain(POLICY, Side::Internal).unwrap();
    let response = send(
        &outbound,
        request(Kind::Presence, "alice@corp.example", "x@partner.example"),
    )
    .await;
    assert_eq!(header(&response, "X-Service").as_deref(), Some("presence"));
    let response = send(
        &outbound,
        request(Kind::Chat, "alice@corp.example", "x@other.example"),
    )
    .await;
    assert_eq!(header(&response, "X-Service").as_deref(), Some("chat"));
}

#[tokio::test]
async fn the_default_decides_when_nothing_matches() {
    let allow = chain("default: allow", Side::External).unwrap();
    let response = send(&allow, request(Kind::Im, "x@any.example", "y@corp.example")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "X-Rule").as_deref(), Some("default"));
    let deny = chain(
        "{ default: deny, rules: [ { id: a, action: allow, remote_domains: [a.example] } ] }",
        Side::External,
    )
    .unwrap();
    let response = send(&deny, request(Kind::Im, "x@b.example", "y@corp.example")).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn rules_are_checked_in_order() {
    let config = r#"
default: allow
rules:
  - { id: deny-first, action: deny, remote_domains: [partner.example], services: [im] }
  - { id: allow-second, action: allow, remote_domains: [partner.example] }
  - { id: deny-third, action: deny }
"#;
    let inbound = chain(config, Side::External).unwrap();
    let im = send(
        &inbound,
        request(Kind::Im, "x@partner.example", "a@corp.example"),
    )
    .await;
    assert_eq!(im.status(), 403);
    let call = send(
        &inbound,
        request(Kind::Voice, "x@partner.example", "a@corp.example"),
    )
    .await;
    assert_eq!(header(&call, "X-Rule").as_deref(), Some("allow-second"));
    let other = send(
        &inbound,
        request(Kind::Voice, "x@other.example", "a@corp.example"),
    )
    .await;
    assert_eq!(other.status(), 403);
}

#[tokio::test]
async fn wildcards_match_subdomains_only() {
    let config = r#"
default: deny
rules: [ { id: partners, action: allow, remote_domains: ["*.partner.example"] } ]
"#;
    let inbound = chain(config, Side::External).unwrap();
    for (domain, status) in [
        ("east.partner.example", 200),
        ("a.b.partner.example", 200),
        ("East.Partner.EXAMPLE", 200),
        ("partner.example", 403),
        ("evilpartner.example", 403),
        ("partner.example.evil", 403),
    ] {
        let from = format!("x@{domain}");
        let response = send(&inbound, request(Kind::Im, &from, "a@corp.example")).await;
        assert_eq!(response.status(), status, "{domain}");
    }
}

/// The parts of a response that do not depend on the request: status, reason, and every
/// header but the copied Via, From, To, Call-ID and CSeq.
fn shape(response: &SipResponse) -> (Option<u16>, Vec<(Bytes, Bytes)>, Bytes) {
    let copied = [
        HeaderKind::Via,
        HeaderKind::From,
        HeaderKind::To,
        HeaderKind::CallId,
        HeaderKind::CSeq,
    ];
    let headers = response
        .message
        .headers
        .iter()
        .filter(|h| !copied.contains(&h.kind))
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    (
        response.message.status(),
        headers,
        response.message.body.clone(),
    )
}

#[tokio::test]
async fn hidden_and_unknown_users_get_identical_answers() {
    let inbound = chain(POLICY, Side::External).unwrap();
    let hidden = send(
        &inbound,
        request(Kind::Voice, "x@partner.example", "carol@corp.example"),
    )
    .await;
    let unknown = send(
        &inbound,
        request(Kind::Voice, "x@partner.example", "zoe@corp.example"),
    )
    .await;
    assert_eq!(hidden.status(), 404);
    assert_eq!(shape(&hidden), shape(&unknown));
    // The whole wire form differs only in the To user (and the fresh To tag of every answer).
    let untagged = |response: &SipResponse| {
        let wire = String::from_utf8_lossy(&response.message.to_bytes()).into_owned();
        let tag = regex::Regex::new(r";tag=[0-9a-f]+").unwrap();
        tag.replace_all(&wire, "").into_owned()
    };
    assert_eq!(
        untagged(&hidden).replace("carol", "zoe"),
        untagged(&unknown)
    );
    assert!(header(&hidden, "Warning").is_none());
    // Exposure is about the outside only: a hidden user may still call out.
    let outbound = chain(POLICY, Side::Internal).unwrap();
    let response = send(
        &outbound,
        request(Kind::Chat, "carol@corp.example", "x@other.example"),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_failing_directory_gets_503_with_retry_after() {
    let config = "{ directory: broken, exposed_groups: [federated], default: allow }";
    let metrics = Metrics::new();
    let inbound = counted_chain(config, Side::External, &metrics);
    let response = send(
        &inbound,
        request(Kind::Im, "x@partner.example", "alice@corp.example"),
    )
    .await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "Retry-After").as_deref(), Some("5"));
    assert_eq!(response.answered_by, Some(NAME));
    assert_eq!(decisions(&metrics, "directory_failure"), 1.0);
}

#[tokio::test]
async fn requests_inside_a_dialog_pass_without_a_new_decision() {
    let inbound = chain(POLICY, Side::External).unwrap();
    let bye = message(
        "BYE sip:alice@corp.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.9:5061;branch=z9hG4bK-2\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:x@competitor.example>;tag=f1\r\n\
         To: <sip:alice@corp.example>;tag=t1\r\n\
         Call-ID: c2@example\r\n\
         CSeq: 2 BYE\r\n\
         Content-Length: 0\r\n\r\n",
    );
    let mut context = Context::new();
    context.insert(DialogInfo {
        id: "c2@example;f1;t1".into(),
        in_dialog: true,
        known_locally: true,
    });
    let response = send_with(&inbound, bye.clone(), context).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "X-Rule"), None);
    // A To tag alone (no dialog the proxy knows of) does not skip the policy.
    let response = send(&inbound, bye).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn the_requests_listener_decides_the_direction() {
    // Built for an internal listener, but the proxy says this request came in externally.
    let chain = chain(POLICY, Side::Internal).unwrap();
    let mut context = Context::new();
    context.insert(listener(Side::External, "127.0.0.1:5080".parse().unwrap()));
    let response = send_with(
        &chain,
        request(Kind::Voice, "x@partner.example", "alice@corp.example"),
        context,
    )
    .await;
    assert_eq!(
        header(&response, "X-Rule").as_deref(),
        Some("in-partner-calls")
    );
}

#[tokio::test]
async fn decisions_are_counted() {
    let metrics = Metrics::new();
    let inbound = counted_chain("default: deny", Side::External, &metrics);
    send(&inbound, request(Kind::Im, "x@a.example", "y@corp.example")).await;
    // A second chain (a later snapshot's) counts on in the same series.
    let allow = counted_chain("default: allow", Side::External, &metrics);
    send(&allow, request(Kind::Im, "x@a.example", "y@corp.example")).await;
    send(&allow, request(Kind::Im, "x@a.example", "y@corp.example")).await;
    assert_eq!(decisions(&metrics, "denied"), 1.0);
    assert_eq!(decisions(&metrics, "allowed"), 2.0);
    assert_eq!(decisions(&metrics, "hidden"), 0.0);
}

fn config_error(config: &str) -> ChainError {
    match chain(config, Side::External) {
        Ok(_) => panic!("config accepted: {config}"),
        Err(error) => error,
    }
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (
            "{ default: deny, rules: [ { id: a, action: allow }, { id: a, action: deny } ] }",
            "[0].config.rules[1].id",
            "duplicate id `a` (first at rules[0])",
        ),
        (
            "{ default: deny, rules: [ { id: '', action: allow } ] }",
            "[0].config.rules[0].id",
            "non-empty id",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow }, { id: b, action: allow, services: [im, fax] } ] }",
            "[0].config.rules[1].services[1]",
            "unknown variant `fax`",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, services: [other] } ] }",
            "[0].config.rules[0].services[0]",
            "unknown variant `other`",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, local_groups: [sales] } ] }",
            "[0].config.rules[0].local_groups",
            "need `directory`",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, remote_domains: [ok.example, 'foo*.example'] } ] }",
            "[0].config.rules[0].remote_domains[1]",
            "not a valid wildcard",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, remote_domains: ['*'] } ] }",
            "[0].config.rules[0].remote_domains[0]",
            "leave `remote_domains` out",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, remote_domains: [] } ] }",
            "[0].config.rules[0].remote_domains",
            "empty list",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, local_users: [alice] } ] }",
            "[0].config.rules[0].local_users[0]",
            "not a `user@domain` address",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, direction: sideways } ] }",
            "[0].config.rules[0].direction",
            "unknown variant `sideways`",
        ),
        (
            "{ default: deny, rules: [ { id: a, action: allow, domains: [x] } ] }",
            "[0].config.rules[0]",
            "unknown field `domains`",
        ),
        (
            "{ directory: ldap, default: deny }",
            "[0].config.directory",
            "no directory named `ldap` (known: broken, corp)",
        ),
        (
            "{ exposed_groups: [federated], default: deny }",
            "[0].config.exposed_groups",
            "needs `directory`",
        ),
        ("{ rules: [] }", "[0].config", "missing field `default`"),
        ("~", "[0].config.default", "needs a config"),
    ];
    for (config, path, message) in cases {
        let error = config_error(config);
        assert_eq!(error.field_path, path, "{config}: {error}");
        assert!(error.message.contains(message), "{config}: {error}");
    }
}

#[test]
fn the_documented_example_builds() {
    let value: serde_yaml::Value = serde_yaml::from_str(DomainPolicyConfig::example()).unwrap();
    let config = DomainPolicyConfig::from_yaml(&value).unwrap();
    assert_eq!(config.rules.len(), 2);
    assert!(chain(DomainPolicyConfig::example(), Side::External).is_ok());
}

#[test]
fn the_filter_is_registered() {
    let registry = crate::builtins();
    let factory = registry.get(NAME).unwrap();
    assert!(factory.safe_for_untrusted());
    assert!(!factory.authenticates_peers());
}
