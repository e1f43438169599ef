//! The `directories` section: where users and groups come from.

use std::collections::BTreeMap;
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

/// A directory kept in a YAML file next to the configuration, or written in it.
///
/// ```yaml
/// static: { file: users.yaml }
/// # or
/// static:
///   users:
///     - { user: alice, domain: corp.example, groups: [federated] }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticDirectoryConfig {
    /// The file (a `users:` list); a relative path is taken from the configuration file's
    /// folder.
    pub file: Option<PathBuf>,
    /// The users themselves, as the file would list them.
    pub users: Option<Vec<StaticUser>>,
}

/// One user of a static directory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StaticUser {
    pub user: String,
    pub domain: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Attributes address mapping and routing can look up (`sip_uri`, `home_cluster`, …).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}
