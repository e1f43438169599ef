//! `legate.filters.sip.router` ([`legate_filters_api::ROUTER`]): the terminal filter. It picks where a request goes (the next hop
//! of an in-dialog request, or the cluster or federation partner of the route matching the
//! target domain), runs the client transaction, fails over to the next endpoint on timeout or
//! 503, and returns the final response to the filters before it.
//!
//! ```yaml
//! filters:
//!   - name: legate.filters.sip.router   # no config: routes and clusters are top-level
//! ```
//!
//! Safe in front of untrusted peers: it only routes; trust decisions belong to earlier filters.

mod attempts;
mod cluster;
mod failover;
mod health;
mod peers;
mod service;
mod table;
mod upstream_failure;

use std::sync::Arc;

pub use cluster::Clusters;
pub use peers::PeerRoutes;
pub use service::{CancelSignal, CoreHandle, InDialogRoute, Router};
pub use table::RouteTable;

pub const NAME: &str = legate_filters_api::ROUTER;

/// What the router needs from the snapshot it is built in.
#[derive(Clone)]
pub struct Routing {
    pub routes: Arc<RouteTable>,
    pub clusters: Arc<Clusters>,
    /// How routes to federation partners reach them.
    pub peers: Arc<PeerRoutes>,
    /// For routes that pick their cluster by a directory attribute of the target user.
    pub directories: legate_filters_api::Directories,
}
