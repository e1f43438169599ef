//! The filter through Legate's filter API only, in the harness the API exports: a chain of
//! this filter before a stand-in for the router that answers what reached it, built as Legate
//! builds a listener's chain.

use std::sync::Arc;

use bytes::Bytes;
use legate_filters_api::testing::Harness;
use legate_filters_api::{ChainError, Context, FilterFactory, Side, SipRequest, SipResponse};
use legate_sip::{parse_message, Limits, Message};

use super::{DlpFactory, NAME};

/// Answers 200 carrying the body and the DLP tag it received.
fn upstream(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    for header in request.message.headers.by_name("X-Legate-DLP") {
        response.headers.push(header.clone());
    }
    response.body = request.message.body.clone();
    response
}

fn harness() -> Harness {
    Harness::new(Side::Internal)
        .register(Arc::new(DlpFactory))
        .unwrap()
        .answering(upstream)
}

const RULES: &str = r#"
rules:
  - { id: card-number, pattern: '\b\d{4}([ -]?\d{4}){3}\b' }
  - { id: project-falcon, pattern: '(?i)project\s+falcon' }
"#;

fn chain(config: &str) -> Result<legate_filters_api::BoxSipService, ChainError> {
    harness().chain(&[(NAME, config)])
}

fn request(method: &str, extra_headers: &str, body: &str) -> SipRequest {
    let text = format!(
        "{method} sip:bob@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=a1\r\n\
         To: <sip:bob@remote.example>\r\n\
         Call-ID: c1@local.example\r\n\
         CSeq: 1 {method}\r\n\
         Content-Type: text/plain\r\n\
         {extra_headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    SipRequest {
        message: parse_message(Bytes::from(text), &Limits::default()).unwrap(),
        context: Context::new(),
    }
}

async fn run(config: &str, request: SipRequest) -> SipResponse {
    harness().run(&chain(config).unwrap(), request).await
}

fn header(response: &SipResponse, name: &str) -> Option<String> {
    let header = response.message.headers.by_name(name).next()?;
    Some(String::from_utf8_lossy(&header.value).into_owned())
}

fn config_error(config: &str) -> ChainError {
    match chain(config) {
        Ok(_) => panic!("the config is accepted: {config}"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn a_forbidden_keyword_is_refused_naming_the_rule_not_the_text() {
    let response = run(
        RULES,
        request("MESSAGE", "", "the Project  Falcon numbers are in"),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(response.answered_by, Some(NAME));
    let refusal = response.refusal.as_ref().unwrap();
    assert_eq!(refusal.rule_id.as_deref(), Some("project-falcon"));
    let reason = response.message.to_bytes();
    let reason = String::from_utf8_lossy(&reason);
    assert!(
        reason.starts_with("SIP/2.0 403 content not permitted\r\n"),
        "{reason}"
    );
    let warning = header(&response, "Warning").unwrap();
    assert_eq!(
        warning,
        "399 legate \"content not permitted (rule project-falcon)\""
    );
    assert!(
        !reason.to_lowercase().contains("falcon numbers"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_first_matching_rule_in_config_order_names_the_refusal() {
    let body = "project falcon, card 4111 1111 1111 1111";
    let response = run(RULES, request("MESSAGE", "", body)).await;
    let warning = header(&response, "Warning").unwrap();
    assert!(warning.contains("rule card-number"), "{warning}");
}

#[tokio::test]
async fn a_clean_message_passes_unchanged() {
    let response = run(RULES, request("MESSAGE", "", "lunch at noon?")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.message.body, "lunch at noon?");
    assert_eq!(header(&response, "X-Legate-DLP"), None);
}

#[tokio::test]
async fn info_is_searched_only_when_configured() {
    let body = "project falcon";
    let response = run(RULES, request("INFO", "", body)).await;
    assert_eq!(response.status(), 200);
    let with_info = format!("{RULES}methods: [MESSAGE, INFO]\n");
    let response = run(&with_info, request("INFO", "", body)).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn tag_passes_the_request_with_the_matching_rule_ids() {
    let config = format!("{RULES}action: tag\n");
    let body = "project falcon: 4111-1111-1111-1111";
    let forged = "X-Legate-DLP: none\r\n";
    let response = run(&config, request("MESSAGE", forged, body)).await;
    assert_eq!(response.status(), 200);
    let tags: Vec<_> = response.message.headers.by_name("X-Legate-DLP").collect();
    assert_eq!(tags.len(), 1, "the sender's own tag is removed");
    assert_eq!(tags[0].value, "card-number, project-falcon");

    let response = run(&config, request("MESSAGE", forged, "hello")).await;
    assert_eq!(header(&response, "X-Legate-DLP"), None);
}

#[tokio::test]
async fn an_encoded_body_cannot_pass_unread() {
    let response = run(
        RULES,
        request("MESSAGE", "Content-Encoding: gzip\r\n", "\u{1f}compressed"),
    )
    .await;
    assert_eq!(response.status(), 403);
    let warning = header(&response, "Warning").unwrap();
    assert!(warning.contains("rule encoded-body"), "{warning}");
    let identity = request("MESSAGE", "e: identity\r\n", "hello");
    assert_eq!(run(RULES, identity).await.status(), 200);
}

#[tokio::test]
async fn the_disclaimer_is_appended_to_plain_text_messages() {
    let config = "disclaimer: \"[This conversation is archived]\"";
    let response = run(config, request("MESSAGE", "", "hello")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.message.body,
        "hello\r\n[This conversation is archived]"
    );
    let response = run(config, request("INFO", "", "hello")).await;
    assert_eq!(response.message.body, "hello");
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        ("", "[0].config"),
        ("rules: []", "[0].config.rules"),
        (
            "rules: [ { id: a, pattern: '(' } ]",
            "[0].config.rules[0].pattern",
        ),
        (
            "rules: [ { id: a, pattern: 'x*' } ]",
            "[0].config.rules[0].pattern",
        ),
        (
            "rules: [ { id: 'a b', pattern: x } ]",
            "[0].config.rules[0].id",
        ),
        (
            "rules: [ { id: a, pattern: x }, { id: a, pattern: y } ]",
            "[0].config.rules[1].id",
        ),
        (
            "rules: [ { id: encoded-body, pattern: x } ]",
            "[0].config.rules[0].id",
        ),
        (
            "{ rules: [ { id: a, pattern: x } ], methods: [INVITE] }",
            "[0].config.methods[0]",
        ),
        (
            "{ rules: [ { id: a, pattern: x } ], methods: [] }",
            "[0].config.methods",
        ),
        (
            "{ rules: [ { id: a, pattern: x } ], tag_header: Via }",
            "[0].config.tag_header",
        ),
        ("disclaimer: ' '", "[0].config.disclaimer"),
    ];
    for (config, path) in cases {
        assert_eq!(config_error(config).field_path, path, "{config}");
    }
    let error = config_error("{ rules: [ { id: a, pattern: x } ], action: drop }");
    assert!(
        error.message.contains("unknown variant `drop`"),
        "{}",
        error.message
    );
    let error = config_error("{ rules: [ { id: a, pattern: x, flags: i } ] }");
    assert!(
        error.message.contains("unknown field `flags`"),
        "{}",
        error.message
    );
}

#[test]
fn declares_what_legate_filters_shows() {
    let factory = DlpFactory;
    assert_eq!(factory.name(), "example.filters.sip.dlp");
    assert!(factory.safe_for_untrusted());
    assert!(!factory.authenticates_peers());
    assert_eq!(
        factory.status(),
        legate_filters_api::FilterStatus::Experimental
    );
}

#[tokio::test]
async fn matches_are_counted_by_rule() {
    let harness = harness();
    let chain = harness.chain(&[(NAME, RULES)]).unwrap();
    let body = "card 4111 1111 1111 1111";
    harness.run(&chain, request("MESSAGE", "", body)).await;
    let families = harness.context().metrics.gather();
    let family = families
        .iter()
        .find(|family| family.get_name() == "example_dlp_matches_total")
        .unwrap();
    let metric = &family.get_metric()[0];
    assert_eq!(metric.get_label()[0].get_value(), "card-number");
    assert_eq!(metric.get_counter().get_value(), 1.0);
}
