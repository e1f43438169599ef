//! `legate.filters.sip.authn`: decides who a request is from, and refuses it when that cannot
//! be established. It is the filter that makes a listener safe in front of untrusted peers.
//!
//! ```yaml
//! - name: legate.filters.sip.authn
//!   config:
//!     local_domains: [acme.example]                 # required: our domains
//!     trusted_sources: [127.0.0.0/8, 10.1.0.0/16]   # internal listeners only, required there
//!     identity_headers: [P-Asserted-Identity, P-Preferred-Identity, Remote-Party-ID]  # default
//! ```
//!
//! On an **external** listener (federation partners) a request passes when:
//!
//! 1. the listener verified a TLS client certificate ([`crate::TlsPeerIdentity`]);
//! 2. the From domain is owned by a configured partner ([`crate::Peers`]) and that partner's
//!    certificate names the From domain or another domain the partner owns, as a dNSName or as
//!    a `sip:domain` / `sips:domain` URI (RFC 5922 §7.1);
//! 3. every identity header in `identity_headers` carries a domain owned by that same partner
//!    (a `tel:` value or one that cannot be read names no domain and is refused);
//! 4. the Request-URI names one of `local_domains` (a partner cannot relay through us), unless
//!    the request is inside a dialog, where the Request-URI is a remote target (a Contact).
//!
//! After these checks the identity headers are **removed**: inside the organisation only its
//! own IM system may assert identity, and what the inside sees of the sender is the From, which
//! was checked above. [`Authenticated::Peer`] is attached to the request's context, and to the
//! response's on the way back (for filters in front, such as audit).
//!
//! On an **internal** listener (the organisation's own IM servers) a request passes when its
//! source address is inside one of `trusted_sources`. The IM system is trusted, so its identity
//! headers are kept. [`Authenticated::Internal`] is attached to the contexts.
//!
//! Every refusal is `403 Forbidden` with a reason in a `Warning` header that names no internal
//! detail; refusals are counted by reason (`legate_authn_refusals_total{reason}`) and logged without header values.
//! The listener side comes from the request's [`crate::ListenerInfo`], or from the listener the
//! chain was built for when the proxy attached none.

mod cidr;
mod config;

mod layer;
mod refusal;
mod service;
#[cfg(test)]
mod tests;

pub use cidr::Cidr;
pub use config::AuthnConfig;
pub use layer::AuthnFactory;
pub use legate_filters_api::Authenticated;
pub use refusal::Reason;
pub use service::Authn;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.authn";
