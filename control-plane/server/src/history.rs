//! Versioned snapshots: which configuration each node gets, under which version.
//!
//! Every accepted change of the directory makes a new [`Generation`]. Its version is the
//! previous one plus one, or the current wall-clock time in milliseconds since the Unix epoch
//! when that is larger. The wall clock keeps versions going forward across restarts (nothing
//! is persisted) and keeps replicas that watch the same files close to each other: a proxy
//! whose polls are spread over several stateless replicas never sees a replica offer a version
//! below the one it already runs for long. The `+ 1` keeps versions increasing when the clock
//! steps back or two changes come within a millisecond.
//!
//! Each file keeps the version of the generation that last changed it, so a change to one
//! node's file is pushed to that node only.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use legate_api::push::SnapshotPush;
use sha2::{Digest, Sha256};

use crate::config_dir::{ConfigFile, DirFiles};

/// How many generations are kept in memory.
pub const KEPT: usize = 10;

/// One file's accepted content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The generation that introduced this content.
    pub version: u64,
    /// SHA-256 of `yaml`, lowercase hex.
    pub hash: String,
    pub yaml: String,
    pub origin: String,
}

/// Everything accepted at one version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generation {
    /// 0 before any configuration was accepted.
    pub version: u64,
    /// `legate.yaml`; none before any configuration was accepted.
    pub shared: Option<Arc<Entry>>,
    /// Nodes with their own file.
    pub nodes: BTreeMap<String, Arc<Entry>>,
    /// Nodes whose own file was removed, with the version that removed it: they fall back to
    /// the shared file, which must reach them as newer than their old file even when the
    /// shared file itself is older.
    pub fallen_back: BTreeMap<String, u64>,
}

impl Generation {
    /// What `node` runs under this generation.
    pub fn push_for(&self, node: &str) -> Option<SnapshotPush> {
        let (entry, version) = match self.nodes.get(node) {
            Some(own) => (own, own.version),
            None => {
                let shared = self.shared.as_ref()?;
                let since = self.fallen_back.get(node).copied().unwrap_or(0);
                (shared, shared.version.max(since))
            }
        };
        Some(SnapshotPush {
            version,
            hash: entry.hash.clone(),
            yaml: entry.yaml.clone(),
            origin: entry.origin.clone(),
        })
    }
}

/// The last [`KEPT`] generations, newest last.
#[derive(Debug)]
pub struct History {
    generations: VecDeque<Arc<Generation>>,
}

impl Default for History {
    fn default() -> Self {
        History {
            generations: VecDeque::from([Arc::new(Generation::default())]),
        }
    }
}

impl History {
    /// The newest generation.
    pub fn current(&self) -> Arc<Generation> {
        self.generations.back().cloned().unwrap_or_default()
    }

    pub fn generations(&self) -> impl Iterator<Item = &Arc<Generation>> {
        self.generations.iter()
    }

    /// Records checked `files` read at `now_ms` (Unix milliseconds). Returns the new
    /// generation, or `None` when no file's content changed.
    pub fn accept(&mut self, files: &DirFiles, now_ms: u64) -> Option<Arc<Generation>> {
        let current = self.current();
        let version = current.version.saturating_add(1).max(now_ms);
        let shared = carry(current.shared.as_ref(), &files.shared, version);
        let nodes: BTreeMap<String, Arc<Entry>> = files
            .nodes
            .iter()
            .map(|(node, file)| (node.clone(), carry(current.nodes.get(node), file, version)))
            .collect();
        let unchanged = current.shared.as_ref() == Some(&shared) && current.nodes == nodes;
        if unchanged {
            return None;
        }
        let mut fallen_back = current.fallen_back.clone();
        fallen_back.retain(|node, _| !nodes.contains_key(node));
        for node in current.nodes.keys() {
            if !nodes.contains_key(node) {
                fallen_back.insert(node.clone(), version);
            }
        }
        let generation = Arc::new(Generation {
            version,
            shared: Some(shared),
            nodes,
            fallen_back,
        });
        self.generations.push_back(generation.clone());
        while self.generations.len() > KEPT {
            self.generations.pop_front();
        }
        Some(generation)
    }
}

/// The previous entry when the content is the same, otherwise a new one at `version`.
fn carry(previous: Option<&Arc<Entry>>, file: &ConfigFile, version: u64) -> Arc<Entry> {
    let hash = sha256_hex(&file.text);
    match previous {
        Some(previous) if previous.hash == hash => previous.clone(),
        _ => Arc::new(Entry {
            version,
            hash,
            yaml: file.text.clone(),
            origin: file.origin.clone(),
        }),
    }
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        ConfigFile {
            origin: "dir/legate.yaml".into(),
            text: text.into(),
        }
    }

    fn files(shared: &str, nodes: &[(&str, &str)]) -> DirFiles {
        DirFiles {
            shared: file(shared),
            nodes: nodes
                .iter()
                .map(|(node, text)| (node.to_string(), file(text)))
                .collect(),
        }
    }

    #[test]
    fn the_first_version_comes_from_the_clock_and_each_change_adds_one() {
        let mut history = History::default();
        assert_eq!(history.current().version, 0);
        let first = history.accept(&files("a", &[]), 1_000).unwrap();
        assert_eq!(first.version, 1_000);
        // A clock that stands still or steps back still gives a larger version.
        let second = history.accept(&files("b", &[]), 1_000).unwrap();
        assert_eq!(second.version, 1_001);
        let third = history.accept(&files("c", &[]), 5).unwrap();
        assert_eq!(third.version, 1_002);
        // A later clock wins, so a restarted control plane never goes back.
        let fourth = history.accept(&files("d", &[]), 9_000).unwrap();
        assert_eq!(fourth.version, 9_000);
    }

    #[test]
    fn the_same_content_makes_no_new_version() {
        let mut history = History::default();
        history.accept(&files("a", &[]), 1_000).unwrap();
        assert!(history.accept(&files("a", &[]), 2_000).is_none());
        assert_eq!(history.current().version, 1_000);
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_yaml() {
        let mut history = History::default();
        let generation = history.accept(&files("abc", &[]), 1).unwrap();
        let push = generation.push_for("any").unwrap();
        assert_eq!(
            push.hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(push.yaml, "abc");
    }

    #[test]
    fn a_node_with_its_own_file_gets_it_and_only_its_changes() {
        let mut history = History::default();
        history.accept(&files("shared", &[("edge-1", "own")]), 100);
        let generation = history.current();
        assert_eq!(generation.push_for("edge-1").unwrap().yaml, "own");
        assert_eq!(generation.push_for("edge-2").unwrap().yaml, "shared");

        let generation = history
            .accept(&files("shared", &[("edge-1", "own, changed")]), 0)
            .unwrap();
        assert_eq!(generation.push_for("edge-1").unwrap().version, 101);
        // edge-2's configuration did not change, nor does its version.
        assert_eq!(generation.push_for("edge-2").unwrap().version, 100);
    }

    #[test]
    fn a_node_whose_file_is_removed_gets_the_shared_one_as_newer() {
        let mut history = History::default();
        history.accept(&files("shared", &[("edge-1", "own")]), 100);
        history.accept(&files("shared", &[("edge-1", "own 2")]), 0);
        let generation = history.accept(&files("shared", &[]), 0).unwrap();
        let push = generation.push_for("edge-1").unwrap();
        assert_eq!(push.yaml, "shared");
        assert_eq!(push.version, 102);
        assert_eq!(generation.push_for("edge-2").unwrap().version, 100);
    }

    #[test]
    fn nothing_is_offered_before_a_configuration_is_accepted() {
        assert!(History::default().current().push_for("edge-1").is_none());
    }

    #[test]
    fn only_the_last_generations_are_kept() {
        let mut history = History::default();
        for round in 0..(KEPT + 5) {
            history.accept(&files(&format!("v{round}"), &[]), 1);
        }
        assert_eq!(history.generations().count(), KEPT);
        assert_eq!(
            history.current().push_for("n").unwrap().yaml,
            format!("v{}", KEPT + 4)
        );
    }
}
