//! The directories a configuration's `directories` section names, built the same way by the
//! proxy (to run them) and the control plane (to check them).

use std::sync::Arc;

use legate_api::{ConfigError, LdapDirectoryConfig, LoadedConfig, Secret};

use super::{LdapDirectory, StaticDirectory};
use legate_filters_api::ConfigFolder;
use legate_filters_api::{Directories, Directory};

/// Builds every configured directory, relative paths taken from the configuration file's
/// folder. A static file that cannot be read or parsed, or an LDAP password or CA file that
/// cannot be read, is a config error naming the field. LDAP servers are not contacted here:
/// connections are made by the first lookups.
pub fn build_directories(loaded: &LoadedConfig) -> Result<Directories, ConfigError> {
    let origin = &loaded.source.origin;
    let mut directories = Directories::new();
    for (index, directory) in loaded.config.directories.iter().enumerate() {
        let built: Arc<dyn Directory> = if let Some(source) = &directory.static_file {
            // The loader's errors already name the file and the entry at fault.
            let file = StaticDirectory::load(&ConfigFolder::beside(origin, &source.file)).map_err(
                |error| {
                    loaded.source.error(
                        &format!("directories[{index}].static.file"),
                        error.to_string(),
                    )
                },
            )?;
            Arc::new(file)
        } else if let Some(ldap) = &directory.ldap {
            let ldap = with_paths_beside_config(origin, ldap);
            let server = LdapDirectory::from_config(&ldap).map_err(|error| {
                loaded.source.error(
                    &format!("directories[{index}].ldap.{}", error.field),
                    error.message,
                )
            })?;
            Arc::new(server)
        } else {
            continue;
        };
        directories.insert(directory.name.clone(), built);
    }
    Ok(directories)
}

/// The LDAP config with its file paths (`tls_ca`, a password file) taken from the
/// configuration file's folder.
fn with_paths_beside_config(origin: &str, ldap: &LdapDirectoryConfig) -> LdapDirectoryConfig {
    let mut ldap = ldap.clone();
    ldap.tls_ca = ldap.tls_ca.map(|file| ConfigFolder::beside(origin, &file));
    if let Some(Secret::File(file)) = &ldap.bind_password {
        ldap.bind_password = Some(Secret::File(ConfigFolder::beside(origin, file)));
    }
    ldap
}
