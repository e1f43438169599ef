use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use legate_audit::{
    verify, AuditLog, AuditRecord, AuditSettings, ChainedRecord, EventKind, Sink, SinkError,
};
use legate_sip::{parse_message, HeaderKind, Limits, Message};

use super::body::BodyCapture;
use super::{AuditFilterConfig, NAME};
use crate::testing::filters_before_terminal;
use legate_filters_api::Authenticated;
use legate_filters_api::{
    call, BoxSipService, BuildContext, ConfigVersion, Context, DialogEnd, DialogHolds, DialogInfo,
    ListenerInfo, Peers, Side, SipRequest, SipResponse, Transport,
};

const PEERS: &str = "
- { name: partner, domains: [partner.example], reach: { address: 192.0.2.1:5061 }, trust_bundle: ca.pem }
- { name: other, domains: [other.example], reach: { address: 192.0.2.2:5061 }, trust_bundle: ca.pem }
";

/// A sink keeping records in memory, switchable down.
#[derive(Default)]
struct Memory {
    records: Mutex<Vec<ChainedRecord>>,
    down: AtomicBool,
}

#[async_trait]
impl Sink for Memory {
    fn name(&self) -> &str {
        "memory"
    }
    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SinkError::Unavailable {
                sink: "memory".into(),
                reason: "down".into(),
            });
        }
        self.records.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
    async fn last(&self, _partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        Ok(None)
    }
}

/// A running log over a memory sink, and what it takes.
struct Fixture {
    log: AuditLog,
    sink: Arc<Memory>,
    _spool: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let spool = tempfile::tempdir().unwrap();
        let sink = Arc::new(Memory::default());
        let log = AuditLog::new(
            AuditSettings::new("test", spool.path()),
            vec![("memory".into(), sink.clone() as Arc<dyn Sink>)],
        );
        log.start().await.unwrap();
        Fixture {
            log,
            sink,
            _spool: spool,
        }
    }

    /// The records taken once `count` have arrived (on tokio's paused clock).
    async fn records(&self, count: usize) -> Vec<AuditRecord> {
        for _ in 0..1000 {
            let records = self.sink.records.lock().unwrap().clone();
            if records.len() >= count {
                assert_eq!(verify("test", &records), Ok(records.len()));
                return records.into_iter().map(|r| r.record).collect();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("fewer than {count} records arrived");
    }

    fn context(&self, side: Side) -> BuildContext {
        let mut resources = http::Extensions::new();
        resources.insert(self.log.clone());
        resources.insert(Peers::new(serde_yaml::from_str(PEERS).unwrap()));
        BuildContext {
            listener: listener(side),
            resources,
            metrics: Default::default(),
        }
    }

    fn chain(&self, side: Side, filters: &[(&str, &str)]) -> BoxSipService {
        self.chain_answering(side, filters, ok)
    }

    fn chain_answering(
        &self,
        side: Side,
        filters: &[(&str, &str)],
        answer: fn(&SipRequest) -> Message,
    ) -> BoxSipService {
        let filters: Vec<(&str, serde_yaml::Value)> = filters
            .iter()
            .map(|(name, config)| (*name, serde_yaml::from_str(config).unwrap()))
            .collect();
        filters_before_terminal(&filters, answer, &self.context(side)).unwrap()
    }
}

fn listener(side: Side) -> ListenerInfo {
    let addr: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    ListenerInfo {
        name: match side {
            Side::Internal => "internal".into(),
            Side::External => "external".into(),
        },
        side,
        transport: Transport::Udp,
        local_addr: addr,
    }
}

/// The far side: 200 with a To tag (so an INVITE or SUBSCRIBE makes a dialog).
fn ok(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    if let Ok(mut to) = response.to_header() {
        to.set_param("tag", Some("far"));
        response.headers.set(HeaderKind::To, to.to_string());
    }
    response
}

fn busy(request: &SipRequest) -> Message {
    Message::response_to(&request.message, 486, "Busy Here")
}

fn request(side: Side, method: &str, from: &str, to: &str, body: &str) -> SipRequest {
    let event = if method == "SUBSCRIBE" {
        "Event: presence\r\n"
    } else {
        ""
    };
    let text = format!(
        "{method} sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-1\r\n\
         From: <sip:{from}>;tag=f1\r\nTo: <sip:{to}>\r\nCall-ID: call-1\r\nCSeq: 1 {method}\r\n\
         {event}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let message = parse_message(Bytes::from(text), &Limits::default()).unwrap();
    let mut context = Context::new();
    context.insert(listener(side));
    context.insert(ConfigVersion(7));
    match side {
        Side::Internal => context.insert(Authenticated::Internal),
        Side::External => {
            let domain = from.rsplit('@').next().unwrap_or_default().to_string();
            let name = domain.trim_end_matches(".example").to_string();
            context.insert(Authenticated::Peer { name, domain })
        }
    };
    SipRequest { message, context }
}

async fn send(chain: &BoxSipService, request: SipRequest) -> SipResponse {
    call(chain, request).await.unwrap()
}

const AUDIT: (&str, &str) = (NAME, "~");

#[tokio::test(start_paused = true)]
async fn a_message_out_is_one_request_record_with_everything_known() {
    let fixture = Fixture::new().await;
    let chain = fixture.chain(Side::Internal, &[AUDIT]);
    let message = request(
        Side::Internal,
        "MESSAGE",
        "alice@acme.example",
        "bob@partner.example",
        "hello",
    );
    let response = send(&chain, message).await;
    assert_eq!(response.status(), 200);

    let record = fixture.records(1).await.remove(0);
    assert_eq!(record.event, EventKind::Request);
    assert_eq!(record.method, "MESSAGE");
    assert_eq!(record.call_id, "call-1");
    assert_eq!(record.local_internal.as_deref(), Some("alice@acme.example"));
    assert_eq!(
        record.local_federated.as_deref(),
        Some("alice@acme.example")
    );
    assert_eq!(record.remote.as_deref(), Some("bob@partner.example"));
    assert_eq!(record.service, "im");
    assert_eq!(record.direction, "outbound");
    assert_eq!(
        record.partner.as_deref(),
        Some("partner"),
        "the owner of the remote domain"
    );
    assert_eq!(record.listener, "internal");
    assert_eq!(record.status, 200);
    assert_eq!(record.config_version, 7);
    assert_eq!((record.decision, record.rule_id), (None, None));
    assert_eq!(record.body, None, "no partner asked for bodies");
    assert_eq!(record.trace_id, None);
    assert!(record.at_micros > 1_600_000_000_000_000);
}

#[tokio::test(start_paused = true)]
async fn a_traced_request_names_its_trace_in_the_record() {
    let fixture = Fixture::new().await;
    let chain = fixture.chain(Side::Internal, &[AUDIT]);
    let mut message = request(
        Side::Internal,
        "MESSAGE",
        "alice@acme.example",
        "bob@partner.example",
        "hello",
    );
    message.context.insert(legate_filters_api::TraceIds {
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        span_id: "00f067aa0ba902b7".into(),
        sampled: false,
    });
    send(&chain, message).await;
    let record = fixture.records(1).await.remove(0);
    assert_eq!(
        record.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736"),
        "named whether or not the trace is sampled"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_starts_a_dialog_whose_hold_writes_the_end() {
    let fixture = Fixture::new().await;
    let chain = fixture.chain(Side::External, &[AUDIT]);
    let invite = request(
        Side::External,
        "INVITE",
        "bob@partner.example",
        "alice@acme.example",
        "",
    );
    let mut response = send(&chain, invite).await;
    let start = fixture.records(1).await.remove(0);
    assert_eq!(start.event, EventKind::DialogStart);
    assert_eq!((start.direction.as_str(), start.status), ("inbound", 200));
    assert_eq!(start.partner.as_deref(), Some("partner"), "from authn");
    assert_eq!(start.local_internal.as_deref(), Some("alice@acme.example"));

    // The proxy keeps the holds until the dialog ends; here the far side hangs up.
    let holds = response.context.remove::<DialogHolds>().unwrap();
    holds.end(&DialogEnd::Request {
        method: "BYE".into(),
        status: 200,
    });
    let end = fixture.records(2).await.remove(1);
    assert_eq!(end.event, EventKind::DialogEnd);
    assert_eq!((end.method.as_str(), end.status), ("BYE", 200));
    assert_eq!(end.call_id, start.call_id);
    assert_eq!(end.remote, start.remote);
}

#[tokio::test(start_paused = true)]
async fn a_subscription_that_expires_ends_with_status_zero() {
    let fixture = Fixture::new().await;
    let chain = fixture.chain(Side::Internal, &[AUDIT]);
    let subscribe = request(
        Side::Internal,
        "SUBSCRIBE",
        "alice@acme.example",
        "bob@partner.example",
        "",
    );
    let mut response = send(&chain, subscribe).await;
    let holds = response.context.remove::<DialogHolds>().unwrap();
    holds.end(&DialogEnd::Expired);
    let records = fixture.records(2).await;
    assert_eq!(records[0].event, EventKind::SubscriptionStart);
    assert_eq!(records[0].service, "presence");
    assert_eq!(records[1].event, EventKind::SubscriptionEnd);
    assert_eq!(
        (records[1].method.as_str(), records[1].status),
        ("SUBSCRIBE", 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_not_answered_with_a_2xx_is_a_request_and_holds_nothing() {
    let fixture = Fixture::new().await;
    let chain = fixture.chain_answering(Side::Internal, &[AUDIT], busy);
    let invite = request(
        Side::Internal,
        "INVITE",
        "alice@acme.example",
        "bob@partner.example",
        "",
    );
    let response = send(&chain, invite).await;
    assert!(response.context.get::<DialogHolds>().is_none());
    let record = fixture.records(1).await.remove(0);
    assert_eq!((record.event, record.status), (EventKind::Request, 486));
}

#[tokio::test(start_paused = true)]
async fn a_refusal_by_policy_after_audit_is_denied_with_the_rule_id() {
    let fixture = Fixture::new().await;
    let policy = "default: allow\nrules:\n  - { id: block-other, action: deny, remote_domains: [other.example] }";
    let chain = fixture.chain(
        Side::Internal,
        &[AUDIT, ("legate.filters.sip.domain_policy", policy)],
    );
    let denied = request(
        Side::Internal,
        "MESSAGE",
        "alice@acme.example",
        "eve@other.example",
        "",
    );
    assert_eq!(send(&chain, denied).await.status(), 403);
    let allowed = request(
        Side::Internal,
        "MESSAGE",
        "alice@acme.example",
        "bob@partner.example",
        "",
    );
    assert_eq!(send(&chain, allowed).await.status(), 200);

    let records = fixture.records(2).await;
    assert_eq!(records[0].event, EventKind::Denied);
    assert_eq!(records[0].status, 403);
    assert_eq!(records[0].decision.as_deref(), Some("deny"));
    assert_eq!(records[0].rule_id.as_deref(), Some("block-other"));
    assert_eq!(records[0].partner.as_deref(), Some("other"));
    assert_eq!(records[1].event, EventKind::Request);
    assert_eq!(
        (
            records[1].decision.as_deref(),
            records[1].rule_id.as_deref()
        ),
        (Some("allow"), None),
        "the default decided"
    );
}

#[tokio::test(start_paused = true)]
async fn both_forms_of_the_local_user_are_recorded_wherever_translation_sits() {
    let fixture = Fixture::new().await;
    let mapping = "address_mapping: [ { internal: corp.internal, external: acme.example } ]";
    let translation = ("legate.filters.sip.translation", mapping);
    for filters in [[AUDIT, translation], [translation, AUDIT]] {
        let out = fixture.chain(Side::Internal, &filters);
        let message = request(
            Side::Internal,
            "MESSAGE",
            "a.smith@corp.internal",
            "bob@partner.example",
            "",
        );
        send(&out, message).await;
        let into = fixture.chain(Side::External, &filters);
        let message = request(
            Side::External,
            "MESSAGE",
            "bob@partner.example",
            "a.smith@acme.example",
            "",
        );
        send(&into, message).await;
    }
    let records = fixture.records(4).await;
    for record in &records {
        assert_eq!(
            record.local_internal.as_deref(),
            Some("a.smith@corp.internal"),
            "{record:?}"
        );
        assert_eq!(
            record.local_federated.as_deref(),
            Some("a.smith@acme.example"),
            "{record:?}"
        );
        assert_eq!(record.remote.as_deref(), Some("bob@partner.example"));
    }
}

#[tokio::test(start_paused = true)]
async fn bodies_are_recorded_redacted_then_capped_only_for_partners_that_ask() {
    let fixture = Fixture::new().await;
    let config = r#"
partners:
  partner: { bodies: { max_bytes: 24, redact: ['\d{4}-\d{4}', 'secret'] } }
"#;
    let chain = fixture.chain(Side::External, &[(NAME, config)]);
    let body = "card 1234-5678, the secret is out, and more";
    send(
        &chain,
        request(
            Side::External,
            "MESSAGE",
            "bob@partner.example",
            "alice@acme.example",
            body,
        ),
    )
    .await;
    send(
        &chain,
        request(
            Side::External,
            "MESSAGE",
            "carl@other.example",
            "alice@acme.example",
            body,
        ),
    )
    .await;
    let records = fixture.records(2).await;
    assert_eq!(
        records[0].body.as_deref(),
        Some("card [redacted], the [re"),
        "redacted first, then cut to 24 bytes"
    );
    assert_eq!(records[1].body, None, "`other` did not ask for bodies");
}

#[test]
fn the_cap_never_splits_a_character() {
    let capture = BodyCapture::new(5, Vec::new());
    assert_eq!(capture.capture("ééé".as_bytes()).as_deref(), Some("éé"));
    assert_eq!(capture.capture(b""), None);
}

#[tokio::test(start_paused = true)]
async fn closed_mode_refuses_with_503_until_the_record_can_be_made_durable() {
    let fixture = Fixture::new().await;
    /// Requests that reached the far side in this test.
    static REACHED: AtomicUsize = AtomicUsize::new(0);
    fn counted(request: &SipRequest) -> Message {
        REACHED.fetch_add(1, Ordering::SeqCst);
        ok(request)
    }
    let config = "fail_mode: open\npartners: { partner: { fail_mode: closed } }";
    let chain = fixture.chain_answering(Side::External, &[(NAME, config)], counted);
    let from_partner = || {
        request(
            Side::External,
            "MESSAGE",
            "bob@partner.example",
            "alice@acme.example",
            "",
        )
    };

    // Durable: the attempt is recorded before the request goes on, then the outcome.
    assert_eq!(send(&chain, from_partner()).await.status(), 200);
    let records = fixture.records(2).await;
    assert_eq!(
        (records[0].event, records[0].status),
        (EventKind::Request, 0)
    );
    assert_eq!(
        (records[1].event, records[1].status),
        (EventKind::Request, 200)
    );

    fixture.sink.down.store(true, Ordering::SeqCst);
    let before = REACHED.load(Ordering::SeqCst);
    for _ in 0..2 {
        let refused = send(&chain, from_partner()).await;
        assert_eq!(refused.status(), 503);
        assert_eq!(refused.answered_by, Some(NAME));
        let retry = refused.message.headers.first(HeaderKind::RetryAfter);
        assert_eq!(retry.map(|v| v.as_ref()), Some(&b"5"[..]));
    }
    assert_eq!(
        REACHED.load(Ordering::SeqCst),
        before,
        "nothing crossed unrecorded"
    );
    assert_eq!(fixture.log.health().refusals, 2);

    // Another partner is in open mode: its requests go on, their records wait in the spool.
    let open = request(
        Side::External,
        "MESSAGE",
        "carl@other.example",
        "alice@acme.example",
        "",
    );
    assert_eq!(send(&chain, open).await.status(), 200);

    fixture.sink.down.store(false, Ordering::SeqCst);
    let records = fixture.records(6).await;
    let arrived: Vec<(u16, Option<&str>)> = records[2..]
        .iter()
        .map(|r| (r.status, r.partner.as_deref()))
        .collect();
    assert_eq!(
        arrived,
        [
            (0, Some("partner")),
            (503, Some("partner")),
            (503, Some("partner")),
            (200, Some("other")),
        ],
        "the refused attempt, both refusals and the open-mode record arrive once the sink is back"
    );
}

#[tokio::test(start_paused = true)]
async fn requests_inside_a_dialog_are_not_recorded_on_their_own() {
    let fixture = Fixture::new().await;
    let chain = fixture.chain(Side::Internal, &[AUDIT]);
    let mut bye = request(
        Side::Internal,
        "BYE",
        "alice@acme.example",
        "bob@partner.example",
        "",
    );
    bye.message
        .headers
        .set(HeaderKind::To, "<sip:bob@partner.example>;tag=far");
    bye.context.insert(DialogInfo {
        id: "d".into(),
        in_dialog: true,
        known_locally: true,
    });
    send(&chain, bye).await;
    let message = request(
        Side::Internal,
        "MESSAGE",
        "alice@acme.example",
        "bob@partner.example",
        "",
    );
    send(&chain, message).await;
    let records = fixture.records(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(fixture.sink.records.lock().unwrap().len(), 1);
    assert_eq!(records[0].method, "MESSAGE");
}

#[tokio::test(start_paused = true)]
async fn config_errors_name_the_field() {
    let fixture = Fixture::new().await;
    let build = |config: &str, context: &BuildContext| {
        let config = serde_yaml::from_str(config).unwrap();
        filters_before_terminal(&[(NAME, config)], ok, context).err()
    };
    let context = fixture.context(Side::Internal);

    let unknown = build("partners: { nobody: {} }", &context).unwrap();
    assert_eq!(unknown.field_path, "[0].config.partners.nobody");
    assert!(
        unknown.message.contains("no peer named `nobody`"),
        "{unknown}"
    );

    let regex = build(
        "partners: { partner: { bodies: { redact: ['('] } } }",
        &context,
    )
    .unwrap();
    assert_eq!(
        regex.field_path,
        "[0].config.partners.partner.bodies.redact[0]"
    );

    let mode = build("fail_mode: shut", &context).unwrap();
    assert_eq!(mode.field_path, "[0].config.fail_mode", "{mode}");

    let mut without_log = context.clone();
    without_log.resources.remove::<AuditLog>();
    let missing = build("~", &without_log).unwrap();
    assert!(
        missing.message.contains("top-level `audit` section"),
        "{missing}"
    );
}

#[test]
fn the_documented_example_parses_and_compiles() {
    let config = serde_yaml::from_str(AuditFilterConfig::example()).unwrap();
    let parsed = AuditFilterConfig::from_yaml(&config).unwrap();
    let peers = Peers::new(serde_yaml::from_str(PEERS).unwrap());
    let compiled = parsed.compile(&peers).unwrap();
    assert_eq!(
        compiled.policy_for(Some("partner")).fail_mode,
        super::FailMode::Closed
    );
    assert_eq!(
        compiled.policy_for(Some("other")).fail_mode,
        super::FailMode::Open
    );
}
