//! The `clusters` section: upstream endpoints that routes send requests to.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Endpoint, Transport};

/// A group of interchangeable upstream endpoints.
///
/// ```yaml
/// clusters:
///   - name: remote-peer
///     transport: tls
///     load_balancing: consistent_hash
///     endpoints: [192.0.2.10:5061, "sip.remote.example:5061"]
///     health_check: { interval: 5s, timeout: 2s }
///     tls_server_name: sip.remote.example
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Unique name, referenced by routes.
    pub name: String,
    /// Transport used towards the endpoints.
    pub transport: Transport,
    /// How an endpoint is picked for a new transaction.
    #[serde(default)]
    pub load_balancing: LoadBalancing,
    /// The endpoints, addresses or names (see [`Endpoint`]); at least one.
    pub endpoints: Vec<Endpoint>,
    /// SIP OPTIONS probing; without it every endpoint counts as healthy.
    pub health_check: Option<HealthCheckConfig>,
    /// Name checked against the endpoints' certificates (`tls` clusters only).
    pub tls_server_name: Option<String>,
    /// PEM CAs trusted for the endpoints' certificates; required for `tls` clusters (federation
    /// peers are pinned to the CAs configured for them, never to a general trust store).
    pub tls_ca: Option<PathBuf>,
}

/// How a cluster spreads new transactions over its endpoints.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancing {
    /// Each new transaction takes the next healthy endpoint.
    #[default]
    RoundRobin,
    /// Hash on Call-ID, so every request of a dialog reaches the same endpoint.
    ConsistentHash,
}

/// Active health checking with SIP OPTIONS.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// Time between probes. Default 5s.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How long to wait for a probe's answer; must be shorter than `interval`. Default 2s.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Consecutive failed probes before an endpoint is taken out. Default 2.
    pub unhealthy_threshold: u32,
    /// Consecutive good probes before an endpoint is put back. Default 1.
    pub healthy_threshold: u32,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            unhealthy_threshold: 2,
            healthy_threshold: 1,
        }
    }
}
