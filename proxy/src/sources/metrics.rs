//! The edge's series on `/metrics`: what was dropped, refused and banned, and what the external
//! sources hold.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

pub struct EdgeMetrics {
    /// `legate_edge_messages_dropped_total{reason="rate|banned"}`
    pub messages_dropped: IntCounterVec,
    /// `legate_edge_bans_total`
    pub bans: IntCounter,
    /// `legate_edge_sources_banned`
    pub sources_banned: IntGauge,
    /// `legate_edge_sources_tracked`
    pub sources_tracked: IntGauge,
    /// `legate_edge_transactions_refused_total{limit="per_source|total"}`
    pub transactions_refused: IntCounterVec,
    /// `legate_edge_transactions_active`
    pub transactions_active: IntGauge,
    /// `legate_edge_connections_refused_total{limit="per_source|total|banned"}`
    pub connections_refused: IntCounterVec,
    /// `legate_edge_connections_active`
    pub connections_active: IntGauge,
    /// `legate_edge_answers_dropped_total`
    pub answers_dropped: IntCounter,
    /// `legate_edge_stream_deadlines_missed_total{phase="header|body"}`
    pub deadlines_missed: IntCounterVec,
    /// `legate_edge_accept_errors_total`
    pub accept_errors: IntCounter,
}

impl EdgeMetrics {
    /// The series, registered in `registry` (the admin API's).
    pub fn new(registry: &Registry) -> EdgeMetrics {
        let metrics = EdgeMetrics::unregistered();
        let collectors: [Box<dyn prometheus::core::Collector>; 11] = [
            Box::new(metrics.messages_dropped.clone()),
            Box::new(metrics.bans.clone()),
            Box::new(metrics.sources_banned.clone()),
            Box::new(metrics.sources_tracked.clone()),
            Box::new(metrics.transactions_refused.clone()),
            Box::new(metrics.transactions_active.clone()),
            Box::new(metrics.connections_refused.clone()),
            Box::new(metrics.connections_active.clone()),
            Box::new(metrics.answers_dropped.clone()),
            Box::new(metrics.deadlines_missed.clone()),
            Box::new(metrics.accept_errors.clone()),
        ];
        for collector in collectors {
            if let Err(error) = registry.register(collector) {
                tracing::warn!(%error, "an edge metric is not exported");
            }
        }
        // Every reason is there from the start, so a rate over it has a series to work on.
        for reason in ["rate", "banned"] {
            metrics.messages_dropped.with_label_values(&[reason]);
        }
        metrics
    }

    fn unregistered() -> EdgeMetrics {
        EdgeMetrics {
            messages_dropped: counter_vec(
                "legate_edge_messages_dropped_total",
                "Messages from external sources dropped unread, by reason (rate, banned)",
                "reason",
            ),
            bans: counter(
                "legate_edge_bans_total",
                "External sources banned for sending far over their request rate",
            ),
            sources_banned: gauge(
                "legate_edge_sources_banned",
                "External sources banned now",
            ),
            sources_tracked: gauge(
                "legate_edge_sources_tracked",
                "External source addresses Legate keeps limits for",
            ),
            transactions_refused: counter_vec(
                "legate_edge_transactions_refused_total",
                "Requests from external sources refused for a transaction limit (per_source, total)",
                "limit",
            ),
            transactions_active: gauge(
                "legate_edge_transactions_active",
                "Server transactions alive for external sources",
            ),
            connections_refused: counter_vec(
                "legate_edge_connections_refused_total",
                "Connections to external listeners closed at accept, by limit (per_source, total, banned)",
                "limit",
            ),
            connections_active: gauge(
                "legate_edge_connections_active",
                "Connections open on external listeners",
            ),
            answers_dropped: counter(
                "legate_edge_answers_dropped_total",
                "UDP answers not sent because they would amplify what the source sent",
            ),
            deadlines_missed: counter_vec(
                "legate_edge_stream_deadlines_missed_total",
                "Connections closed because a message did not arrive in time, by phase (header, body)",
                "phase",
            ),
            accept_errors: counter(
                "legate_edge_accept_errors_total",
                "Failed accepts on stream listeners (descriptors exhausted, say)",
            ),
        }
    }
}

// The definitions are constants of this file: creating them cannot fail at run time, which
// the unit tests prove by constructing them.
fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).unwrap_or_else(|_| unreachable_definition())
}

fn counter_vec(name: &str, help: &str, label: &str) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), &[label]).unwrap_or_else(|_| unreachable_definition())
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).unwrap_or_else(|_| unreachable_definition())
}

#[cold]
fn unreachable_definition() -> ! {
    unreachable!("edge metric definitions are valid")
}
