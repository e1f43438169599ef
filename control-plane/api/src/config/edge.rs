//! `proxy.edge`: how Legate treats what arrives on its external listeners, from partners and
//! from anyone else who can reach them: which Route entries it follows, and what one source
//! address (and all of them together) may cost.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Rules for the DMZ edge. Every limit has a default, so the section is optional.
///
/// ```yaml
/// proxy:
///   edge:
///     foreign_routes: refuse          # refuse (default) | remove
///     per_source:                     # one source IP address on the external listeners
///       requests_per_second: 200      # token bucket, checked before a request is parsed
///       burst: 400
///       ban_for: 60s                  # after `burst` requests over the rate within a second
///       max_transactions: 1000        # requests waiting for their final answer
///       max_connections: 32
///       answer_amplification: 3       # UDP answers: at most 3x the bytes the source sent
///     total:                          # all external sources together
///       max_transactions: 100000      # answered ones too (Timer J keeps them 64*T1)
///       max_connections: 10000
///     streams:                        # every TCP/TLS connection
///       header_timeout: 10s           # from a message's first byte to its empty line
///       body_timeout: 10s             # from the empty line to the body's last byte
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeConfig {
    /// What to do with a request from an external listener whose Route header names a host
    /// other than Legate (an internal loose router would follow it).
    pub foreign_routes: ForeignRoutes,
    /// What one source address may cost on the external listeners.
    pub per_source: PerSourceLimits,
    /// What all sources on the external listeners may cost together.
    pub total: TotalLimits,
    /// Deadlines for each message on a stream connection, so a slow sender cannot hold one.
    pub streams: StreamDeadlines,
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

/// Limits for one source IP address on the external listeners.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PerSourceLimits {
    /// Requests (datagrams, or messages framed on a stream) a source may send each second,
    /// on average. Checked before a request is parsed; over it, requests are dropped.
    /// Responses answer what Legate sent and are not counted, unless they match nothing.
    pub requests_per_second: u32,
    /// How many requests a source may send at once above the rate.
    pub burst: u32,
    /// A source that sends `burst` requests over its rate within one second is banned this
    /// long: everything it sends is dropped unread and its connections are refused.
    #[serde(with = "humantime_serde")]
    pub ban_for: Duration,
    /// Requests from a source that may wait for their final answer at once. Over it, 503.
    pub max_transactions: usize,
    /// Connections a source may hold open on the external listeners.
    pub max_connections: usize,
    /// UDP answers to a source are limited to this many times the bytes it sent, so that a
    /// forged source address cannot turn Legate into a reflection amplifier.
    pub answer_amplification: u32,
}

impl Default for PerSourceLimits {
    fn default() -> Self {
        PerSourceLimits {
            requests_per_second: 200,
            burst: 400,
            ban_for: Duration::from_secs(60),
            max_transactions: 1000,
            max_connections: 32,
            answer_amplification: 3,
        }
    }
}

/// Limits for all sources on the external listeners together.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TotalLimits {
    /// Server transactions alive at once for all external sources, answered ones included
    /// (they absorb retransmissions for Timer J, 64·T1).
    pub max_transactions: usize,
    /// Connections open at once on the external listeners. Legate keeps it below its
    /// file-descriptor limit, with room to spare for its own sockets and files.
    pub max_connections: usize,
}

impl Default for TotalLimits {
    fn default() -> Self {
        TotalLimits {
            max_transactions: 100_000,
            max_connections: 10_000,
        }
    }
}

/// How long one message may take to arrive on a TCP or TLS connection. A connection whose
/// message misses its deadline is closed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct StreamDeadlines {
    /// From a message's first byte to the empty line that ends its header section.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// From the end of the header section to the last byte of the body.
    #[serde(with = "humantime_serde")]
    pub body_timeout: Duration,
}

impl Default for StreamDeadlines {
    fn default() -> Self {
        StreamDeadlines {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
        }
    }
}
