//! The `admin` section: where the admin HTTP API listens and how it is protected.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The admin HTTP API (`/healthz`, `/readyz`, `/metrics`, `/config_dump`).
///
/// ```yaml
/// admin:
///   address: 0.0.0.0:9901
///   token_file: /run/secrets/legate-admin-token
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address the admin API binds to. Default `127.0.0.1:9901`.
    pub address: SocketAddr,
    /// File holding the bearer token every admin endpoint except `/healthz` requires.
    ///
    /// Required when `address` is not a loopback address: the config dump and metrics must
    /// not be readable by anyone who can reach the port.
    pub token_file: Option<PathBuf>,
}

impl AdminConfig {
    /// The address used when the `admin` section or its `address` is left out.
    pub const DEFAULT_ADDRESS: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 9901);
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            address: Self::DEFAULT_ADDRESS,
            token_file: None,
        }
    }
}
