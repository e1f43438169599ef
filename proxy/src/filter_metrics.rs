//! Exports the counters the built-in filters keep (policy decisions, authn refusals, partners
//! over their limits, the dialogs each partner holds, external authorization outcomes) as
//! Prometheus series on the admin API's `/metrics`, read at scrape time.

use legate_filters::authn::refusal_counts;
use legate_filters::domain_policy::decision_counts;
use legate_filters::ext_authz::authz_counts;
use legate_filters::peer_limits::{partner_usage, rate_limited_count};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Opts};

pub struct FilterCounters {
    policy: IntCounterVec,
    authn: IntCounterVec,
    rate_limited: IntCounter,
    limit_refusals: IntCounterVec,
    sessions: IntGaugeVec,
    subscriptions: IntGaugeVec,
    ext_authz: IntCounterVec,
}

impl FilterCounters {
    pub fn new() -> Result<FilterCounters, prometheus::Error> {
        Ok(FilterCounters {
            policy: IntCounterVec::new(
                Opts::new(
                    "legate_policy_decisions_total",
                    "Requests decided by domain_policy, by decision",
                ),
                &["decision"],
            )?,
            authn: IntCounterVec::new(
                Opts::new(
                    "legate_authn_refusals_total",
                    "Requests refused by authn, by reason",
                ),
                &["reason"],
            )?,
            rate_limited: IntCounter::new(
                "legate_peer_rate_limited_total",
                "Requests refused because their federation partner was over its request rate",
            )?,
            limit_refusals: IntCounterVec::new(
                Opts::new(
                    "legate_peer_limit_refusals_total",
                    "Requests refused by peer_limits, by federation partner and limit",
                ),
                &["peer", "limit"],
            )?,
            sessions: IntGaugeVec::new(
                Opts::new(
                    "legate_peer_sessions_active",
                    "IM sessions (INVITE dialogs) each federation partner holds open",
                ),
                &["peer"],
            )?,
            subscriptions: IntGaugeVec::new(
                Opts::new(
                    "legate_peer_subscriptions_active",
                    "Subscriptions (SUBSCRIBE dialogs) each federation partner holds open",
                ),
                &["peer"],
            )?,
            ext_authz: IntCounterVec::new(
                Opts::new(
                    "legate_ext_authz_total",
                    "Checks by the external authorization service, by result \
                     (error: no usable answer, whatever failure_mode then did)",
                ),
                &["result"],
            )?,
        })
    }

    fn set(vec: &IntCounterVec, labels: &[&str], value: u64) {
        let counter = vec.with_label_values(labels);
        counter.reset();
        counter.inc_by(value);
    }
}

impl Collector for FilterCounters {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs = self.policy.desc();
        descs.extend(self.authn.desc());
        descs.extend(self.rate_limited.desc());
        descs.extend(self.limit_refusals.desc());
        descs.extend(self.sessions.desc());
        descs.extend(self.subscriptions.desc());
        descs.extend(self.ext_authz.desc());
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let policy = decision_counts();
        for (label, value) in [
            ("allowed", policy.allowed),
            ("denied", policy.denied),
            ("hidden", policy.hidden),
            ("directory_failure", policy.directory_failures),
        ] {
            FilterCounters::set(&self.policy, &[label], value);
        }
        let authn = refusal_counts();
        for (label, value) in [
            ("no_certificate", authn.no_certificate),
            ("unreadable_from", authn.unreadable_from),
            ("not_partner", authn.not_partner),
            ("certificate_mismatch", authn.certificate_mismatch),
            ("identity_not_owned", authn.identity_not_owned),
            ("not_addressed_here", authn.not_addressed_here),
            ("source_not_trusted", authn.source_not_trusted),
        ] {
            FilterCounters::set(&self.authn, &[label], value);
        }
        self.rate_limited.reset();
        self.rate_limited.inc_by(rate_limited_count());
        for partner in partner_usage() {
            let peer = partner.peer.as_str();
            for (limit, value) in partner.refusals {
                FilterCounters::set(&self.limit_refusals, &[peer, limit], value);
            }
            self.sessions
                .with_label_values(&[peer])
                .set(i64::from(partner.sessions));
            self.subscriptions
                .with_label_values(&[peer])
                .set(i64::from(partner.subscriptions));
        }
        let authz = authz_counts();
        for (label, value) in [
            ("allow", authz.allowed),
            ("deny", authz.denied),
            ("error", authz.errors),
        ] {
            FilterCounters::set(&self.ext_authz, &[label], value);
        }
        let mut families = self.policy.collect();
        families.extend(self.authn.collect());
        families.extend(self.rate_limited.collect());
        families.extend(self.limit_refusals.collect());
        families.extend(self.sessions.collect());
        families.extend(self.subscriptions.collect());
        families.extend(self.ext_authz.collect());
        families
    }
}

/// The metrics filters registered through the filter API ([`legate_filters_api::Metrics`]),
/// served beside the proxy's own. Filters register theirs while snapshots build, after this is
/// registered, so it declares no descriptors up front and collects whatever is there.
pub struct FilterApiMetrics(pub legate_filters_api::Metrics);

impl Collector for FilterApiMetrics {
    fn desc(&self) -> Vec<&Desc> {
        Vec::new()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0.gather()
    }
}
