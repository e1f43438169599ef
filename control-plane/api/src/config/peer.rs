//! The `peers` section: federation partners, how to reach them and how they prove who they are.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One federated organisation.
///
/// ```yaml
/// peers:
///   - name: partner
///     domains: [partner.example]
///     reach: { address: 192.0.2.10:5061 }      # or { dns: true } for RFC 3263 discovery
///     trust_bundle: /etc/legate/partner-ca.pem
///     # optional: what Legate presents to this partner instead of its listener's certificate
///     client_certificate: { certificate: /etc/legate/acme.crt, private_key: /etc/legate/acme.key }
///     limits: { max_sessions: 1000, max_subscriptions: 5000,
///               requests_per_second: 100, burst: 200, max_subscriptions_per_user: 50 }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The name used in logs, metrics and audit.
    pub name: String,
    /// The SIP domains this partner owns: its requests may only speak for these.
    pub domains: Vec<String>,
    /// The protocol the partner speaks.
    #[serde(default)]
    pub protocol: PeerProtocol,
    /// How to reach the partner for requests going out.
    pub reach: PeerReach,
    /// PEM CAs the partner's certificates must chain to, in and out.
    pub trust_bundle: PathBuf,
    /// The certificate Legate presents when it connects to the partner. Unset (the usual case),
    /// it is the certificate of the TLS listener the request leaves by, normally the external
    /// one: the organisation's domain certificate.
    pub client_certificate: Option<ClientCertificate>,
    /// What the partner may use at most.
    #[serde(default)]
    pub limits: PeerLimits,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PeerProtocol {
    #[default]
    Sip,
}

/// A fixed address, or discovery of the partner's domain in DNS (RFC 3263 NAPTR/SRV/A: "open
/// federation", off unless asked for).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct PeerReach {
    pub address: Option<SocketAddr>,
    #[serde(default)]
    pub dns: bool,
}

/// A certificate and its key, PEM files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientCertificate {
    /// PEM certificate chain, the domain certificate first.
    pub certificate: PathBuf,
    /// PEM private key of the certificate.
    pub private_key: PathBuf,
}

/// Per-partner limits. Unset means unlimited; over a limit the partner gets 503 with
/// Retry-After, and the refusal is counted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct PeerLimits {
    /// Concurrent IM sessions (dialogs other than subscriptions).
    pub max_sessions: Option<u32>,
    /// Concurrent presence subscriptions.
    pub max_subscriptions: Option<u32>,
    /// Sustained requests per second, with `burst` above it.
    pub requests_per_second: Option<u32>,
    pub burst: Option<u32>,
    /// Concurrent subscriptions by one remote user.
    pub max_subscriptions_per_user: Option<u32>,
}
