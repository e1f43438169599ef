//! The typed configuration schema: what a Legate YAML file may contain.
//!
//! Every struct rejects unknown fields so a misspelt key is an error, not a silently ignored
//! setting. Optional sections have defaults, so the smallest valid file is one listener.
//! Durations are written as humantime strings (`500ms`, `4s`, `12h`).
//!
//! The loading functions are re-exported here as well as at the crate root, so
//! `legate_api::config::load_file` and `legate_api::load_file` are the same function.

mod admin;
mod audit;
mod cluster;
mod directory;
mod dns;
mod edge;
mod endpoint;
mod ldap_directory;
mod listener;
mod peer;
mod proxy;
mod route;
mod secret;
mod telemetry;

use serde::{Deserialize, Serialize};

pub use admin::AdminConfig;
pub use audit::{
    AuditConfig, AuditSinkConfig, PostgresSinkConfig, SqliteSinkConfig, StdoutSinkConfig,
    WebhookSinkConfig,
};
pub use cluster::{ClusterConfig, HealthCheckConfig, LoadBalancing};
pub use directory::{DirectoryConfig, StaticDirectoryConfig, StaticUser};
pub use dns::DnsConfig;
pub use edge::{EdgeConfig, ForeignRoutes, PerSourceLimits, StreamDeadlines, TotalLimits};
pub use endpoint::Endpoint;
pub use ldap_directory::{
    FilterTemplate, LdapCacheConfig, LdapDirectoryConfig, TemplatePart, DEFAULT_GROUP_FILTER,
};
pub use listener::{FilterConfig, ListenerConfig, Side, TlsConfig, Transport};
pub use peer::{ClientCertificate, PeerConfig, PeerLimits, PeerProtocol, PeerReach};
pub use proxy::{MessageLimits, ProxyConfig, Timers};
pub use route::{AttributeRouting, RouteConfig, RouteMatch, RouteTarget};
pub use secret::Secret;
pub use telemetry::{
    AddressDisplay, OtlpConfig, OtlpProtocol, TelemetryConfig, TraceContextMode, TraceContextSides,
};

pub use crate::{
    load_file, load_str, redacted_json, validate, validate_all, ConfigError, LoadedConfig, Source,
    REDACTED,
};

/// One complete configuration snapshot: everything a proxy needs to serve.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The admin HTTP API (health, readiness, metrics, config dump).
    #[serde(default)]
    pub admin: AdminConfig,
    /// Process-wide SIP settings: timers, limits, Record-Route secret, draining.
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// Where Legate accepts SIP traffic, and the filter chain each listener runs.
    pub listeners: Vec<ListenerConfig>,
    /// Which cluster or partner a request goes to, by target domain and the side it arrived on.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Groups of upstream endpoints that routes point at.
    #[serde(default)]
    pub clusters: Vec<ClusterConfig>,
    /// Where users and groups come from, by name (policy, authn and address mapping use them).
    #[serde(default)]
    pub directories: Vec<DirectoryConfig>,
    /// Federation partners: their domains, how to reach them, what proves who they are.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// The resolver used to discover partners in DNS (peers with `reach: { dns: true }`).
    #[serde(default)]
    pub dns: DnsConfig,
    /// Where audit records go (sinks) and wait while a sink is down (spool). Needed by the
    /// `legate.filters.sip.audit` filter.
    #[serde(default)]
    pub audit: Option<AuditConfig>,
    /// Traces of the transactions that cross Legate, exported over OTLP.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
}
