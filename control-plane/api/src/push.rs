//! The push protocol between `legate-control-plane` and the proxies (the xDS pattern over plain
//! HTTP/1.1 and JSON). Every call carries `Authorization: Bearer <token>`.
//!
//! - `GET /v1/snapshot?node=<id>&version=<v>` — a long poll. When the control plane holds a
//!   snapshot for `node` newer than `v` (0: none yet), it answers `200` with a [`SnapshotPush`]
//!   at once; otherwise it holds the request until one is accepted or [`LONG_POLL`] passes,
//!   then answers `204 No Content`, and the proxy asks again. A long poll (not a stream) keeps
//!   every exchange one small request and answer, survives proxies and load balancers that cut
//!   idle connections, and needs no state on the control plane between polls, so several
//!   control plane replicas can serve the same proxies.
//! - `POST /v1/ack` with an [`Ack`] — the proxy's verdict on the snapshot it was given: applied
//!   (`accepted: true`), or refused with the error (`accepted: false`, the NACK); the proxy
//!   then keeps running the snapshot it had.
//! - `GET /v1/status` — a [`Status`]: every node seen, its acknowledged version and its last
//!   NACK.

use serde::{Deserialize, Serialize};

/// How long the control plane holds a poll before answering `204`.
pub const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(30);

/// One configuration snapshot for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPush {
    /// Monotonic over the control plane's history: a newer snapshot has a larger version.
    pub version: u64,
    /// SHA-256 (hex) of `yaml`: two versions with the same hash carry the same configuration.
    pub hash: String,
    /// The configuration, exactly as the proxy would read it from a file.
    pub yaml: String,
    /// Where it came from (file names), for error messages.
    pub origin: String,
}

/// A proxy's answer to a [`SnapshotPush`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub node: String,
    pub version: u64,
    /// `true`: the snapshot runs now. `false` (a NACK): it was refused, see `error`.
    pub accepted: bool,
    /// Why it was refused (`file:line:column: field: message` when the config is at fault).
    pub error: Option<String>,
}

/// What the control plane knows of its proxies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    /// The newest snapshot version the control plane holds.
    pub version: u64,
    pub nodes: Vec<NodeStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: String,
    /// The newest version the node acknowledged as running (0: none).
    pub acked_version: u64,
    /// The last version the node refused, and why.
    pub last_nack: Option<Nack>,
    /// When the node last polled or acknowledged, in seconds since the Unix epoch.
    pub last_seen_unix: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nack {
    pub version: u64,
    pub error: String,
}
