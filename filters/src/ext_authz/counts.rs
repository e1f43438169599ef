//! Check outcomes, as `legate_ext_authz_total{result}`: every series is there from the first
//! build, at zero.

use legate_filters_api::metrics::IntCounter;
use legate_filters_api::{Metrics, MetricsError};

pub(crate) struct AuthzCounters {
    pub allowed: IntCounter,
    pub denied: IntCounter,
    /// No usable answer (unreachable, timed out, malformed, a protected header changed),
    /// whatever `failure_mode` then did.
    pub errors: IntCounter,
}

impl AuthzCounters {
    pub(crate) fn register(metrics: &Metrics) -> Result<AuthzCounters, MetricsError> {
        let by_result = metrics.counter_vec(
            "legate_ext_authz_total",
            "Checks by the external authorization service, by result \
             (error: no usable answer, whatever failure_mode then did)",
            &["result"],
        )?;
        let series = |result: &str| by_result.with_label_values(&[result]);
        Ok(AuthzCounters {
            allowed: series("allow"),
            denied: series("deny"),
            errors: series("error"),
        })
    }
}
