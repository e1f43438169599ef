//! [`Metrics`]: every Prometheus series the proxy exports, in one registry.
//!
//! The proxy's layers call the recording methods on the hot path; `/metrics` calls
//! [`Metrics::render`]. Each method names the series it feeds, so a dashboard query can be
//! traced back to the call that counts it.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::labels;

/// Transaction durations span a local answer (well under a millisecond) to timer B/F
/// expiry (64 × T1 = 32s with the default T1).
const TRANSACTION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 32.0,
];

/// The proxy's metrics, registered in a private registry (not the process-global one, so
/// tests and several proxies in one process do not share counts).
pub struct Metrics {
    registry: Registry,
    requests_received: IntCounterVec,
    responses_sent: IntCounterVec,
    upstream_responses: IntCounterVec,
    messages_rejected: IntCounterVec,
    refusals: IntCounterVec,
    transaction_duration: HistogramVec,
    transactions_active: IntGauge,
    dialogs_active: IntGauge,
    endpoint_healthy: IntGaugeVec,
    spans_exported: IntCounter,
    spans_dropped: IntCounterVec,
    partner_requests: IntCounterVec,
    partner_refusals: IntCounterVec,
    connections_active: IntGaugeVec,
}

impl Metrics {
    /// Creates and registers every series.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        Metrics {
            requests_received: counter(
                &registry,
                "legate_sip_requests_received_total",
                "SIP requests received, by listener and method.",
                &["listener", "method"],
            ),
            responses_sent: counter(
                &registry,
                "legate_sip_responses_sent_total",
                "SIP responses sent downstream, by listener, request method and status.",
                &["listener", "method", "status"],
            ),
            upstream_responses: counter(
                &registry,
                "legate_sip_upstream_responses_total",
                "SIP responses received from cluster endpoints, by cluster, method and status.",
                &["cluster", "method", "status"],
            ),
            messages_rejected: counter(
                &registry,
                "legate_sip_messages_rejected_total",
                "Messages refused before routing (parse errors, loops, limits), by listener and reason.",
                &["listener", "reason"],
            ),
            refusals: counter(
                &registry,
                "legate_filter_refusals_total",
                "Requests refused by a filter (built-in or a vendor's), by listener and filter.",
                &["listener", "filter"],
            ),
            transaction_duration: histogram(
                &registry,
                "legate_sip_transaction_duration_seconds",
                "Time from a transaction's request to its final response, by method.",
                &["method"],
            ),
            transactions_active: gauge(
                &registry,
                "legate_sip_transactions_active",
                "SIP transactions in progress.",
            ),
            dialogs_active: gauge(
                &registry,
                "legate_sip_dialogs_active",
                "SIP dialogs currently known to this proxy.",
            ),
            endpoint_healthy: gauge_vec(
                &registry,
                "legate_cluster_endpoint_healthy",
                "1 when a cluster endpoint passes its health checks, 0 when it does not.",
                &["cluster", "endpoint"],
            ),
            spans_exported: plain_counter(
                &registry,
                "legate_telemetry_spans_exported_total",
                "Trace spans the OTLP collector accepted.",
            ),
            spans_dropped: counter(
                &registry,
                "legate_telemetry_spans_dropped_total",
                "Trace spans dropped, by reason: queue_full (the collector keeps up too slowly), \
                 export_failed (refused or unreachable), export_timeout.",
                &["reason"],
            ),
            partner_requests: counter(
                &registry,
                "legate_partner_requests_total",
                "Requests exchanged with a federation partner: inbound once the partner is \
                 authenticated, outbound when routed to it.",
                &["partner", "direction"],
            ),
            partner_refusals: counter(
                &registry,
                "legate_partner_refusals_total",
                "Requests from or to a federation partner refused by a filter, by the filter and \
                 the rule (or limit) that decided.",
                &["partner", "direction", "filter", "rule"],
            ),
            connections_active: gauge_vec(
                &registry,
                "legate_listener_connections_active",
                "TCP and TLS connections open on a listener.",
                &["listener"],
            ),
            registry,
        }
        .with_initial_series()
    }

    /// The series whose labels are known in advance: `legate_build_info{version, commit} 1`
    /// (which build runs where), and every drop reason at 0, so that a rate over them has
    /// something to work on.
    fn with_initial_series(self) -> Metrics {
        for reason in ["queue_full", "export_failed", "export_timeout"] {
            self.spans_dropped.with_label_values(&[reason]);
        }
        let info = gauge_vec(
            &self.registry,
            "legate_build_info",
            "Always 1; the labels name the running build.",
            &["version", "commit"],
        );
        info.with_label_values(&[env!("CARGO_PKG_VERSION"), env!("LEGATE_COMMIT")])
            .set(1);
        self
    }

    /// Counts a request exchanged with `partner`: `legate_partner_requests_total`.
    pub fn partner_request(&self, partner: &str, direction: &'static str) {
        self.partner_requests
            .with_label_values(&[partner, direction])
            .inc();
    }

    /// Counts a refusal of a request from or to `partner`: `legate_partner_refusals_total`.
    pub fn partner_refusal(
        &self,
        partner: &str,
        direction: &'static str,
        filter: &str,
        rule: &str,
    ) {
        self.partner_refusals
            .with_label_values(&[partner, direction, filter, rule])
            .inc();
    }

    /// The open-connections gauge of `listener`: `legate_listener_connections_active`.
    pub fn listener_connections(&self, listener: &str) -> IntGauge {
        self.connections_active.with_label_values(&[listener])
    }

    /// Counts spans the collector accepted: `legate_telemetry_spans_exported_total`.
    pub fn spans_exported(&self, count: u64) {
        self.spans_exported.inc_by(count);
    }

    /// Counts spans dropped for `reason`: `legate_telemetry_spans_dropped_total`.
    pub fn spans_dropped(&self, reason: &'static str, count: u64) {
        self.spans_dropped
            .with_label_values(&[reason])
            .inc_by(count);
    }

    /// Counts a request on `listener` refused by `filter`: `legate_filter_refusals_total`.
    pub fn request_refused(&self, listener: &str, filter: &str) {
        self.refusals.with_label_values(&[listener, filter]).inc();
    }

    /// Counts a request arriving on `listener`: `legate_sip_requests_received_total`.
    pub fn request_received(&self, listener: &str, method: &str) {
        self.requests_received
            .with_label_values(&[listener, labels::method(method)])
            .inc();
    }

    /// Counts a response sent downstream on `listener` for a request of `method`:
    /// `legate_sip_responses_sent_total`.
    pub fn response_sent(&self, listener: &str, method: &str, status: u16) {
        let mut buf = [0; 3];
        self.responses_sent
            .with_label_values(&[
                listener,
                labels::method(method),
                labels::status(status, &mut buf),
            ])
            .inc();
    }

    /// Counts a response received from an endpoint of `cluster`:
    /// `legate_sip_upstream_responses_total`.
    pub fn response_received(&self, cluster: &str, method: &str, status: u16) {
        let mut buf = [0; 3];
        self.upstream_responses
            .with_label_values(&[
                cluster,
                labels::method(method),
                labels::status(status, &mut buf),
            ])
            .inc();
    }

    /// Counts a message refused before routing: `legate_sip_messages_rejected_total`.
    /// `reason` is a fixed word chosen by the caller (`parse_error`, `loop_detected`, ...).
    pub fn message_rejected(&self, listener: &str, reason: &'static str) {
        self.messages_rejected
            .with_label_values(&[listener, reason])
            .inc();
    }

    /// Records a finished transaction's duration: `legate_sip_transaction_duration_seconds`.
    pub fn transaction_finished(&self, method: &str, elapsed: Duration) {
        self.transaction_duration
            .with_label_values(&[labels::method(method)])
            .observe(elapsed.as_secs_f64());
    }

    /// The `legate_sip_transactions_active` gauge; increment when a transaction starts and
    /// decrement when it ends. Clones share the same value.
    pub fn transactions_active(&self) -> IntGauge {
        self.transactions_active.clone()
    }

    /// The `legate_sip_dialogs_active` gauge; clones share the same value.
    pub fn dialogs_active(&self) -> IntGauge {
        self.dialogs_active.clone()
    }

    /// Sets `legate_cluster_endpoint_healthy` for one endpoint to 1 or 0.
    pub fn endpoint_health(&self, cluster: &str, endpoint: &str, healthy: bool) {
        self.endpoint_healthy
            .with_label_values(&[cluster, endpoint])
            .set(i64::from(healthy));
    }

    /// The registry behind these metrics, for components that export series of their own.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every series in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            // A scrape with what could be encoded is more useful than none.
            tracing::warn!(%error, "cannot encode some metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

// The definitions below are constants of this file, and each name is registered once in a
// fresh registry, so creation and registration cannot fail at run time; the unit tests
// construct `Metrics` to prove it.

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric =
        IntCounterVec::new(Opts::new(name, help), labels).expect("counter definitions are valid");
    register(registry, Box::new(metric.clone()));
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(TRANSACTION_BUCKETS.to_vec());
    let metric = HistogramVec::new(opts, labels).expect("histogram definitions are valid");
    register(registry, Box::new(metric.clone()));
    metric
}

fn plain_counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).expect("counter definitions are valid");
    register(registry, Box::new(metric.clone()));
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("gauge definitions are valid");
    register(registry, Box::new(metric.clone()));
    metric
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric =
        IntGaugeVec::new(Opts::new(name, help), labels).expect("gauge definitions are valid");
    register(registry, Box::new(metric.clone()));
    metric
}

fn register(registry: &Registry, collector: Box<dyn prometheus::core::Collector>) {
    registry
        .register(collector)
        .expect("each metric name is registered once");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_renders_with_its_labels() {
        let metrics = Metrics::new();
        metrics.request_received("internal", "MESSAGE");
        metrics.request_received("internal", "MESSAGE");
        metrics.response_sent("internal", "MESSAGE", 200);
        metrics.response_received("remote-peer", "MESSAGE", 202);
        metrics.message_rejected("external", "parse_error");
        metrics.transaction_finished("MESSAGE", Duration::from_millis(3));
        metrics.transactions_active().inc();
        metrics.dialogs_active().set(4);
        metrics.endpoint_health("remote-peer", "127.0.0.1:5070", true);
        metrics.endpoint_health("remote-peer", "127.0.0.1:5071", false);

        let text = metrics.render();
        for line in [
            "legate_sip_requests_received_total{listener=\"internal\",method=\"MESSAGE\"} 2",
            "legate_sip_responses_sent_total{listener=\"internal\",method=\"MESSAGE\",status=\"200\"} 1",
            "legate_sip_upstream_responses_total{cluster=\"remote-peer\",method=\"MESSAGE\",status=\"202\"} 1",
            "legate_sip_messages_rejected_total{listener=\"external\",reason=\"parse_error\"} 1",
            "legate_sip_transaction_duration_seconds_count{method=\"MESSAGE\"} 1",
            "legate_sip_transaction_duration_seconds_bucket{method=\"MESSAGE\",le=\"0.005\"} 1",
            "legate_sip_transactions_active 1",
            "legate_sip_dialogs_active 4",
            "legate_cluster_endpoint_healthy{cluster=\"remote-peer\",endpoint=\"127.0.0.1:5070\"} 1",
            "legate_cluster_endpoint_healthy{cluster=\"remote-peer\",endpoint=\"127.0.0.1:5071\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
        }
    }

    #[test]
    fn unknown_methods_share_one_series() {
        let metrics = Metrics::new();
        for i in 0..100 {
            metrics.request_received("external", &format!("X{i}"));
        }
        let text = metrics.render();
        assert!(text.contains(
            "legate_sip_requests_received_total{listener=\"external\",method=\"other\"} 100"
        ));
    }

    #[test]
    fn gauges_handed_out_share_the_value() {
        let metrics = Metrics::new();
        let a = metrics.transactions_active();
        let b = metrics.transactions_active();
        a.inc();
        b.inc();
        a.dec();
        assert_eq!(metrics.transactions_active().get(), 1);
    }
}
