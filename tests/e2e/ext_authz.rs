//! External authorization end to end: a running Legate asks a real HTTP decision service
//! (`tests/ext_authz/decision_server.py`) about every MESSAGE. Allowed messages reach the
//! upstream with the header the service added, denied ones get the service's status and reason
//! and never reach it, and a stopped service gets each listener's `failure_mode`.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use legate_e2e::authz::DecisionServer;
use legate_e2e::config::config_head;
use legate_e2e::tls::Ca;
use legate_e2e::upstream::{final_response, AcceptingUpstream};
use legate_e2e::{free_port, Legate};
use serde_json::Value;

/// Internal listener: `failure_mode: deny`; external listener: `failure_mode: allow`. Both
/// route everything to `upstream`. `authz` holds the service's config lines (`url`, `tls_ca`).
fn config(admin: u16, internal: u16, external: u16, upstream: u16, authz: &str) -> String {
    let filter = |failure_mode: &str| {
        format!(
            "      - name: legate.filters.sip.ext_authz
        config:
          {authz}
          timeout: 2s
          failure_mode: {failure_mode}
          include_headers: [Subject]
          include_body: {{ max_bytes: 1024 }}
          methods: [MESSAGE]
"
        )
    };
    format!(
        "{head}
listeners:
  - name: internal
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
{deny}      - name: legate.filters.sip.router
  - name: external
    address: \"127.0.0.1:{external}\"
    transport: udp
    side: external
    filters:
{allow}      - name: legate.filters.sip.router
routes:
  - {{ name: anywhere, match: {{ domain: \"*\" }}, cluster: up }}
clusters:
  - {{ name: up, transport: udp, endpoints: [\"127.0.0.1:{upstream}\"] }}
",
        head = config_head(admin),
        deny = filter("deny"),
        allow = filter("allow"),
    )
}

fn message(from: &str, to: &str, call_id: &str) -> String {
    let body = "the quarterly figures";
    format!(
        "MESSAGE sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from}>;tag=f-{call_id}\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 MESSAGE\r\n\
         Subject: Figures\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn reached(upstream: &AcceptingUpstream, call_id: &str) -> Option<String> {
    upstream
        .drain()
        .into_iter()
        .find(|request| header(request, "Call-ID") == Some(call_id))
}

struct Setup {
    legate: Legate,
    upstream: AcceptingUpstream,
    internal: u16,
    external: u16,
}

fn start(authz: &str) -> Setup {
    let (internal, external, admin) = (free_port(), free_port(), free_port());
    let upstream = AcceptingUpstream::start();
    let legate = Legate::start(
        &config(admin, internal, external, upstream.port, authz),
        admin,
    );
    Setup {
        legate,
        upstream,
        internal,
        external,
    }
}

#[test]
fn the_decision_service_allows_changes_and_denies_and_its_absence_follows_failure_mode() {
    let mut service = DecisionServer::start();
    let s = start(&format!("url: \"http://127.0.0.1:{}/check\"", service.port));

    // Allowed: reaches the upstream with the header the service asked for.
    let answer = final_response(
        s.internal,
        &message("alice@acme.example", "bob@partner.example", "authz-1"),
    );
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let forwarded = reached(&s.upstream, "authz-1").expect("the allowed MESSAGE is upstream");
    assert_eq!(header(&forwarded, "X-Compliance"), Some("checked"));

    // What the service was asked.
    let checks = service.checks();
    assert_eq!(checks.len(), 1, "{checks:?}");
    let check: Value = serde_json::from_str(&checks[0]).unwrap();
    assert_eq!(check["version"], 1);
    assert_eq!(check["method"], "MESSAGE");
    assert_eq!(check["request_uri"], "sip:bob@partner.example");
    assert_eq!(check["call_id"], "authz-1");
    assert_eq!(check["from"], "sip:alice@acme.example");
    assert_eq!(check["to"], "sip:bob@partner.example");
    assert_eq!(check["service"], "im");
    assert_eq!(check["direction"], "outbound");
    assert_eq!(check["listener"], "internal");
    assert!(check["source"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(check["partner"], Value::Null);
    assert_eq!(check["identity"], Value::Null);
    assert_eq!(check["policy"], Value::Null);
    assert_eq!(check["headers"]["Subject"][0], "Figures");
    assert_eq!(check["body"], "the quarterly figures");
    assert_eq!(check["body_truncated"], false);

    // Denied: the service's status and (sanitised) reason, and nothing upstream.
    let answer = final_response(
        s.internal,
        &message("alice@acme.example", "blocked@partner.example", "authz-2"),
    );
    assert!(
        answer.starts_with("SIP/2.0 403 Blocked by compliance archive required\r\n"),
        "{answer}"
    );
    assert_eq!(
        header(&answer, "Warning"),
        Some("399 legate \"Blocked by compliance archive required\"")
    );
    assert!(reached(&s.upstream, "authz-2").is_none());

    // The service stops: `deny` answers 503 with Retry-After and forwards nothing; `allow`
    // forwards unchecked (so without the service's header).
    service.stop();
    let answer = final_response(
        s.internal,
        &message("alice@acme.example", "bob@partner.example", "authz-3"),
    );
    assert!(answer.starts_with("SIP/2.0 503 "), "{answer}");
    assert!(header(&answer, "Retry-After").is_some(), "{answer}");
    assert!(
        header(&answer, "Warning").is_some_and(|w| w.contains("authorization service")),
        "{answer}"
    );
    assert!(reached(&s.upstream, "authz-3").is_none());

    let answer = final_response(
        s.external,
        &message("bob@partner.example", "alice@acme.example", "authz-4"),
    );
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let forwarded = reached(&s.upstream, "authz-4").expect("failure_mode allow forwards");
    assert_eq!(header(&forwarded, "X-Compliance"), None);

    // Outcomes on /metrics.
    let metric = |result: &str| {
        s.legate
            .metric(&format!("legate_ext_authz_total{{result=\"{result}\"}}"))
    };
    assert_eq!(metric("allow"), Some(1.0));
    assert_eq!(metric("deny"), Some(1.0));
    assert_eq!(metric("error"), Some(2.0));
}

#[test]
fn an_https_decision_service_is_trusted_through_tls_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "authz");
    let certificate = ca.server("authz");
    let service = DecisionServer::start_tls(&certificate.certificate, &certificate.private_key);
    let s = start(&format!(
        "url: \"https://127.0.0.1:{}/check\"\n          tls_ca: \"{}\"",
        service.port,
        ca.pem.display()
    ));
    let answer = final_response(
        s.internal,
        &message("alice@acme.example", "bob@partner.example", "authz-tls"),
    );
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let forwarded = reached(&s.upstream, "authz-tls").expect("the allowed MESSAGE is upstream");
    assert_eq!(header(&forwarded, "X-Compliance"), Some("checked"));
    assert_eq!(service.checks().len(), 1);
}
