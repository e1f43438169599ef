//! The decision attached to each request for the filters after this one (audit), and the
//! process-wide decision counts until the proxy wires filter metrics.

use std::sync::atomic::{AtomicU64, Ordering};

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
    pub remote_domain: String,
    /// `user@domain`, lower-case, when the request names a local user.
    pub local_user: Option<String>,
}

/// Counts since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecisionCounts {
    pub allowed: u64,
    pub denied: u64,
    /// Inbound requests for users that do not exist for the outside (404).
    pub hidden: u64,
    /// Requests answered 503 because the directory could not be asked.
    pub directory_failures: u64,
}

static ALLOWED: AtomicU64 = AtomicU64::new(0);
static DENIED: AtomicU64 = AtomicU64::new(0);
static HIDDEN: AtomicU64 = AtomicU64::new(0);
static DIRECTORY_FAILURES: AtomicU64 = AtomicU64::new(0);

pub fn decision_counts() -> DecisionCounts {
    DecisionCounts {
        allowed: ALLOWED.load(Ordering::Relaxed),
        denied: DENIED.load(Ordering::Relaxed),
        hidden: HIDDEN.load(Ordering::Relaxed),
        directory_failures: DIRECTORY_FAILURES.load(Ordering::Relaxed),
    }
}

pub(crate) fn count_action(action: Action) {
    let counter = match action {
        Action::Allow => &ALLOWED,
        Action::Deny => &DENIED,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn count_hidden() {
    HIDDEN.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn count_directory_failure() {
    DIRECTORY_FAILURES.fetch_add(1, Ordering::Relaxed);
}
