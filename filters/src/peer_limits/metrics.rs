//! What `/metrics` shows of each partner: the dialogs it holds and its refusals by limit, plus
//! the refusals for rate across partners. Series are resolved once per build; every limit's
//! refusal series is there from the first build, at zero.

use legate_filters_api::metrics::{IntCounter, IntGauge};
use legate_filters_api::{Metrics, MetricsError};

use super::limit::Limit;

/// One partner's series.
pub(crate) struct PartnerMetrics {
    /// `legate_peer_sessions_active{peer}`, set to what the partner holds after every change.
    pub sessions: IntGauge,
    /// `legate_peer_subscriptions_active{peer}`, likewise.
    pub subscriptions: IntGauge,
    /// `legate_peer_limit_refusals_total{peer,limit}`, indexed like [`Limit::ALL`].
    refusals: [IntCounter; Limit::ALL.len()],
    /// `legate_peer_rate_limited_total`, shared by every partner.
    rate_limited: IntCounter,
}

impl PartnerMetrics {
    pub(crate) fn register(metrics: &Metrics, peer: &str) -> Result<PartnerMetrics, MetricsError> {
        let refusals = metrics.counter_vec(
            "legate_peer_limit_refusals_total",
            "Requests refused by peer_limits, by federation partner and limit",
            &["peer", "limit"],
        )?;
        let sessions = metrics.gauge_vec(
            "legate_peer_sessions_active",
            "IM sessions (INVITE dialogs) each federation partner holds open",
            &["peer"],
        )?;
        let subscriptions = metrics.gauge_vec(
            "legate_peer_subscriptions_active",
            "Subscriptions (SUBSCRIBE dialogs) each federation partner holds open",
            &["peer"],
        )?;
        Ok(PartnerMetrics {
            sessions: sessions.with_label_values(&[peer]),
            subscriptions: subscriptions.with_label_values(&[peer]),
            refusals: Limit::ALL.map(|limit| refusals.with_label_values(&[peer, limit.label()])),
            rate_limited: metrics.counter(
                "legate_peer_rate_limited_total",
                "Requests refused because their federation partner was over its request rate",
            )?,
        })
    }

    pub(crate) fn refused(&self, limit: Limit) {
        self.refusals[limit as usize].inc();
        if limit == Limit::RequestsPerSecond {
            self.rate_limited.inc();
        }
    }
}
