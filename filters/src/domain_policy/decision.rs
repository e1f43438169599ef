//! The decision attached to each request for the filters after this one (audit), and the count
//! of decisions.

use legate_filters_api::metrics::IntCounter;
use legate_filters_api::{Metrics, MetricsError};
use legate_sip::Text;

use super::classify::Service;
use super::config::{Action, Direction};

/// What the policy decided for a request, and on what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDecision {
    /// The rule that matched; `None` when the default decided.
    pub rule_id: Option<String>,
    pub action: Action,
    pub service: Service,
    pub direction: Direction,
    /// Lower-case.
    pub remote_domain: Text,
    /// `user@domain`, lower-case, when the request names a local user.
    pub local_user: Option<String>,
}

/// The requests domain_policy decided, as `legate_policy_decisions_total{decision}`: every
/// series is there from the first build, at zero.
pub(crate) struct DecisionCounters {
    pub allowed: IntCounter,
    pub denied: IntCounter,
    /// Inbound requests for users that do not exist for the outside (404).
    pub hidden: IntCounter,
    /// Requests answered 503 because the directory could not be asked.
    pub directory_failure: IntCounter,
}

impl DecisionCounters {
    pub(crate) fn register(metrics: &Metrics) -> Result<DecisionCounters, MetricsError> {
        let by_decision = metrics.counter_vec(
            "legate_policy_decisions_total",
            "Requests decided by domain_policy, by decision",
            &["decision"],
        )?;
        let series = |decision: &str| by_decision.with_label_values(&[decision]);
        Ok(DecisionCounters {
            allowed: series("allowed"),
            denied: series("denied"),
            hidden: series("hidden"),
            directory_failure: series("directory_failure"),
        })
    }

    pub(crate) fn count(&self, action: Action) {
        match action {
            Action::Allow => self.allowed.inc(),
            Action::Deny => self.denied.inc(),
        }
    }
}
