//! The `dns` section: the resolver Legate discovers federation partners with (RFC 3263).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Name servers for partner discovery. Only peers with `reach: { dns: true }` are looked up in
/// DNS ("open federation"); without such a peer no query is ever made.
///
/// ```yaml
/// dns:
///   servers: ["10.0.0.53:53"]   # left out: the system's resolver configuration (resolv.conf)
///   timeout: 2s
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Name servers to ask, over UDP (TCP when an answer is truncated). Empty means the name
    /// servers of the system's resolver configuration.
    pub servers: Vec<SocketAddr>,
    /// How long one query waits for an answer. Default 2s.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(2),
        }
    }
}
