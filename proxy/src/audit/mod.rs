//! The proxy's side of audit: the one [`AuditLog`] built from the top-level `audit` section at
//! start, shared with every config snapshot's filters (through `BuildContext.resources`) so the
//! chain never forks, its sinks, its health on `/readyz` and `/metrics`, and its flush when
//! Legate stops. Changes to the `audit` section take effect at the next start.

mod lazy;
mod metrics;
mod sinks;

use std::path::PathBuf;

use legate_api::{AuditConfig, ConfigError, LoadedConfig};
use legate_audit::{AuditLog, AuditSettings};
use legate_filters_api::ConfigFolder;

pub use metrics::AuditMetrics;
pub use sinks::build_sinks;

/// The log the `audit` section describes, or `None` without one. Nothing is opened yet: the
/// caller recovers the spools ([`AuditLog::recover`]) before serving and starts the writers
/// ([`AuditLog::start`]) in the runtime; `legate validate` only builds it.
pub fn build(loaded: &LoadedConfig) -> Result<Option<AuditLog>, ConfigError> {
    let Some(audit) = &loaded.config.audit else {
        return Ok(None);
    };
    let sinks = build_sinks(loaded)?;
    Ok(Some(AuditLog::new(settings(loaded, audit), sinks)))
}

fn settings(loaded: &LoadedConfig, audit: &AuditConfig) -> AuditSettings {
    let partition = audit.partition.clone().unwrap_or_else(host_name);
    let spool_dir: PathBuf = ConfigFolder::beside(&loaded.source.origin, &audit.spool_dir);
    let mut settings = AuditSettings::new(partition, spool_dir);
    settings.queue_size = audit.queue_size;
    settings
}

/// This host's name (a pod's name in Kubernetes), the default partition: each replica writes
/// its own chain.
pub(crate) fn host_name() -> String {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    from_kernel
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty() && !name.contains(char::is_whitespace))
        .unwrap_or_else(|| "legate".to_string())
}
