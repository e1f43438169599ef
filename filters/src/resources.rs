//! What a configuration's filters share, assembled once per snapshot: the directories, the
//! partners, the configuration's folder and the audit log. The proxy and the control plane
//! both build chains from this, so a chain checked by one is built from the same inputs by the
//! other.

use legate_api::{ConfigError, LoadedConfig};
use legate_audit::AuditLog;
use legate_directory::{build_directories, LdapClient};
use legate_filters_api::{ConfigFolder, Directories, Peers};

/// The shared resources of `loaded`'s filters. `ldap` makes its LDAP directories (connected by
/// the proxy, only checked by the control plane); `audit` is the log the audit filter appends
/// to. The [`Directories`] are among them, for the router.
pub fn resources(
    loaded: &LoadedConfig,
    ldap: LdapClient,
    audit: Option<&AuditLog>,
) -> Result<http::Extensions, ConfigError> {
    let mut shared = http::Extensions::new();
    let directories: Directories = build_directories(loaded, ldap)?;
    shared.insert(directories);
    shared.insert(Peers::new(loaded.config.peers.clone()));
    if let Some(folder) = ConfigFolder::of_config(&loaded.source.origin) {
        shared.insert(folder);
    }
    if let Some(audit) = audit {
        shared.insert(audit.clone());
    }
    Ok(shared)
}
