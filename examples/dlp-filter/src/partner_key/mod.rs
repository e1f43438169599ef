//! `example.filters.sip.partner_key`: a vendor's own authenticator. A federation partner proves
//! who it is with a key it sends in a header, instead of (or before) its TLS certificate.
//!
//! ```yaml
//! - name: example.filters.sip.partner_key
//!   config:
//!     header: X-Example-Partner-Key   # default
//!     keys:                           # one per partner: the SHA-256 (hex) of its key
//!       - { peer: partner-a, sha256: 5e88489…b5a14 }
//! ```
//!
//! `peer` names an entry of the config's `peers`; the request's From must then be in one of that
//! partner's `domains`, so a partner can never speak for a domain it has not proven. What passes
//! carries [`Authenticated::Peer`](legate_filters_api::Authenticated) for the filters after it
//! (policy, limits, audit), and the key header is removed before the request goes on. What does
//! not is refused `403` under the rule `missing-key`, `unknown-key` or `domain-not-owned`.
//!
//! The factory declares that it authenticates peers, so filters that are not safe in front of
//! untrusted peers may follow it on an external listener. Requests on internal listeners pass
//! untouched. Only digests are configured: the config holds no secret.

mod config;
mod hook;
#[cfg(test)]
mod tests;

pub use config::{KeyConfig, PartnerKeyConfig};
pub use hook::{PartnerKey, PartnerKeyFactory};

/// The registered name of this filter.
pub const NAME: &str = "example.filters.sip.partner_key";
