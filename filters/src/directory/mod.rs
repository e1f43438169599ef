//! The directories Legate reads users and groups from: a static YAML file ([`StaticDirectory`],
//! read once, answered from memory) and an LDAP server ([`LdapDirectory`], searched over a
//! connection pool with a cache). Both implement the filter API's
//! [`Directory`](legate_filters_api::Directory); [`build_directories`] builds a snapshot's.

mod configured;
mod ldap;
mod static_file;
#[cfg(test)]
mod tests;

pub use configured::build_directories;
pub use ldap::{LdapConfigError, LdapDirectory, LdapSettings};
pub use static_file::{StaticDirectory, StaticDirectoryError};
