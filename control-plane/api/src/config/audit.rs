//! The `audit` section: where audit records go, and where they wait while a sink is down.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Secret;

/// The audit pipeline. Listeners record with the `legate.filters.sip.audit` filter, which needs
/// this section.
///
/// ```yaml
/// audit:
///   partition: legate-a        # this writer's chain; default: the host name
///   spool_dir: audit-spool     # beside the config file by default
///   queue_size: 10000          # records held in memory per sink before spooling
///   sinks:
///     - { name: local, sqlite: { file: audit.db, retention: 90d } }
///     - { name: central, postgres: { url: { file: /run/secrets/audit-db-url }, pool_size: 4 } }
///     - { name: siem, webhook: { url: "https://siem.corp.example/legate", batch_size: 100,
///                                timeout: 5s } }
///     - { name: log, stdout: {} }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The hash chain this process writes; each replica needs its own. Default: the host name
    /// (a pod's name in Kubernetes).
    pub partition: Option<String>,
    /// Where records wait while a sink is down (one JSON-lines file per sink); a relative path
    /// is taken from the configuration file's folder.
    #[serde(default = "default_spool_dir")]
    pub spool_dir: PathBuf,
    /// Records held in memory for each sink; beyond that they go to the spool.
    #[serde(default = "default_queue_size")]
    pub queue_size: usize,
    /// Every record goes to every sink, in order.
    pub sinks: Vec<AuditSinkConfig>,
}

fn default_spool_dir() -> PathBuf {
    PathBuf::from("audit-spool")
}

fn default_queue_size() -> usize {
    10_000
}

/// One named sink, of exactly one kind.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditSinkConfig {
    /// Shown in metrics and health, and names the sink's spool file.
    pub name: String,
    pub sqlite: Option<SqliteSinkConfig>,
    pub postgres: Option<PostgresSinkConfig>,
    pub webhook: Option<WebhookSinkConfig>,
    pub stdout: Option<StdoutSinkConfig>,
}

impl AuditSinkConfig {
    /// The kinds given, by their field names (exactly one in a valid config).
    pub fn kinds(&self) -> Vec<&'static str> {
        let given = [
            ("sqlite", self.sqlite.is_some()),
            ("postgres", self.postgres.is_some()),
            ("webhook", self.webhook.is_some()),
            ("stdout", self.stdout.is_some()),
        ];
        given
            .into_iter()
            .filter_map(|(kind, set)| set.then_some(kind))
            .collect()
    }
}

/// Records in a SQLite file: the embedded default, and queryable with `legate audit`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SqliteSinkConfig {
    /// The database file; a relative path is taken from the configuration file's folder.
    pub file: PathBuf,
    /// Records older than this are deleted; kept forever when unset.
    #[serde(default, with = "humantime_serde::option")]
    pub retention: Option<Duration>,
}

/// Records in PostgreSQL, shared by every replica (each writes its own partition).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgresSinkConfig {
    /// `postgres://user:password@host/db`; a secret, since it usually holds the password.
    pub url: Secret,
    /// Connections kept open.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// The CA the server's certificate must chain to (PEM). With it, connections use TLS
    /// (verified, naming the URL's host); without it, only a URL with `sslmode=require` does,
    /// trusting the system's roots.
    #[serde(default)]
    pub tls_ca: Option<std::path::PathBuf>,
}

fn default_pool_size() -> usize {
    4
}

/// Records POSTed as JSON batches to a compliance tool or SIEM.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// `http://` or `https://`.
    pub url: String,
    /// The most records in one POST (records waiting are sent at once, up to this many).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// A POST not answered in this time failed (and is retried).
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_batch_size() -> usize {
    100
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

/// Records as JSON lines on standard output (Legate logs to standard error). Takes no settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkConfig {}
