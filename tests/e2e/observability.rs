//! Metrics a platform team can use: `/metrics` after traffic of every kind passes `promtool
//! check metrics`, the Grafana dashboard and the alert rules of `examples/observability` query
//! only metric names Legate really exposes, the alert rules pass `promtool check rules` and
//! their unit tests, and a real Prometheus scrapes Legate.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use legate_e2e::config::{proxy_config, with_internal_filters, Ports};
use legate_e2e::otlp::OtlpReceiver;
use legate_e2e::prometheus::{promtool, Prometheus};
use legate_e2e::tls::Ca;
use legate_e2e::upstream::AcceptingUpstream;
use legate_e2e::{free_port, play, udp_exchange, wait_until, workspace, Legate};

fn observability() -> PathBuf {
    workspace().join("examples/observability")
}

/// Internal UDP and external TCP listeners; authn, audit and a policy on the inside; a cluster
/// with health checks besides the one routed to; a partner reached over TLS (whose address answers nothing); audit and
/// traces exported.
fn gateway_config(p: &Ports, ca: &Ca, checked: u16, collector: &str, spool: &str) -> String {
    let own = ca.domain("local.example");
    let cluster = format!(
        "    transport: udp\n    endpoints: [\"127.0.0.1:{}\"]\n",
        p.peer
    );
    // A cluster no route uses, whose endpoint answers health checks.
    let checked = format!(
        "  - name: checked\n    transport: udp\n    endpoints: [\"127.0.0.1:{checked}\"]\n    \
         health_check: {{ interval: 300ms, timeout: 200ms }}\n"
    );
    let routes =
        "  - { name: to-acme, match: { domain: acme.example, side: internal }, peer: acme }\n";
    let base = proxy_config(p, &cluster, routes, &checked).replacen(
        &format!(
            "    address: \"127.0.0.1:{}\"\n    transport: udp",
            p.external
        ),
        &format!(
            "    address: \"127.0.0.1:{}\"\n    transport: tcp",
            p.external
        ),
        1,
    );
    let filters = "      - name: legate.filters.sip.authn
        config: { local_domains: [local.example], trusted_sources: [127.0.0.0/8] }
      - name: legate.filters.sip.audit
      - name: legate.filters.sip.domain_policy
        config:
          default: allow
          rules:
            - { id: no-blocked, action: deny, remote_domains: [blocked.example] }
            - { id: no-acme-presence, action: deny, remote_domains: [acme.example], services: [presence] }
";
    let base = with_internal_filters(&base, filters);
    format!(
        "{base}peers:\n  - {{ name: acme, domains: [acme.example], reach: {{ address: \"127.0.0.1:{closed}\" }}, \
         trust_bundle: \"{trust_bundle}\", client_certificate: {{ certificate: \"{certificate}\", \
         private_key: \"{key}\" }} }}\n\
         audit:\n  partition: e2e\n  spool_dir: \"{spool}\"\n  sinks:\n    - {{ name: log, stdout: {{}} }}\n\
         telemetry:\n  otlp: {{ endpoint: \"{collector}\" }}\n",
        closed = free_port(),
        trust_bundle = ca.pem.display(),
        certificate = own.certificate.display(),
        key = own.private_key.display(),
    )
}

fn request(method: &str, to: &str, call: &str, extra: &str) -> String {
    format!(
        "{method} sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=1\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 {method}\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    )
}

/// Every metric family `/metrics` exposes, by name.
fn exposed(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect()
}

/// The `legate_…` metric names a PromQL text queries (a histogram's `_bucket`, `_sum` and
/// `_count` series name the histogram).
fn queried(promql: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = promql;
    while let Some(start) = rest.find("legate_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.insert(base.to_string());
        rest = &tail[end..];
    }
    names
}

/// Runs traffic of every kind through a gateway and returns its `/metrics`.
fn metrics_after_traffic() -> (String, Legate, Ports) {
    let p = Ports::pick();
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "acme");
    let receiver = OtlpReceiver::start();
    let checked = AcceptingUpstream::start();
    let config = gateway_config(
        &p,
        &ca,
        checked.port,
        &receiver.grpc_endpoint(),
        &dir.path().join("spool").display().to_string(),
    );
    let legate = Legate::start_with_env(&config, p.admin, &[("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    // Allowed to the cluster; refused by policy; to the partner (unreachable: 503); refused
    // for the partner (presence to acme); rejected by the proxy (no hops left).
    play(&p, "uas_message.xml", "uac_message.xml", 2, &[]);
    for (method, to, call, extra) in [
        ("MESSAGE", "mallory@blocked.example", "obs-1", ""),
        ("MESSAGE", "bob@acme.example", "obs-2", ""),
        (
            "SUBSCRIBE",
            "bob@acme.example",
            "obs-3",
            "Event: presence\r\nExpires: 60\r\n",
        ),
    ] {
        let target = p.internal_target();
        udp_exchange(&target, request(method, to, call, extra).as_bytes()).expect("an answer");
    }
    let no_hops_left = request("OPTIONS", "bob@remote.example", "obs-4", "")
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    let answer = udp_exchange(&p.internal_target(), no_hops_left.as_bytes()).unwrap();
    assert!(answer.starts_with("SIP/2.0 483 "), "{answer}");
    // An open connection on the TCP listener, and the spans on their way out.
    let connection = TcpStream::connect(("127.0.0.1", p.external)).unwrap();
    let wait = |name: &str| {
        wait_until(&format!("{name} above 0"), Duration::from_secs(15), || {
            legate.metric(name).is_some_and(|v| v != 0.0)
        })
    };
    wait("legate_listener_connections_active");
    wait("legate_telemetry_spans_exported_total");
    wait("legate_partner_refusals_total");
    wait("legate_cluster_endpoint_healthy");
    let (_, metrics) = legate.admin_get("/metrics").unwrap();
    drop(connection);
    (metrics, legate, p)
}

#[test]
fn metrics_pass_promtool_and_the_dashboard_and_alerts_query_only_real_names() {
    let (metrics, legate, _) = metrics_after_traffic();
    let check = promtool(&["check", "metrics"], &observability(), &metrics);
    assert!(
        check.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let exposed = exposed(&metrics);
    for (family, needed) in [
        ("build info", "legate_build_info"),
        (
            "every request, ACKs too",
            "legate_sip_requests_received_total",
        ),
        ("per-filter latency", "legate_filter_duration_seconds"),
        ("per-partner requests", "legate_partner_requests_total"),
        ("per-partner refusals", "legate_partner_refusals_total"),
        (
            "connections by listener",
            "legate_listener_connections_active",
        ),
        ("spans exported", "legate_telemetry_spans_exported_total"),
    ] {
        assert!(
            exposed.contains(needed),
            "{family}: {needed} in {exposed:#?}"
        );
    }
    assert!(metrics.contains("legate_build_info{commit="), "{metrics}");
    assert!(
        metrics.contains(
            "legate_partner_refusals_total{direction=\"outbound\",filter=\"legate.filters.sip.domain_policy\",partner=\"acme\",rule=\"no-acme-presence\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("legate_partner_requests_total{direction=\"outbound\",partner=\"acme\"} 1"),
        "{metrics}"
    );

    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(observability().join("grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut dashboard_names = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            dashboard_names.extend(queried(target["expr"].as_str().unwrap()));
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(query) = variable["query"].as_str() {
            dashboard_names.extend(queried(query));
        }
    }
    assert!(dashboard_names.len() >= 15, "{dashboard_names:?}");
    let unknown: Vec<_> = dashboard_names.difference(&exposed).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard queries {unknown:?}, which /metrics lacks"
    );

    let alerts = std::fs::read_to_string(observability().join("alerts.yml")).unwrap();
    let unknown: Vec<_> = queried(&alerts)
        .into_iter()
        .filter(|name| !exposed.contains(name))
        .collect();
    assert!(
        unknown.is_empty(),
        "the alerts query {unknown:?}, which /metrics lacks"
    );
    drop(legate);
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        let output = promtool(&args, &observability(), "");
        assert!(
            output.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_real_prometheus_scrapes_legate() {
    let (_, legate, p) = metrics_after_traffic();
    let prometheus = Prometheus::scraping(p.admin);
    assert_eq!(prometheus.wait_value("up{job=\"legate\"}"), 1.0);
    assert_eq!(prometheus.wait_value("legate_build_info"), 1.0);
    assert!(
        prometheus.wait_value("sum(legate_sip_requests_received_total{method=\"MESSAGE\"})") >= 3.0
    );
    assert!(
        prometheus.wait_value(
            "sum(legate_filter_duration_seconds_count{filter=\"legate.filters.sip.domain_policy\"})"
        ) >= 3.0
    );
    drop(legate);
}
