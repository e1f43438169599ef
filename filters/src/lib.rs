//! Legate's built-in SIP filters, written against the filter API (`legate-filters-api`) exactly
//! as a vendor's filters are, and registered under the reserved `legate.` namespace by
//! [`builtins`].
//!
//! Also here: the directories those filters look users up in ([`directory`]: a static file or
//! an LDAP server), built by [`build_directories`] for each configuration snapshot.

mod address_list;
pub mod audit;
pub mod authn;
pub mod directory;
pub mod domain_policy;
mod ends;
pub mod ext_authz;
pub mod header_mutation;
pub mod peer_limits;
mod registry;
#[cfg(test)]
mod testing;
mod tls_ca;
mod token_bucket;
pub mod translation;

pub use directory::{
    build_directories, LdapConfigError, LdapDirectory, LdapSettings, StaticDirectory,
    StaticDirectoryError,
};
pub use registry::{builtins, builtins_and};
pub use token_bucket::TokenBucket;
