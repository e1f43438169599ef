//! Building a snapshot's directories from the `directories` section, for the filters that
//! look users and groups up (they find them in `BuildContext.resources` by type).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use legate_api::{ConfigError, LdapDirectoryConfig, LoadedConfig, Secret};
use legate_filters::{ConfigFolder, Directories, Directory, LdapDirectory, StaticDirectory};

/// Builds every configured directory. A static file that cannot be read or parsed, or an LDAP
/// password or CA file that cannot be read, is a config error naming the field. LDAP servers
/// are not contacted here: connections are made by the first lookups.
pub fn build(loaded: &LoadedConfig) -> Result<Directories, ConfigError> {
    let mut directories = Directories::new();
    for (index, directory) in loaded.config.directories.iter().enumerate() {
        let built: Arc<dyn Directory> = if let Some(source) = &directory.static_file {
            let path = beside_config(&loaded.source.origin, &source.file);
            // The loader's errors already name the file and the entry at fault.
            let file = StaticDirectory::load(&path).map_err(|error| {
                loaded.source.error(
                    &format!("directories[{index}].static.file"),
                    error.to_string(),
                )
            })?;
            Arc::new(file)
        } else if let Some(ldap) = &directory.ldap {
            let ldap = with_paths_beside_config(&loaded.source.origin, ldap);
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
    ldap.tls_ca = ldap.tls_ca.map(|file| beside_config(origin, &file));
    if let Some(Secret::File(file)) = &ldap.bind_password {
        ldap.bind_password = Some(Secret::File(beside_config(origin, file)));
    }
    ldap
}

/// A relative path is taken from the configuration file's folder (not the working directory),
/// so a config and its directory file move together.
pub(crate) fn beside_config(origin: &str, file: &Path) -> PathBuf {
    match config_folder(origin) {
        Some(folder) => folder.resolve(file),
        None => file.to_path_buf(),
    }
}

/// The folder of the configuration file named `origin`; none for built-in texts
/// (`<embedded quickstart>`), whose paths are used as written.
pub fn config_folder(origin: &str) -> Option<ConfigFolder> {
    if origin.starts_with('<') {
        return None;
    }
    Path::new(origin)
        .parent()
        .map(|folder| ConfigFolder(folder.to_path_buf()))
}
