//! `proxy.edge`: how Legate treats what arrives on its external listeners, from partners and
//! from anyone else who can reach them.

use serde::{Deserialize, Serialize};

/// Rules for the DMZ edge.
///
/// ```yaml
/// proxy:
///   edge:
///     foreign_routes: refuse   # refuse (default) | remove
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeConfig {
    /// What to do with a request from an external listener whose Route header names a host
    /// other than Legate (an internal loose router would follow it).
    pub foreign_routes: ForeignRoutes,
}

/// The answer to Route entries a partner wrote that do not name Legate.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ForeignRoutes {
    /// 403: the request is not forwarded.
    #[default]
    Refuse,
    /// The entries are dropped and the request is routed as if they had not been there.
    Remove,
}
