//! The Legate configuration schema, shared by the proxy and the control plane.
//!
//! This crate owns the YAML format a user writes and the checks that turn a text into a
//! [`Config`] the proxy can build from. It deliberately depends on no proxy crate, so the
//! control plane can validate and push snapshots without linking the data plane.
//!
//! - [`config`] holds the typed schema (`listeners`, `routes`, `clusters`, `peers`, `dns`,
//!   `admin`, `proxy`, `directories`, `audit`).
//! - [`load_file`] / [`load_str`] parse and validate, returning a [`LoadedConfig`] that keeps
//!   its [`Source`] so later checks (for example the proxy's filter registry) can still report
//!   errors as `file:line:column: field.path: message` through [`Source::error`].
//! - [`validate`] reports the first problem in file order, [`validate_all`] every problem
//!   (for a control plane that NACKs with the full list).
//! - [`redacted_json`] renders a config for `/config_dump` with secrets hidden.
//! - [`push`] is the protocol between the control plane and the proxies.
//!
//! ```
//! let loaded = legate_api::load_str(
//!     "listeners:\n  - { name: internal, address: 127.0.0.1:5060, transport: udp, side: internal }\n",
//!     "inline.yaml",
//! )?;
//! assert_eq!(loaded.config.listeners[0].name, "internal");
//! # Ok::<(), legate_api::ConfigError>(())
//! ```

#![forbid(unsafe_code)]

pub mod config;
mod error;
mod load;
mod locate;
pub mod push;
mod redact;
mod source;
mod suggest;
mod token;
mod validate;
mod yaml_error;

pub use config::{
    AdminConfig, AttributeRouting, AuditConfig, AuditSinkConfig, ClientCertificate, ClusterConfig,
    Config, DirectoryConfig, DnsConfig, EdgeConfig, Endpoint, FilterConfig, FilterTemplate,
    ForeignRoutes, HealthCheckConfig, LdapCacheConfig, LdapDirectoryConfig, ListenerConfig,
    LoadBalancing, MessageLimits, PeerConfig, PeerLimits, PeerProtocol, PeerReach, PerSourceLimits,
    PostgresSinkConfig, ProxyConfig, RouteConfig, RouteMatch, RouteTarget, Secret, Side,
    SqliteSinkConfig, StaticDirectoryConfig, StdoutSinkConfig, StreamDeadlines, TemplatePart,
    Timers, TlsConfig, TotalLimits, Transport, WebhookSinkConfig, DEFAULT_GROUP_FILTER,
};
pub use error::ConfigError;
pub use load::{load_file, load_str};
pub use redact::{redacted_json, REDACTED};
pub use source::{LoadedConfig, Source};
pub use token::{read_token_file, TokenError, MIN_TOKEN_CHARS};
pub use validate::{check_domain_pattern, validate, validate_all};
