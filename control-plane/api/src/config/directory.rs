//! The `directories` section: where users and groups come from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::LdapDirectoryConfig;

/// One named directory that filters (authn, domain policy, address mapping) refer to by name.
/// It has exactly one source: `static` or `ldap`.
///
/// ```yaml
/// directories:
///   - name: corp
///     static: { file: users.yaml }
///   - name: hq
///     ldap: { url: "ldap://127.0.0.1:389", user_base: "ou=people,dc=hq,dc=example",
///             domains: [hq.example], group_base: "ou=groups,dc=hq,dc=example" }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// The name filters use (`directory: corp`).
    pub name: String,
    /// Users, groups and attributes from a YAML file; the embedded default.
    #[serde(rename = "static")]
    pub static_file: Option<StaticDirectoryConfig>,
    /// Users, groups and attributes from an LDAP server.
    pub ldap: Option<LdapDirectoryConfig>,
}

/// A directory kept in a YAML file next to the configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticDirectoryConfig {
    /// The file; a relative path is taken from the configuration file's folder.
    pub file: PathBuf,
}
