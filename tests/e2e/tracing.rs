//! Traces in a running Legate, received by a real OTLP receiver on 127.0.0.1: a MESSAGE's trace
//! (transaction, filters, upstream attempt), a denial explained and linked to its audit record,
//! a call and a subscription each one trace across a restart, W3C trace context joined inside
//! and stripped at the edge, and a collector that is down or slow costing spans, not traffic.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::path::Path;
use std::time::Duration;

use legate_audit::ChainedRecord;
use legate_e2e::config::{proxy_config, udp_cluster, with_internal_filters, Ports};
use legate_e2e::otlp::{Behaviour, OtlpReceiver, ReceivedSpan};
use legate_e2e::tls::Ca;
use legate_e2e::upstream::AcceptingUpstream;
use legate_e2e::{
    assert_sipp_success, free_port, play, sipp_client, udp_exchange, wait_until, Legate, SippServer,
};

const WAIT: Duration = Duration::from_secs(15);
const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The default config with authn, a policy denying `blocked.example` and audit (to stdout) on
/// the internal listener, and traces exported to `endpoint` over `protocol`.
fn traced_config(p: &Ports, cluster: &str, endpoint: &str, protocol: &str, spool: &Path) -> String {
    let base = proxy_config(p, cluster, "", "");
    let filters = "      - name: legate.filters.sip.authn
        config: { local_domains: [local.example], trusted_sources: [127.0.0.0/8] }
      - name: legate.filters.sip.audit
      - name: legate.filters.sip.domain_policy
        config:
          default: allow
          rules:
            - { id: no-blocked, action: deny, remote_domains: [blocked.example] }
";
    let chain = with_internal_filters(&base, filters);
    format!(
        "{chain}audit:\n  partition: e2e\n  spool_dir: \"{}\"\n  sinks:\n    - {{ name: log, stdout: {{}} }}\n\
         telemetry:\n  otlp: {{ endpoint: \"{endpoint}\", protocol: {protocol}, timeout: 1s }}\n  \
         addresses: plain\n",
        spool.display()
    )
}

/// A test's gateway: its ports, the receiver its traces go to, its audit spool, its config
/// (the default cluster on `p.peer`), for traces over `protocol`.
struct Setup {
    p: Ports,
    receiver: OtlpReceiver,
    _spool: tempfile::TempDir,
    config: String,
}

impl Setup {
    fn new(protocol: &str) -> Setup {
        Setup::with_cluster(protocol, |p| udp_cluster(&[p.peer]))
    }

    fn with_cluster(protocol: &str, cluster: impl FnOnce(&Ports) -> String) -> Setup {
        let p = Ports::pick();
        let receiver = OtlpReceiver::start();
        let spool = tempfile::tempdir().unwrap();
        let endpoint = match protocol {
            "grpc" => receiver.grpc_endpoint(),
            _ => receiver.http_endpoint(),
        };
        let config = traced_config(&p, &cluster(&p), &endpoint, protocol, spool.path());
        Setup {
            p,
            receiver,
            _spool: spool,
            config,
        }
    }

    fn start(&self) -> Legate {
        Legate::start_with_env(&self.config, self.p.admin, &FAST_EXPORT)
    }
}

fn message(to: &str, call: &str, extra: &str) -> String {
    format!(
        "MESSAGE sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=1\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    )
}

/// Spans short of `batch` and a second to spare: exports happen every 100 ms.
const FAST_EXPORT: [(&str, &str); 1] = [("OTEL_BSP_SCHEDULE_DELAY", "100")];

fn of_trace<'a>(spans: &'a [ReceivedSpan], trace: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|s| s.trace_id == trace).collect()
}

fn server_span<'a>(spans: &'a [ReceivedSpan], method: &str) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .find(|s| s.kind == SERVER && s.attribute("sip.method") == Some(method))
}

#[test]
fn a_message_is_one_trace_of_its_transaction_its_filters_and_its_upstream_attempt() {
    let setup = Setup::new("grpc");
    let (p, receiver) = (&setup.p, &setup.receiver);
    let _legate = setup.start();
    play(p, "uas_message.xml", "uac_message.xml", 1, &[]);

    let spans = receiver.wait_for(WAIT, |spans| {
        server_span(spans, "MESSAGE").is_some_and(|server| {
            let children = spans
                .iter()
                .filter(|s| s.parent_span_id == server.span_id)
                .count();
            children >= 6
        })
    });
    let server = server_span(&spans, "MESSAGE").unwrap();
    assert_eq!(server.name, "SIP MESSAGE");
    assert_eq!(server.service_name, "legate");
    assert_eq!(
        server.parent_span_id, "",
        "a trace Legate starts: {server:#?}"
    );
    for (key, value) in [
        ("sip.status_code", "200"),
        ("legate.listener", "internal"),
        ("legate.side", "internal"),
        ("legate.service", "im"),
        ("legate.policy.decision", "allow"),
        ("legate.policy.rule_id", "default"),
        ("legate.config.version", "1"),
        ("network.transport", "udp"),
        ("network.peer.address", "127.0.0.1"),
        ("sip.from", "alice@local.example"),
        ("sip.to", "bob@remote.example"),
    ] {
        assert_eq!(server.attribute(key), Some(value), "{key} in {server:#?}");
    }
    assert!(server.attribute("sip.call_id").is_some());
    let children: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.parent_span_id == server.span_id)
        .collect();
    assert!(children.iter().all(|c| c.trace_id == server.trace_id));
    let verdict = |filter: &str| {
        children
            .iter()
            .find(|c| c.attribute("legate.filter") == Some(filter))
            .and_then(|c| c.attribute("legate.filter.verdict"))
            .map(str::to_string)
    };
    assert_eq!(
        verdict("legate.filters.sip.authn").as_deref(),
        Some("passed")
    );
    assert_eq!(
        verdict("legate.filters.sip.audit").as_deref(),
        Some("passed")
    );
    assert_eq!(
        verdict("legate.filters.sip.domain_policy").as_deref(),
        Some("passed")
    );
    assert_eq!(
        verdict("legate.filters.sip.header_mutation").as_deref(),
        Some("changed"),
        "it adds X-Legate-Side"
    );
    assert_eq!(
        verdict("legate.filters.sip.router").as_deref(),
        Some("forwarded")
    );
    let attempt = children.iter().find(|c| c.kind == CLIENT).unwrap();
    assert_eq!(attempt.attribute("sip.status_code"), Some("200"));
    assert_eq!(
        attempt.attribute("server.port"),
        Some(p.peer.to_string().as_str())
    );
    assert_eq!(
        attempt.attribute("legate.upstream"),
        Some("cluster remote-peer")
    );
    assert_eq!(attempt.attribute("network.transport"), Some("udp"));
}

#[test]
fn a_denial_is_explained_in_its_filter_span_and_its_audit_record_names_the_trace() {
    let setup = Setup::new("http/protobuf");
    let (p, receiver) = (&setup.p, &setup.receiver);
    let legate = setup.start();
    let answer = udp_exchange(
        &p.internal_target(),
        message("mallory@blocked.example", "denied-1", "").as_bytes(),
    )
    .unwrap();
    assert!(answer.starts_with("SIP/2.0 403 "), "{answer}");

    let spans = receiver.wait_for(WAIT, |spans| server_span(spans, "MESSAGE").is_some());
    let server = server_span(&spans, "MESSAGE").unwrap();
    assert_eq!(server.attribute("sip.status_code"), Some("403"));
    assert_eq!(server.attribute("legate.policy.decision"), Some("deny"));
    assert_eq!(
        server.attribute("legate.policy.rule_id"),
        Some("no-blocked")
    );
    let spans = receiver.wait_for(WAIT, |spans| {
        spans
            .iter()
            .any(|s| s.attribute("legate.filter") == Some("legate.filters.sip.domain_policy"))
    });
    let policy = spans
        .iter()
        .find(|s| s.attribute("legate.filter") == Some("legate.filters.sip.domain_policy"))
        .unwrap();
    for (key, value) in [
        ("legate.filter.verdict", "refused"),
        ("sip.status_code", "403"),
        ("legate.policy.rule_id", "no-blocked"),
        ("legate.policy.input.remote_domain", "blocked.example"),
        ("legate.policy.input.service", "im"),
        ("legate.policy.input.direction", "outbound"),
    ] {
        assert_eq!(policy.attribute(key), Some(value), "{key} in {policy:#?}");
    }
    assert!(
        !spans
            .iter()
            .any(|s| s.attribute("legate.filter") == Some("legate.filters.sip.router")),
        "nothing after the refusing filter ran"
    );

    let lines = legate.stdout().wait_for(1);
    let record: ChainedRecord = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(record.record.rule_id.as_deref(), Some("no-blocked"));
    assert_eq!(
        record.record.trace_id.as_deref(),
        Some(server.trace_id.as_str()),
        "the audit record leads to the trace"
    );
}

#[test]
fn a_call_and_a_subscription_are_each_one_trace_across_a_restart() {
    let mut setup = Setup::new("grpc");
    // One worker: a subscription's 200 (handed to the worker that holds the SUBSCRIBE) then
    // never trails its first NOTIFY, which the watcher's scenario expects in that order (RFC
    // 6665 lets them cross; sipp's scenario does not).
    setup.config = setup
        .config
        .replacen("proxy:\n", "proxy:\n  worker_threads: 1\n", 1);
    let (p, receiver) = (setup.p, &setup.receiver);
    // Each dialog's first transactions go through one Legate, the rest through a restarted one.
    for (uas, uac, before, methods) in [
        (
            "uas_invite.xml",
            "uac_invite.xml",
            vec!["INVITE"],
            vec!["INVITE", "BYE"],
        ),
        (
            "uas_subscribe.xml",
            "uac_subscribe_paused.xml",
            vec!["SUBSCRIBE", "NOTIFY"],
            vec!["SUBSCRIBE", "NOTIFY"],
        ),
    ] {
        let legate = setup.start();
        let peer = SippServer::start(uas, p.peer, "u1", 1);
        let target = p.internal_target();
        let client = std::thread::spawn(move || {
            sipp_client(uac, &target, p.client, "u1", 1, &["-d", "4000"])
        });
        // Restart once the dialog is up and its first transactions exported.
        let first = receiver.wait_for(WAIT, |spans| {
            before.iter().all(|m| server_span(spans, m).is_some())
        });
        let trace = server_span(&first, methods[0]).unwrap().trace_id.clone();
        drop(legate);
        let _restarted = setup.start();
        assert_sipp_success(&client.join().unwrap(), uac);
        assert!(peer.wait_success(WAIT), "{uas} did not complete");

        let spans = receiver.wait_for(WAIT, |spans| {
            let in_trace = of_trace(spans, &trace);
            let count = |method: &str| {
                in_trace
                    .iter()
                    .filter(|s| s.kind == SERVER && s.attribute("sip.method") == Some(method))
                    .count()
            };
            // A subscription: SUBSCRIBE and its refresh to end it, NOTIFY and the final one.
            let wanted = if methods[0] == "SUBSCRIBE" { 2 } else { 1 };
            methods.iter().all(|m| count(m) >= wanted)
        });
        let methods_seen: Vec<&str> = of_trace(&spans, &trace)
            .iter()
            .filter(|s| s.kind == SERVER)
            .filter_map(|s| s.attribute("sip.method"))
            .collect();
        for method in &methods {
            assert!(
                methods_seen.contains(method),
                "{method} in the dialog's trace: {methods_seen:?}"
            );
        }
    }
}

#[test]
fn trace_context_is_joined_inside_and_stripped_at_the_edge() {
    let upstream = AcceptingUpstream::start();
    let inside = AcceptingUpstream::start();
    let mut setup = Setup::with_cluster("grpc", |_| udp_cluster(&[upstream.port]));
    setup.config = setup
        .config
        .replace(
            "clusters:\n",
            "  - name: from-partners\n    match: { domain: local.example, side: external }\n    \
         cluster: inside\nclusters:\n  - name: inside\n    transport: udp\n    \
         endpoints: [\"127.0.0.1:INSIDE\"]\n",
        )
        .replace("INSIDE", &inside.port.to_string());
    let (p, receiver) = (&setup.p, &setup.receiver);
    let _legate = setup.start();
    let traceparent = format!("traceparent: 00-{CALLER_TRACE}-{CALLER_SPAN}-01\r\n");

    // Inside: the caller's trace is joined; the request leaves toward a partner (by the external
    // listener) with no trace context at all.
    let answer = udp_exchange(
        &p.internal_target(),
        message("bob@remote.example", "joined-1", &traceparent).as_bytes(),
    )
    .unwrap();
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let to_partner = upstream.received.recv_timeout(WAIT).unwrap();
    assert!(!to_partner.contains("traceparent"), "{to_partner}");
    assert!(!to_partner.contains(CALLER_TRACE), "{to_partner}");
    let spans = receiver.wait_for(WAIT, |spans| {
        of_trace(spans, CALLER_TRACE)
            .iter()
            .any(|s| s.kind == SERVER)
    });
    let server = server_span(&spans, "MESSAGE").unwrap();
    assert_eq!(server.trace_id, CALLER_TRACE);
    assert_eq!(server.parent_span_id, CALLER_SPAN);

    // From a partner: its context is dropped; the trace is Legate's own, and what goes inside
    // names Legate's trace, not the partner's.
    let from_partner = format!(
        "MESSAGE sip:carol@local.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-stripped-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:dave@partner.example>;tag=1\r\n\
         To: <sip:carol@local.example>\r\n\
         Call-ID: stripped-1@partner.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         {traceparent}tracestate: partner=secret\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let answer = udp_exchange(
        &format!("127.0.0.1:{}", p.external),
        from_partner.as_bytes(),
    )
    .unwrap();
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let inside_got = inside.received.recv_timeout(WAIT).unwrap();
    assert!(!inside_got.contains(CALLER_TRACE), "{inside_got}");
    assert!(!inside_got.contains("partner=secret"), "{inside_got}");
    assert!(inside_got.contains("traceparent: 00-"), "{inside_got}");
    let spans = receiver.wait_for(WAIT, |spans| {
        spans.iter().any(|s| {
            s.kind == CLIENT
                && spans.iter().any(|server| {
                    server.span_id == s.parent_span_id
                        && server.attribute("legate.side") == Some("external")
                })
        })
    });
    let edge = spans
        .iter()
        .find(|s| s.kind == SERVER && s.attribute("legate.side") == Some("external"))
        .unwrap();
    assert_ne!(edge.trace_id, CALLER_TRACE);
    assert_eq!(edge.parent_span_id, "");
    // Inside, the next hop's parent is Legate's attempt.
    let attempt = spans
        .iter()
        .find(|s| s.kind == CLIENT && s.parent_span_id == edge.span_id)
        .unwrap();
    let passed_on = format!("traceparent: 00-{}-{}-01", edge.trace_id, attempt.span_id);
    assert!(
        inside_got.contains(&passed_on),
        "{passed_on} in {inside_got}"
    );
}

#[test]
fn a_collector_that_is_down_or_slow_costs_spans_never_traffic() {
    let p = Ports::pick();
    let spool = tempfile::tempdir().unwrap();
    let env = [
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8"),
    ];
    let dropped = |legate: &Legate| {
        ["queue_full", "export_failed", "export_timeout"]
            .iter()
            .filter_map(|reason| {
                legate.metric(&format!(
                    "legate_telemetry_spans_dropped_total{{reason=\"{reason}\"}}"
                ))
            })
            .sum::<f64>()
    };

    // 200 calls at 200/s through a Legate exporting to `collector`: every call succeeds
    // (`play` asserts it) and spans are dropped.
    let traffic_through = |collector: &str| {
        let config = traced_config(&p, &udp_cluster(&[p.peer]), collector, "grpc", spool.path());
        let legate = Legate::start_with_env(&config, p.admin, &env);
        play(
            &p,
            "uas_message.xml",
            "uac_message.xml",
            200,
            &["-r", "200"],
        );
        wait_until("a dropped span counted", WAIT, || dropped(&legate) > 0.0);
        legate
    };

    // Down: nothing listens where the collector should be.
    drop(traffic_through(&format!(
        "http://127.0.0.1:{}",
        free_port()
    )));

    // Slow: the receiver takes 3 s per export, longer than the 1 s export timeout.
    let receiver = OtlpReceiver::start();
    receiver.set_behaviour(Behaviour::Slow(Duration::from_secs(3)));
    let legate = traffic_through(&receiver.grpc_endpoint());
    assert!(receiver.exports() > 0, "the slow collector was tried");

    // Refusing: every export is answered UNAVAILABLE.
    receiver.set_behaviour(Behaviour::Refuse);
    let failed = || {
        legate
            .metric("legate_telemetry_spans_dropped_total{reason=\"export_failed\"}")
            .unwrap_or(0.0)
    };
    let before = failed();
    play(&p, "uas_message.xml", "uac_message.xml", 20, &[]);
    wait_until("a failed export counted", WAIT, || failed() > before);
}

#[test]
fn an_https_collector_is_trusted_through_the_configured_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "otlp");
    let receiver = OtlpReceiver::start_https(&ca.server("collector"));
    let p = Ports::pick();
    let config = traced_config(
        &p,
        &udp_cluster(&[p.peer]),
        &receiver.https_endpoint(),
        "http/protobuf",
        dir.path(),
    );
    // Trusting the collector's CA, spans arrive.
    let trusting = config.replace(
        "timeout: 1s }",
        &format!("timeout: 1s, ca: \"{}\" }}", ca.pem.display()),
    );
    let legate = Legate::start_with_env(&trusting, p.admin, &FAST_EXPORT);
    play(&p, "uas_message.xml", "uac_message.xml", 1, &[]);
    receiver.wait_for(WAIT, |spans| server_span(spans, "MESSAGE").is_some());
    drop(legate);

    // Trusting only the system's roots, the collector's certificate is refused: spans are
    // dropped, calls still succeed.
    let before = receiver.spans().len();
    let legate = Legate::start_with_env(&config, p.admin, &FAST_EXPORT);
    play(&p, "uas_message.xml", "uac_message.xml", 1, &[]);
    wait_until("a span dropped for a failed export", WAIT, || {
        legate
            .metric("legate_telemetry_spans_dropped_total{reason=\"export_failed\"}")
            .unwrap_or(0.0)
            > 0.0
    });
    assert_eq!(receiver.spans().len(), before);
}
