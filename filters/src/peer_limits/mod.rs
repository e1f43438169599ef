//! `legate.filters.sip.peer_limits`: holds each federation partner to the request rate in its
//! `limits` (`requests_per_second`, with `burst` above it). Place it after `authn`: it reads the
//! partner `authn` established. Over the limit the partner gets 503 with `Retry-After` (the
//! seconds until it may send again), and the refusal is counted.
//!
//! ```yaml
//! peers:
//!   - name: partner
//!     limits: { requests_per_second: 100, burst: 200 }
//! listeners:
//!   - name: external
//!     filters:
//!       - name: legate.filters.sip.authn
//!         config: { local_domains: [acme.example] }
//!       - name: legate.filters.sip.peer_limits
//!       - name: legate.filters.sip.router
//! ```
//!
//! Requests from internal systems, and from partners without a rate limit, pass untouched.
//! Safe in front of untrusted peers. The buckets belong to the config snapshot, so a new
//! snapshot starts them full.

mod bucket;
mod layer;
mod service;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};

pub use layer::PeerLimitsFactory;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.peer_limits";

static RATE_LIMITED: AtomicU64 = AtomicU64::new(0);

/// Requests refused because their partner was over its rate, since the process started.
pub fn rate_limited_count() -> u64 {
    RATE_LIMITED.load(Ordering::Relaxed)
}

fn count_rate_limited() {
    RATE_LIMITED.fetch_add(1, Ordering::Relaxed);
}
