//! The directories Legate reads users and groups from, as a configuration's `directories`
//! section names them: a static YAML file ([`StaticDirectory`], read once, answered from memory)
//! and an LDAP server, whose settings are checked and prepared here ([`LdapSettings`]) and
//! whose client is `legate-ldap`. [`build_directories`] builds a snapshot's.
//!
//! This crate links no LDAP client: the proxy hands [`build_directories`] the client that
//! connects, the control plane [`checked_only`], so it checks every directory's config without
//! linking what it never runs.

mod configured;
pub mod ldap;
mod static_file;
#[cfg(test)]
mod tests;

pub use configured::{build_directories, checked_only, LdapClient};
pub use ldap::{LdapConfigError, LdapSettings};
pub use static_file::{StaticDirectory, StaticDirectoryError};
