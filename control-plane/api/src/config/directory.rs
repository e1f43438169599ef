//! The `directories` section: where users and groups come from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One named directory that filters (authn, domain policy, address mapping) refer to by name.
///
/// ```yaml
/// directories:
///   - name: corp
///     static: { file: users.yaml }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// The name filters use (`directory: corp`).
    pub name: String,
    /// Users, groups and attributes from a YAML file; the embedded default.
    #[serde(rename = "static")]
    pub static_file: Option<StaticDirectoryConfig>,
}

/// A directory kept in a YAML file next to the configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticDirectoryConfig {
    /// The file; a relative path is taken from the configuration file's folder.
    pub file: PathBuf,
}
