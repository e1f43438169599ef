//! The `proxy` section: process-wide SIP behaviour (timers, message limits, draining).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{EdgeConfig, Secret};

/// Settings that apply to every listener and cluster of one proxy process.
///
/// ```yaml
/// proxy:
///   record_route_secret: { file: /run/secrets/legate-rr }
///   timers: { t1: 500ms, t2: 4s, t4: 5s }
///   limits: { max_message_bytes: 65535, max_headers: 128, max_line_bytes: 8192 }
///   shutdown_grace: 30s
///   dialog_idle_timeout: 12h
///   worker_threads: 2
///   edge: { foreign_routes: refuse }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// Key sealing the routing state Legate writes into Record-Route, and what topology
    /// hiding takes out of messages leaving by external listeners.
    ///
    /// Replicas behind one Service must share it, or an in-dialog request reaching another
    /// replica is rejected. When unset each process draws a random key (and warns).
    pub record_route_secret: Option<Secret>,
    /// RFC 3261 transaction timers.
    pub timers: Timers,
    /// Size limits applied before a message is parsed further.
    pub limits: MessageLimits,
    /// How long a stopping proxy keeps serving running transactions.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Dialogs that never see a BYE (or other end signal) are forgotten after this long idle.
    #[serde(with = "humantime_serde")]
    pub dialog_idle_timeout: Duration,
    /// Threads of the SIP engine; unset means one per available core. Each thread reads its own
    /// socket of every listener (SO_REUSEPORT: the kernel spreads peers over them, one peer
    /// address and port to one thread) and runs what it reads to the end, so a message never
    /// moves between threads.
    pub worker_threads: Option<usize>,
    /// How requests arriving on external listeners are treated.
    pub edge: EdgeConfig,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            record_route_secret: None,
            timers: Timers::default(),
            limits: MessageLimits::default(),
            shutdown_grace: Duration::from_secs(30),
            dialog_idle_timeout: Duration::from_secs(12 * 60 * 60),
            worker_threads: None,
            edge: EdgeConfig::default(),
        }
    }
}

/// The RFC 3261 §17 timer base values; the other timers derive from these.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Timers {
    /// Round-trip time estimate. Default 500ms.
    #[serde(with = "humantime_serde")]
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses. Default 4s.
    #[serde(with = "humantime_serde")]
    pub t2: Duration,
    /// Maximum time a message stays in the network. Default 5s.
    #[serde(with = "humantime_serde")]
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// Limits that bound the memory one message can cost before it is rejected.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MessageLimits {
    /// Largest accepted message, headers and body together. Default 65535.
    pub max_message_bytes: usize,
    /// Most header fields one message may carry. Default 128.
    pub max_headers: usize,
    /// Longest start line or header line. Default 8192.
    pub max_line_bytes: usize,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_message_bytes: 65535,
            max_headers: 128,
            max_line_bytes: 8192,
        }
    }
}
