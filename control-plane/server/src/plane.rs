//! [`ControlPlane`]: the accepted snapshots, the refused change, and the nodes, shared by the
//! file watcher and the HTTP API.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use legate_api::push::{Ack, SnapshotPush, Status};
use legate_api::ConfigError;
use legate_filters_api::Registry;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::check;
use crate::config_dir::DirFiles;
use crate::history::{Generation, History};
use crate::nodes::Nodes;

/// `GET /v1/errors`: why the last change of the files was refused. Not part of the push
/// protocol; it is for operators and the `status` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Errors {
    /// The version still being served.
    pub version: u64,
    /// `file:line:column: field: message`, one per problem; empty when the files as they are
    /// now were accepted.
    pub errors: Vec<String>,
}

pub struct ControlPlane {
    current: watch::Sender<Arc<Generation>>,
    history: Mutex<History>,
    errors: Mutex<Vec<String>>,
    nodes: Mutex<Nodes>,
    registry: Registry,
    long_poll: Duration,
}

impl ControlPlane {
    /// `long_poll`: how long a poll is held before `204` (the protocol's `LONG_POLL`). Configs
    /// are checked with the built-in filters.
    pub fn new(long_poll: Duration) -> ControlPlane {
        ControlPlane::with_registry(long_poll, legate_filters::builtins())
    }

    /// The same, checking configs with the filters of `registry`.
    pub fn with_registry(long_poll: Duration, registry: Registry) -> ControlPlane {
        let (current, _) = watch::channel(Arc::new(Generation::default()));
        ControlPlane {
            current,
            history: Mutex::new(History::default()),
            errors: Mutex::new(Vec::new()),
            nodes: Mutex::new(Nodes::default()),
            registry,
            long_poll,
        }
    }

    /// Takes the files as read: accepted when every file passes its checks (a new version if
    /// any content changed), otherwise refused, keeping the previous snapshot. Returns the
    /// problems found.
    pub fn apply(&self, read: Result<DirFiles, ConfigError>) -> Vec<ConfigError> {
        let problems = match &read {
            Err(error) => vec![error.clone()],
            Ok(files) => files
                .iter()
                .flat_map(|file| check::problems(file, &self.registry))
                .collect(),
        };
        let Ok(files) = read else {
            self.refuse(&problems);
            return problems;
        };
        if !problems.is_empty() {
            self.refuse(&problems);
            return problems;
        }
        lock(&self.errors).clear();
        let accepted = lock(&self.history).accept(&files, unix_millis());
        if let Some(generation) = accepted {
            tracing::info!(version = generation.version, "configuration accepted");
            self.current.send_replace(generation);
        }
        problems
    }

    fn refuse(&self, problems: &[ConfigError]) {
        let version = self.current.borrow().version;
        for problem in problems {
            tracing::error!(%problem, version, "configuration change refused; keeping the previous one");
        }
        *lock(&self.errors) = problems.iter().map(ToString::to_string).collect();
    }

    /// The newest generation.
    pub fn current(&self) -> Arc<Generation> {
        self.current.borrow().clone()
    }

    /// The snapshot for `node` newer than `version`, waiting up to the long-poll time for one;
    /// `None` when none came.
    pub async fn poll(&self, node: &str, version: u64) -> Option<SnapshotPush> {
        lock(&self.nodes).seen(node, unix_millis() / 1000);
        let mut generations = self.current.subscribe();
        let deadline = tokio::time::Instant::now() + self.long_poll;
        loop {
            let offered = generations.borrow_and_update().push_for(node);
            if let Some(push) = offered.filter(|push| push.version > version) {
                return Some(push);
            }
            tokio::select! {
                changed = generations.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                () = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    pub fn ack(&self, ack: &Ack) {
        if !ack.accepted {
            tracing::warn!(node = %ack.node, version = ack.version, error = ?ack.error, "node refused a snapshot");
        }
        lock(&self.nodes).ack(ack, unix_millis() / 1000);
    }

    pub fn status(&self) -> Status {
        let version = self.current.borrow().version;
        lock(&self.nodes).status(version)
    }

    pub fn errors(&self) -> Errors {
        Errors {
            version: self.current.borrow().version,
            errors: lock(&self.errors).clone(),
        }
    }
}

/// The data behind these locks stays consistent even if a holder panicked (each update is
/// one assignment), so a poisoned lock is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config_dir;

    /// A valid configuration whose listener is named `name`.
    fn valid(name: &str) -> String {
        format!(
            "listeners:\n  - name: {name}\n    address: 127.0.0.1:5060\n    transport: udp\n    \
             side: internal\n    filters:\n      - name: legate.filters.sip.router\n"
        )
    }

    fn write(dir: &Path, file: &str, text: &str) {
        let path = dir.join(file);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    fn plane_on(dir: &Path) -> ControlPlane {
        let plane = ControlPlane::new(Duration::from_millis(10));
        assert!(plane.apply(config_dir::read(dir)).is_empty());
        plane
    }

    #[test]
    fn an_invalid_change_keeps_the_previous_snapshot_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "legate.yaml", &valid("first"));
        let plane = plane_on(dir.path());
        let before = plane.current();

        write(
            dir.path(),
            "legate.yaml",
            &valid("second").replace("transport: udp", "transport: carrier-pigeon"),
        );
        let problems = plane.apply(config_dir::read(dir.path()));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(4), "{}", problems[0]);
        assert!(
            problems[0].field_path.contains("transport"),
            "{}",
            problems[0]
        );
        assert_eq!(plane.current(), before);
        assert_eq!(plane.errors().errors, vec![problems[0].to_string()]);

        // Fixing the file clears the error and makes a new version.
        write(dir.path(), "legate.yaml", &valid("second"));
        assert!(plane.apply(config_dir::read(dir.path())).is_empty());
        assert!(plane.current().version > before.version);
        assert!(plane.errors().errors.is_empty());
    }

    #[test]
    fn chains_are_built_with_the_filter_registry() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "legate.yaml", &valid("first"));
        let plane = plane_on(dir.path());
        let broken = valid("first").replace("sip.router", "sip.nonexistent");
        write(dir.path(), "legate.yaml", &broken);
        let problems = plane.apply(config_dir::read(dir.path()));
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .contains("listeners[0].filters[0].name"),
            "{}",
            problems[0]
        );
        // The router takes no config.
        let configured = format!("{}        config: {{ to: somewhere }}\n", valid("first"));
        write(dir.path(), "legate.yaml", &configured);
        let problems = plane.apply(config_dir::read(dir.path()));
        assert!(
            problems[0].to_string().contains("takes no config"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_bad_node_file_is_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "legate.yaml", &valid("shared"));
        let plane = plane_on(dir.path());
        let before = plane.current();
        write(dir.path(), "nodes/edge-1.yaml", "listeners: [");
        let problems = plane.apply(config_dir::read(dir.path()));
        assert!(
            problems[0].origin.ends_with("edge-1.yaml"),
            "{}",
            problems[0]
        );
        assert_eq!(plane.current(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_gets_a_newer_snapshot_or_nothing_after_the_long_poll() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "legate.yaml", &valid("shared"));
        write(dir.path(), "nodes/edge-1.yaml", &valid("own"));
        let plane = plane_on(dir.path());

        let own = plane.poll("edge-1", 0).await.unwrap();
        assert!(own.yaml.contains("name: own"));
        assert!(own.origin.ends_with("edge-1.yaml"));
        let shared = plane.poll("edge-2", 0).await.unwrap();
        assert!(shared.yaml.contains("name: shared"));
        // Up to date: held for the long poll, then nothing.
        assert!(plane.poll("edge-1", own.version).await.is_none());
    }
}
