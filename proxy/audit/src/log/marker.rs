//! The last record each sink took, kept beside its spool (`<spool_dir>/<sink>.last`), so a
//! restarted Legate continues its chain even when no sink can say where it stopped (streams
//! such as stdout or a webhook).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ChainedRecord;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub partition: String,
    pub seq: i64,
    pub hash: String,
}

impl Marker {
    pub fn of(record: &ChainedRecord) -> Marker {
        Marker {
            partition: record.partition.clone(),
            seq: record.seq,
            hash: record.hash.clone(),
        }
    }

    /// The marker in `path`; `None` when there is none or it cannot be read.
    pub fn read(path: &Path) -> Option<Marker> {
        let text = std::fs::read(path).ok()?;
        match serde_json::from_slice(&text) {
            Ok(marker) => Some(marker),
            Err(error) => {
                tracing::warn!(marker = %path.display(), %error, "ignoring an unreadable audit marker");
                None
            }
        }
    }

    /// Replaces the marker in `path` in one step (write beside it, sync, rename), so a crash
    /// leaves the old one or the new one.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut temporary = PathBuf::from(path);
        temporary.set_extension("last.new");
        let mut file = std::fs::File::create(&temporary)?;
        serde_json::to_writer(&mut file, self).map_err(io::Error::other)?;
        file.write_all(b"\n")?;
        file.sync_data()?;
        std::fs::rename(&temporary, path)
    }
}
