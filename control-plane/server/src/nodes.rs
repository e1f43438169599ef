//! What the control plane knows of each node: when it last polled or acknowledged, the version
//! it runs, and the last version it refused.

use std::collections::BTreeMap;

use legate_api::push::{Ack, Nack, NodeStatus, Status};

/// Beyond this many nodes, new ones are served but not tracked, so a client inventing node ids
/// cannot grow the table without bound.
const MAX_NODES: usize = 10_000;
/// Longest node id accepted (a DNS name's limit; pod names fit).
const MAX_NODE_ID: usize = 253;
/// Longest NACK reason kept.
const MAX_ERROR: usize = 4_096;

/// A node id as a pod or host name: letters, digits, `.`, `-`, `_`.
pub fn valid_node_id(node: &str) -> bool {
    !node.is_empty()
        && node.len() <= MAX_NODE_ID
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[derive(Debug, Default)]
pub struct Nodes {
    by_id: BTreeMap<String, NodeStatus>,
}

impl Nodes {
    /// `node` polled at `now_unix`.
    pub fn seen(&mut self, node: &str, now_unix: u64) {
        if let Some(status) = self.entry(node) {
            status.last_seen_unix = now_unix;
        }
    }

    /// `ack` arrived at `now_unix`: an ACK sets the running version, a NACK the last refusal.
    pub fn ack(&mut self, ack: &Ack, now_unix: u64) {
        let Some(status) = self.entry(&ack.node) else {
            return;
        };
        status.last_seen_unix = now_unix;
        if ack.accepted {
            status.acked_version = ack.version;
        } else {
            let mut error = ack.error.clone().unwrap_or_default();
            truncate(&mut error, MAX_ERROR);
            status.last_nack = Some(Nack {
                version: ack.version,
                error,
            });
        }
    }

    pub fn status(&self, version: u64) -> Status {
        Status {
            version,
            nodes: self.by_id.values().cloned().collect(),
        }
    }

    fn entry(&mut self, node: &str) -> Option<&mut NodeStatus> {
        if !self.by_id.contains_key(node) && self.by_id.len() >= MAX_NODES {
            tracing::warn!(
                node,
                "too many nodes to track; this one is served untracked"
            );
            return None;
        }
        Some(
            self.by_id
                .entry(node.to_owned())
                .or_insert_with(|| NodeStatus {
                    node: node.to_owned(),
                    acked_version: 0,
                    last_nack: None,
                    last_seen_unix: 0,
                }),
        )
    }
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(version: u64, error: Option<&str>) -> Ack {
        Ack {
            node: "edge-1".into(),
            version,
            accepted: error.is_none(),
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn acks_and_nacks_are_kept_apart() {
        let mut nodes = Nodes::default();
        nodes.seen("edge-1", 10);
        nodes.ack(&ack(5, None), 11);
        nodes.ack(&ack(6, Some("legate.yaml:3:7: bad")), 12);
        let status = nodes.status(6);
        assert_eq!(status.version, 6);
        let node = &status.nodes[0];
        assert_eq!(node.acked_version, 5);
        assert_eq!(
            node.last_nack,
            Some(Nack {
                version: 6,
                error: "legate.yaml:3:7: bad".into()
            })
        );
        assert_eq!(node.last_seen_unix, 12);
    }

    #[test]
    fn node_ids_are_names() {
        assert!(valid_node_id("legate-0.edge_1"));
        assert!(!valid_node_id(""));
        assert!(!valid_node_id("../etc"));
        assert!(!valid_node_id("a b"));
        assert!(!valid_node_id(&"a".repeat(300)));
    }

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        let mut text = "é".repeat(3_000);
        truncate(&mut text, MAX_ERROR);
        assert!(text.len() <= MAX_ERROR);
    }
}
