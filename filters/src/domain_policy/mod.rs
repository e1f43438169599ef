//! `legate.filters.sip.domain_policy`: who may talk to whom across the boundary.
//!
//! Every dialog-starting (or stand-alone) request is checked against an ordered list of allow and
//! deny rules over the remote domain, the local user and their groups, the service (IM, presence,
//! voice, video, file transfer, chat) and the direction. The first matching rule decides; when
//! none matches, `default` does. A denied request gets `403 Forbidden` with a reason that names
//! no internal detail; the decision, with the rule id, is attached to the request context as a
//! [`PolicyDecision`] for the filters after this one, to the response context for the filters
//! in front of it (audit, which records it), and logged.
//!
//! ```yaml
//! - name: legate.filters.sip.domain_policy
//!   config:
//!     directory: corp              # a directory by name (see `directories`); optional
//!     exposed_groups: [federated]  # optional: only these groups' users exist for the outside
//!     default: deny                # allow | deny
//!     rules:
//!       - id: allow-partners-im
//!         action: allow
//!         remote_domains: [partner.example, "*.partner.example"]
//!         local_groups: [sales]
//!         services: [im, presence] # im | presence | voice | video | file-transfer | chat
//!         direction: outbound      # inbound | outbound
//!       - id: block-competitor
//!         action: deny
//!         remote_domains: [competitor.example]
//! ```
//!
//! Direction comes from the listener: a request arriving on an `internal` listener is outbound
//! (local user = From, remote domain = the Request-URI's), one arriving on an `external` listener
//! is inbound (local user = the Request-URI's user, remote domain = From's).
//!
//! With `exposed_groups`, an inbound request for a user who is unknown, or known but in none of
//! those groups, gets the same `404 Not Found`, so the directory cannot be enumerated from
//! outside. A directory that cannot be asked gets `503` with `Retry-After`.
//!
//! Requests inside a dialog pass: the dialog was decided when it started. Rules are compiled
//! once into indexes (by direction and service, then remote domain, then local user or group),
//! so a request costs a few hash lookups whatever the number of rules.
//! Safe in front of untrusted peers: it only reads the request and answers or passes it on.

mod classify;
mod compile;
mod config;
mod decision;
mod layer;
mod parties;
mod service;
#[cfg(test)]
mod tests;

pub use classify::{classify, Service};
pub use compile::{CompiledPolicy, PolicyInput, Verdict};
pub use config::{Action, Direction, DomainPolicyConfig, RuleConfig};
pub use decision::PolicyDecision;
pub use layer::DomainPolicyFactory;
pub use service::DomainPolicy;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.domain_policy";
