//! An `ldap` directory's settings, checked and prepared once per configuration snapshot: the
//! bind password read, the TLS trust loaded, the search templates compiled ([`filter`]). The
//! client that searches with them is `legate-ldap`.

pub mod filter;
mod settings;
#[cfg(test)]
mod tests;

pub use filter::{escape_into, CompiledFilter, Placeholder, Values};
pub use settings::{Bind, Groups, LdapConfigError, LdapSettings};
