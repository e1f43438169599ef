//! Legate's built-in SIP filters, written against the filter API (`legate-filters-api`) exactly
//! as a vendor's filters are, and registered under the reserved `legate.` namespace by
//! [`builtins`].
//!
//! [`resources`] assembles what those filters share (directories, partners, the audit log), in
//! the one way the proxy (to run chains) and the control plane (to check them) both use.

mod address_list;
pub mod audit;
pub mod authn;
pub mod domain_policy;
pub mod ext_authz;
pub mod header_mutation;
pub mod peer_limits;
mod registry;
mod resources;
#[cfg(test)]
mod testing;
mod token_bucket;
pub mod translation;

pub use registry::{builtins, builtins_and};
pub use resources::resources;
pub use token_bucket::TokenBucket;
