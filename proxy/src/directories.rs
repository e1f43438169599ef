//! Building a snapshot's directories from the `directories` section, for the filters that
//! look users and groups up (they find them in `BuildContext.resources` by type).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use legate_api::{ConfigError, LoadedConfig};
use legate_filters::{Directories, StaticDirectory};

/// Loads every configured directory; a file that cannot be read or parsed is a config error
/// naming the field and the file.
pub fn build(loaded: &LoadedConfig) -> Result<Directories, ConfigError> {
    let mut directories = Directories::new();
    for (index, directory) in loaded.config.directories.iter().enumerate() {
        let Some(source) = &directory.static_file else {
            continue;
        };
        let path = beside_config(&loaded.source.origin, &source.file);
        // The loader's errors already name the file and the entry at fault.
        let loaded_directory = StaticDirectory::load(&path).map_err(|error| {
            loaded.source.error(
                &format!("directories[{index}].static.file"),
                error.to_string(),
            )
        })?;
        directories.insert(directory.name.clone(), Arc::new(loaded_directory));
    }
    Ok(directories)
}

/// A relative path is taken from the configuration file's folder (not the working directory),
/// so a config and its directory file move together.
fn beside_config(origin: &str, file: &Path) -> PathBuf {
    if file.is_absolute() || origin.starts_with('<') {
        return file.to_path_buf();
    }
    match Path::new(origin).parent() {
        Some(folder) => folder.join(file),
        None => file.to_path_buf(),
    }
}
