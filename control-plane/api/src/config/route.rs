//! The `routes` section: which cluster or federation partner a request goes to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Side;

/// Sends requests whose target domain (and arrival side) match to a cluster, or to a
/// federation partner (a `peers` entry, reached over TLS). Exactly one of `cluster` and `peer`.
///
/// ```yaml
/// routes:
///   - name: to-remote
///     match: { domain: "*.remote.example", side: internal }
///     cluster: remote-peer
///   - name: to-partner
///     match: { domain: partner.example, side: internal }
///     peer: partner
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique name, used in logs and audit records.
    pub name: String,
    /// What a request must look like to take this route.
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// Name of the cluster (from `clusters`) the request is sent to; with
    /// `by_directory_attribute`, the cluster for users the attribute does not place.
    pub cluster: Option<String>,
    /// Name of the federation partner (from `peers`) the request is sent to: over TLS, to the
    /// address its `reach` gives or discovers for the target domain, verified as that domain.
    pub peer: Option<String>,
    /// Several IM systems serving one domain (a migration, a merger): the target user's
    /// directory attribute picks the cluster.
    pub by_directory_attribute: Option<AttributeRouting>,
}

/// Where a route sends what it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteTarget<'a> {
    /// A cluster, by name.
    Cluster(&'a str),
    /// A federation partner, by name.
    Peer(&'a str),
}

impl RouteConfig {
    /// The route's target; `None` unless exactly one of `cluster` and `peer` is given (which
    /// validation ensures).
    pub fn target(&self) -> Option<RouteTarget<'_>> {
        match (&self.cluster, &self.peer) {
            (Some(cluster), None) => Some(RouteTarget::Cluster(cluster)),
            (None, Some(peer)) => Some(RouteTarget::Peer(peer)),
            _ => None,
        }
    }
}

/// Picks a route's cluster by an attribute of the target user.
///
/// ```yaml
/// by_directory_attribute:
///   directory: corp
///   attribute: imHomeSystem
///   clusters: { legacy: im-legacy, modern: im-modern }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AttributeRouting {
    /// The directory (from `directories`) the target user is looked up in.
    pub directory: String,
    /// The attribute whose value picks the cluster.
    pub attribute: String,
    /// Attribute value → cluster name.
    pub clusters: BTreeMap<String, String>,
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
