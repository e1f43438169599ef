//! `legate.filters.sip.peer_limits`: holds each federation partner to its `limits`: the request
//! rate (`requests_per_second`, with `burst` above it), the IM sessions it may hold open at once
//! (`max_sessions`: INVITE dialogs), the presence subscriptions (`max_subscriptions`: SUBSCRIBE
//! dialogs), and the subscriptions one of its users may hold (`max_subscriptions_per_user`, the
//! user being the From address). Place it after `authn`: it reads the partner `authn`
//! established.
//!
//! ```yaml
//! peers:
//!   - name: partner
//!     limits: { requests_per_second: 100, burst: 200, max_sessions: 1000,
//!               max_subscriptions: 5000, max_subscriptions_per_user: 50 }
//! listeners:
//!   - name: external
//!     filters:
//!       - name: legate.filters.sip.authn
//!         config: { local_domains: [acme.example] }
//!       - name: legate.filters.sip.peer_limits
//!       - name: legate.filters.sip.router
//! ```
//!
//! Over a limit the partner gets 503 with `Retry-After` (for the rate, the seconds until it may
//! send again; for a dialog limit, a fixed 30 seconds) and a `Warning` naming the limit, and the
//! refusal is counted per partner and limit (`legate_peer_limit_refusals_total{peer,limit}`;
//! `legate_peer_sessions_active{peer}` and `legate_peer_subscriptions_active{peer}` show what
//! each partner holds).
//!
//! A dialog-opening request (INVITE or SUBSCRIBE outside a dialog) takes a slot before it is
//! forwarded, so two racing requests cannot both take the last one. If the answer is not a 2xx
//! the slot is given back at once; a 2xx carries it on as a [`DialogLease`] among the response's
//! [`DialogHolds`](crate::DialogHolds), which the proxy keeps in its dialog table for the dialog's life: the slot comes back
//! when the dialog ends (BYE, unsubscribe, terminating NOTIFY, from either side; or a 481 from
//! the far side) or expires. Requests inside a dialog (refreshes, unsubscribes) never take a
//! slot.
//!
//! The rate buckets belong to the config snapshot, so a new snapshot starts them full. What
//! partners hold is kept per partner name for the whole process: dialogs opened under one
//! snapshot are still counted under the next, whose limits then apply. Every partner's dialogs
//! are counted, limited or not, so the counts are right the moment a limit is configured. The
//! counts are per replica.
//!
//! Requests from internal systems pass untouched: a dialog the organisation opens towards a
//! partner takes none of the partner's slots. Safe in front of untrusted peers.

mod layer;
mod lease;
mod limit;
mod metrics;
mod service;
#[cfg(test)]
mod tests;
mod usage;

pub use layer::PeerLimitsFactory;
pub use lease::DialogLease;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.peer_limits";
