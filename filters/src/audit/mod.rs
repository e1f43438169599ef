//! `legate.filters.sip.audit`: one audit record for every interaction that crosses the
//! boundary, written to the [`AuditLog`](legate_audit::AuditLog) the proxy builds from the
//! top-level `audit` section (a chain with this filter and no `audit` section is a config
//! error).
//!
//! ```yaml
//! - name: legate.filters.sip.audit
//!   config:
//!     fail_mode: open            # open (default) | closed
//!     partners:                  # by peer name; optional
//!       partner:
//!         fail_mode: closed
//!         bodies: { max_bytes: 2048, redact: ['\b\d{13,19}\b'] }
//! ```
//!
//! # Events
//!
//! | event                | when                                                              |
//! |----------------------|-------------------------------------------------------------------|
//! | `request`            | a request outside a dialog that opened none (MESSAGE, PUBLISH, OPTIONS, INFO…, or an INVITE or SUBSCRIBE answered without a 2xx), with its final status |
//! | `dialog_start`       | a 2xx to an INVITE                                                |
//! | `subscription_start` | a 2xx to a SUBSCRIBE                                              |
//! | `dialog_end`, `subscription_end` | the dialog ended, from either side (the ending method and its status) or by expiry (status 0) |
//! | `denied`             | `authn`, `domain_policy` or `peer_limits` (after this filter) answered 4xx/5xx; with the policy decision and rule id |
//!
//! Requests inside a dialog are covered by its start and end records. The end record comes
//! from a [`DialogHold`](crate::DialogHold) attached to the 2xx, which the proxy's dialog table
//! keeps until the dialog ends.
//!
//! Each record carries the local user in both forms (`local_internal`, `local_federated`: from
//! `translation`'s [`MappedLocalUser`](crate::translation::MappedLocalUser), whether it runs
//! before or after this filter; one address for both without translation), the remote party,
//! the service, the direction (from the listener's side), the partner (the one `authn`
//! established; for requests going out, the owner of the remote domain), the listener, the
//! policy decision and rule id, the final status and the config version.
//!
//! # Fail modes
//!
//! - **open** (default): records are written after the fact, without waiting; a sink that is
//!   down gets them from its spool later. Requests never wait for audit.
//! - **closed**: nothing crosses unrecorded. Before a request outside a dialog goes on, the
//!   record of the *attempt* (`request`, status 0) must be in every sink; if it is not, the
//!   request is answered `503` with `Retry-After` and counted in
//!   `legate_audit_refusals_total`; the refusal itself is recorded (its `503` outcome, kept
//!   until a sink takes it), so an attempt already linked never lacks an outcome. What follows
//!   a request that crossed (the outcome `request` with its status,
//!   `dialog_start`, `denied`, the end records) is written after, without waiting, as in open
//!   mode: by then the request has crossed, and there is nothing left to refuse.
//!
//! A partner's entry under `partners` overrides `fail_mode` for requests with that partner, and
//! `bodies` records the bodies of its requests: each `redact` match is replaced by
//! `[redacted]`, then the text is cut to `max_bytes`. Other partners' bodies are never recorded.
//!
//! # Where it goes
//!
//! After `authn` (records are then of authenticated parties, and the partner's overrides apply
//! from the start) and in front of `domain_policy`, `peer_limits` and `translation` (so their
//! refusals are recorded as `denied`, and the addresses on both sides of translation are
//! known): `authn → audit → domain_policy → peer_limits → translation → router`. It works
//! anywhere, but sees no refusal by a filter in front of it.
//!
//! Safe in front of untrusted peers: it reads the request and never changes it.

mod body;
mod config;
mod hold;
mod layer;
mod record;
mod service;
#[cfg(test)]
mod tests;

pub use body::REDACTED;
pub use config::{AuditFilterConfig, BodiesConfig, FailMode, PartnerAuditConfig};
pub use layer::AuditFactory;
pub use service::Audit;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.audit";
