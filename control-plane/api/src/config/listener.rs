//! The `listeners` section: sockets Legate accepts SIP on, and their filter chains.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::redact::redacted_filter_config;

/// One bound socket and the filter chain every request arriving on it runs through.
///
/// ```yaml
/// listeners:
///   - name: external
///     address: 0.0.0.0:5061
///     transport: tls
///     side: external
///     advertised_host: sip.example.com
///     tls: { certificate: /etc/legate/tls.crt, private_key: /etc/legate/tls.key }
///     filters:
///       - name: legate.filters.sip.router
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Unique name, used in logs and metric labels.
    pub name: String,
    /// Address to bind.
    pub address: SocketAddr,
    /// Transport spoken on the socket.
    pub transport: Transport,
    /// Whether traffic arriving here comes from the organisation's own systems or from peers.
    pub side: Side,
    /// `host` or `host:port` written into Via and Record-Route instead of the bound address,
    /// for when Legate is reached through NAT or a load balancer.
    pub advertised_host: Option<String>,
    /// Certificate material; required for (and only allowed on) `tls` listeners.
    pub tls: Option<TlsConfig>,
    /// The ordered filter chain; the last filter is normally the router.
    #[serde(default)]
    pub filters: Vec<FilterConfig>,
}

/// A SIP transport.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// SIP over UDP datagrams.
    Udp,
    /// SIP over TCP streams, framed by Content-Length.
    Tcp,
    /// SIP over TLS streams.
    Tls,
}

impl Transport {
    /// The name used in the YAML file (`udp`, `tcp`, `tls`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// Whether the transport runs over a stream socket (TCP or TLS), which matters for
    /// deciding whether two listeners would fight over the same port.
    pub fn is_stream(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of the organisation's boundary traffic arrives from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The organisation's own IM systems.
    Internal,
    /// Federated peers (other organisations).
    External,
}

impl Side {
    /// The name used in the YAML file (`internal`, `external`).
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Internal => "internal",
            Side::External => "external",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Certificate material for a `tls` listener.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain presented to clients.
    pub certificate: PathBuf,
    /// PEM private key of the certificate.
    pub private_key: PathBuf,
    /// When set, clients must present a certificate chaining to one of these PEM CAs.
    pub client_ca: Option<PathBuf>,
}

/// One entry of a filter chain: a registered filter name and its own config.
///
/// The config is kept as raw YAML here because each filter owns its schema; the proxy's
/// filter registry parses and validates it, reporting errors through
/// [`Source::error`](crate::Source::error) with paths like `listeners[0].filters[1].config.rules[0]`.
/// `Debug` hides credential-looking values in it, as `/config_dump` does.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Registered filter name, e.g. `legate.filters.sip.router`.
    pub name: String,
    /// The filter's own configuration; `null` when left out.
    #[serde(default)]
    pub config: serde_yaml::Value,
}

impl fmt::Debug for FilterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterConfig")
            .field("name", &self.name)
            .field("config", &redacted_filter_config(&self.config))
            .finish()
    }
}
