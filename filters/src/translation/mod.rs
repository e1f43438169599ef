//! `legate.filters.sip.translation`: maps addresses between their internal and federated forms
//! (`alice@corp.internal` ↔ `alice@acme.example`), so partners only ever see federated
//! addresses and internal servers only ever see their own.
//!
//! ```yaml
//! - name: legate.filters.sip.translation
//!   config:
//!     address_mapping:
//!       - { internal: corp.internal, external: acme.example }          # a whole domain
//!       - { internal: a.smith@corp.internal, external: alice@acme.example }  # one address
//!     # optional: each user's federated address in a directory attribute (wins over the rules)
//!     directory_mapping: { directory: corp, attribute: federatedAddress }
//! ```
//!
//! On an internal listener requests are mapped internal → external, on an external listener
//! external → internal: the Request-URI, From, To, P-Asserted-Identity and P-Preferred-Identity,
//! and the user part of Contact (its host and port locate a device; on the way out topology
//! hiding replaces the whole Contact with Legate's). Responses
//! go back with the From and To their sender wrote (plus the answerer's To tag), and their
//! Contact and P-Asserted-Identity mapped the other way. In-dialog requests run through the same
//! chain, so a dialog keeps its two faces for its whole life. Address rules win over domain
//! rules; each internal and each external name appears in one rule only, so every mapping can
//! be undone.
//!
//! With `directory_mapping`, a user whose entry has the attribute is mapped to it on the way out,
//! and the entry holding a federated address is found on the way in. A directory that cannot be
//! asked gets the request `503` with `Retry-After` rather than an unmapped message.
//!
//! The local user's two forms are attached as a [`MappedLocalUser`] to the request context and
//! to the response context, for audit wherever it sits.
//!
//! Place it after `authn` and `domain_policy` (they judge the addresses as the sender wrote
//! them) and before the router (which routes on the mapped Request-URI). Safe in front of
//! untrusted peers: it rewrites addresses only as configured.

mod config;
mod directory_mapping;
mod layer;
mod local_user;
mod mapping;
mod service;
#[cfg(test)]
mod tests;

pub use config::{AddressRule, DirectoryMappingConfig, TranslationConfig};
pub use layer::TranslationFactory;
pub use local_user::MappedLocalUser;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.translation";
