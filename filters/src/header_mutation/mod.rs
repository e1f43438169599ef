//! `legate.filters.sip.header_mutation`: add, set, remove or rewrite headers on requests (on the
//! way in) and on final responses (on the way back), by rule.
//!
//! ```yaml
//! - name: legate.filters.sip.header_mutation
//!   config:
//!     request:
//!       add:     [ { name: X-Legate-Side, value: internal } ]
//!       set:     [ { name: Organization, value: Example Corp } ]
//!       remove:  [ X-Internal-Debug ]
//!       rewrite: [ { name: User-Agent, pattern: "^(.*)$", replacement: "$1 via Legate" } ]
//!     response:
//!       remove:  [ Server ]
//! ```
//!
//! Headers the proxy itself depends on (Via, Call-ID, CSeq, From, To, Route, Record-Route,
//! Max-Forwards, Content-Length) cannot be mutated: a rule naming one is a config error.
//! Safe in front of untrusted peers: it only changes headers as configured.

mod config;
mod layer;
mod service;
#[cfg(test)]
mod tests;

pub(crate) use config::CompiledRules;
pub use config::{HeaderMutationConfig, HeaderRules, HeaderValueRule, RewriteRule};
pub use layer::HeaderMutationFactory;
pub(crate) use service::apply;
pub use service::HeaderMutation;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.header_mutation";
