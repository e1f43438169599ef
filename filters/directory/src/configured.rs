//! The directories a configuration's `directories` section names, built the same way by the
//! proxy (to run them) and the control plane (to check them).

use std::sync::Arc;

use legate_api::{ConfigError, LdapDirectoryConfig, LoadedConfig, Secret};
use legate_filters_api::{ConfigFolder, Directories, Directory, DirectoryError, LookupFuture};

use crate::{LdapSettings, StaticDirectory};

/// What becomes of an `ldap` directory once its settings are checked: the proxy connects
/// (`legate_ldap::client`), the control plane keeps [`checked_only`].
pub type LdapClient = fn(LdapSettings) -> Arc<dyn Directory>;

/// Builds every configured directory, relative paths taken from the configuration file's
/// folder. A static file that cannot be read or parsed, or an LDAP password or CA file that
/// cannot be read, is a config error naming the field. `ldap` makes the LDAP directories;
/// nothing is contacted here (connections are made by the first lookups).
pub fn build_directories(
    loaded: &LoadedConfig,
    ldap: LdapClient,
) -> Result<Directories, ConfigError> {
    let origin = &loaded.source.origin;
    let mut directories = Directories::new();
    for (index, directory) in loaded.config.directories.iter().enumerate() {
        let built: Arc<dyn Directory> = if let Some(source) = &directory.static_file {
            // The loader's errors already name the file and the entry at fault.
            let (field, built) = match (&source.file, &source.users) {
                (Some(file), _) => (
                    "file",
                    StaticDirectory::load(&ConfigFolder::beside(origin, file)),
                ),
                (None, users) => (
                    "users",
                    StaticDirectory::from_users(users.clone().unwrap_or_default(), origin),
                ),
            };
            let built = built.map_err(|error| {
                let field = format!("directories[{index}].static.{field}");
                loaded.source.error(&field, error.to_string())
            })?;
            Arc::new(built)
        } else if let Some(config) = &directory.ldap {
            let config = with_paths_beside_config(origin, config);
            let settings = LdapSettings::from_config(&config).map_err(|error| {
                loaded.source.error(
                    &format!("directories[{index}].ldap.{}", error.field),
                    error.message,
                )
            })?;
            ldap(settings)
        } else {
            continue;
        };
        directories.insert(directory.name.clone(), built);
    }
    Ok(directories)
}

/// An LDAP directory whose settings were checked and that is never asked: what a process that
/// only checks configurations (the control plane) builds. A lookup, should one be made, is
/// answered as unavailable.
pub fn checked_only(settings: LdapSettings) -> Arc<dyn Directory> {
    Arc::new(CheckedOnly {
        url: settings.url.clone(),
    })
}

struct CheckedOnly {
    url: String,
}

impl Directory for CheckedOnly {
    fn lookup<'a>(&'a self, _user: &'a str, _domain: &'a str) -> LookupFuture<'a> {
        Box::pin(async move {
            Err(DirectoryError::Unavailable {
                reason: format!("{} is not connected by this process", self.url),
            })
        })
    }
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
