//! Reads the configuration directory: `legate.yaml`, the configuration every node gets, and
//! `nodes/<node-id>.yaml`, a node's own configuration, which it gets instead.

use std::collections::BTreeMap;
use std::path::Path;

use legate_api::ConfigError;

/// The shared file's name in the configuration directory.
pub const SHARED_FILE: &str = "legate.yaml";
/// The folder of per-node files in the configuration directory.
pub const NODES_FOLDER: &str = "nodes";

/// One configuration file's text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The file path, as errors and pushes name it.
    pub origin: String,
    pub text: String,
}

/// Every configuration file of the directory, as read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirFiles {
    pub shared: ConfigFile,
    /// By node id (the file name without `.yaml`).
    pub nodes: BTreeMap<String, ConfigFile>,
}

impl DirFiles {
    /// The shared file first, then the node files in name order.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigFile> {
        std::iter::once(&self.shared).chain(self.nodes.values())
    }
}

/// Reads `dir`. A missing or unreadable `legate.yaml` is an error; a missing `nodes` folder
/// just means no node has its own file.
pub fn read(dir: &Path) -> Result<DirFiles, ConfigError> {
    let shared = read_file(&dir.join(SHARED_FILE))?;
    let mut nodes = BTreeMap::new();
    let folder = dir.join(NODES_FOLDER);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(DirFiles { shared, nodes });
        }
        Err(error) => {
            let origin = folder.display().to_string();
            return Err(ConfigError::whole_file(
                &origin,
                format!("cannot list the node files: {error}"),
            ));
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(node) = node_id(&name.to_string_lossy()) else {
            continue;
        };
        nodes.insert(node, read_file(&entry.path())?);
    }
    Ok(DirFiles { shared, nodes })
}

/// The node a file in `nodes/` is for: `<node-id>.yaml`. Hidden files are skipped, as are the
/// `..data` links Kubernetes puts in a mounted ConfigMap.
fn node_id(file_name: &str) -> Option<String> {
    if file_name.starts_with('.') {
        return None;
    }
    let node = file_name.strip_suffix(".yaml")?;
    (!node.is_empty()).then(|| node.to_owned())
}

fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(ConfigFile { origin, text }),
        Err(error) => Err(ConfigError::whole_file(
            &origin,
            format!("cannot read the configuration file: {error}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_files_are_found_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SHARED_FILE), "shared").unwrap();
        std::fs::create_dir(dir.path().join(NODES_FOLDER)).unwrap();
        let nodes = dir.path().join(NODES_FOLDER);
        std::fs::write(nodes.join("edge-1.yaml"), "own").unwrap();
        std::fs::write(nodes.join(".hidden.yaml"), "skipped").unwrap();
        std::fs::write(nodes.join("notes.txt"), "skipped").unwrap();

        let files = read(dir.path()).unwrap();
        assert_eq!(files.shared.text, "shared");
        assert_eq!(files.nodes.keys().collect::<Vec<_>>(), ["edge-1"]);
        assert_eq!(files.nodes["edge-1"].text, "own");
    }

    #[test]
    fn a_missing_shared_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let error = read(dir.path()).unwrap_err();
        assert!(error.origin.ends_with(SHARED_FILE), "{error}");
    }
}
