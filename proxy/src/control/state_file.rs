//! The last good snapshot on disk: written after each accepted snapshot, read at start so a
//! proxy that cannot reach the control plane still boots on what it last ran.

use std::io::Write;
use std::path::{Path, PathBuf};

use legate_api::push::SnapshotPush;

const FILE_NAME: &str = "snapshot.json";

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Writes `push` so that a crash leaves either the old file or the new one, never half of one:
/// a temporary file beside it, synced, then renamed over it.
pub fn save(state_dir: &Path, push: &SnapshotPush) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    let json = serde_json::to_vec_pretty(push).map_err(std::io::Error::other)?;
    let temporary = state_dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(&json)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path(state_dir))
}

/// The saved snapshot; `Ok(None)` when there is none yet. A file that does not parse or whose
/// hash does not match its text is an error: the caller falls back as if there were none.
pub fn load(state_dir: &Path) -> Result<Option<SnapshotPush>, String> {
    let file = path(state_dir);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("{}: {error}", file.display())),
    };
    let push: SnapshotPush =
        serde_json::from_slice(&bytes).map_err(|error| format!("{}: {error}", file.display()))?;
    if crate::snapshot::hash_of(&push.yaml) != push.hash {
        return Err(format!(
            "{}: the configuration does not match its hash",
            file.display()
        ));
    }
    Ok(Some(push))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(version: u64, yaml: &str) -> SnapshotPush {
        SnapshotPush {
            version,
            hash: crate::snapshot::hash_of(yaml),
            yaml: yaml.to_string(),
            origin: "cp/legate.yaml".to_string(),
        }
    }

    #[test]
    fn a_saved_snapshot_loads_back_and_the_newest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nested/state");
        assert_eq!(load(&state).unwrap(), None);
        save(&state, &push(1, "listeners: []\n")).unwrap();
        save(&state, &push(2, "routes: []\n")).unwrap();
        assert_eq!(load(&state).unwrap(), Some(push(2, "routes: []\n")));
        assert!(!state.join("snapshot.json.tmp").exists());
    }

    #[test]
    fn a_damaged_file_is_refused_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut tampered = push(3, "listeners: []\n");
        tampered.yaml.push_str("routes: []\n");
        save(dir.path(), &tampered).unwrap();
        assert!(load(dir.path()).unwrap_err().contains("hash"));
        std::fs::write(path(dir.path()), b"{ not json").unwrap();
        assert!(load(dir.path()).is_err());
    }
}
