//! The `routes` section: which cluster a request goes to.

use serde::{Deserialize, Serialize};

use super::Side;

/// Sends requests whose target domain (and arrival side) match to a cluster.
///
/// ```yaml
/// routes:
///   - name: to-remote
///     match: { domain: "*.remote.example", side: internal }
///     cluster: remote-peer
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique name, used in logs and audit records.
    pub name: String,
    /// What a request must look like to take this route.
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// Name of the cluster (from `clusters`) the request is sent to.
    pub cluster: String,
}

/// The conditions of a route.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// Target domain: an exact name (`remote.example`), one leading wildcard label
    /// (`*.remote.example`, which matches subdomains only), or `*` for any domain.
    pub domain: String,
    /// Only match requests that arrived on a listener of this side; any side when unset.
    pub side: Option<Side>,
}
