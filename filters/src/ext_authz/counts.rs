//! Process-wide counts of check outcomes, exported by the proxy on `/metrics` as
//! `legate_ext_authz_total{result}`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Checks since the process started, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthzCounts {
    pub allowed: u64,
    pub denied: u64,
    /// No usable answer (unreachable, timed out, malformed, a protected header changed),
    /// whatever `failure_mode` then did.
    pub errors: u64,
}

static ALLOWED: AtomicU64 = AtomicU64::new(0);
static DENIED: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);

pub fn authz_counts() -> AuthzCounts {
    AuthzCounts {
        allowed: ALLOWED.load(Ordering::Relaxed),
        denied: DENIED.load(Ordering::Relaxed),
        errors: ERRORS.load(Ordering::Relaxed),
    }
}

pub(crate) fn count_allowed() {
    ALLOWED.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn count_denied() {
    DENIED.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn count_error() {
    ERRORS.fetch_add(1, Ordering::Relaxed);
}
