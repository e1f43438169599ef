//! One sink as the log holds it: the sink, its backlog, its health.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::backlog::Backlog;
use super::marker::Marker;
use crate::Sink;

pub(crate) struct Slot {
    /// The sink's name in the config (`audit.sinks[].name`): labels, spool file names.
    pub name: String,
    pub sink: Arc<dyn Sink>,
    /// `None` until the log is recovered from disk.
    backlog: Mutex<Option<Backlog>>,
    /// Wakes the writer: new records, or the log is stopping.
    pub wake: Notify,
    up: AtomicBool,
    appended: AtomicU64,
}

impl Slot {
    pub fn new(name: String, sink: Arc<dyn Sink>) -> Slot {
        Slot {
            name,
            sink,
            backlog: Mutex::new(None),
            wake: Notify::new(),
            up: AtomicBool::new(true),
            appended: AtomicU64::new(0),
        }
    }

    pub fn backlog(&self) -> MutexGuard<'_, Option<Backlog>> {
        self.backlog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_backlog(&self, backlog: Backlog) {
        *self.backlog() = Some(backlog);
    }

    pub fn spool_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.jsonl", self.name))
    }

    pub fn marker_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.last", self.name))
    }

    pub fn marker(&self, dir: &Path) -> Option<Marker> {
        Marker::read(&self.marker_path(dir))
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Records the sink's state; true when it changed.
    pub fn set_up(&self, up: bool) -> bool {
        self.up.swap(up, Ordering::Relaxed) != up
    }

    pub fn count_appended(&self, n: usize) {
        self.appended.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }
}
