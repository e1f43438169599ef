//! Checks one configuration file the way a proxy would before running it: the schema and
//! semantic checks of `legate-api`, then every listener's filter chain built with the filter
//! registry.
//!
//! What the control plane cannot check, because it belongs to the proxy's machine or the
//! proxy's binary: TLS files and sockets (listeners are not bound), the audit sinks (the audit
//! filter gets a log without sinks; sinks are opened by the proxy at start), LDAP servers (not
//! contacted; their config is checked), and filters registered only in a custom proxy binary.

use legate_api::{Config, ConfigError, LoadedConfig, Source};
use legate_audit::{AuditLog, AuditSettings};
use legate_filters_api::{build_listener_chains, ChainInputs, ConfigFolder, Registry};

use crate::config_dir::ConfigFile;

/// Every problem of `file`, in file order; empty when it may be pushed.
pub fn problems(file: &ConfigFile, registry: &Registry) -> Vec<ConfigError> {
    // Parsed here rather than with `load_str`, which stops at the first semantic problem.
    let config: Config = match serde_yaml::from_str(&file.text) {
        Ok(config) => config,
        // The loader turns the parse error into a located one.
        Err(error) => {
            let located = legate_api::load_str(&file.text, &file.origin).err();
            return vec![
                located.unwrap_or_else(|| ConfigError::whole_file(&file.origin, error.to_string()))
            ];
        }
    };
    let loaded = LoadedConfig {
        config,
        source: Source::new(&file.origin, &file.text),
    };
    let found = legate_api::validate_all(&loaded);
    if !found.is_empty() {
        return found;
    }
    match build_chains(&loaded, registry) {
        Ok(()) => Vec::new(),
        Err(error) => vec![error],
    }
}

/// Every listener's chain, built as the proxy builds them but without a router (chains built
/// here are only checked), and dropped.
fn build_chains(loaded: &LoadedConfig, registry: &Registry) -> Result<(), ConfigError> {
    // The audit filter gets a log without sinks: sinks are opened by the proxy.
    let audit = loaded.config.audit.as_ref().map(|audit| {
        let spool_dir = ConfigFolder::beside(&loaded.source.origin, &audit.spool_dir);
        AuditLog::new(AuditSettings::new("control-plane", spool_dir), Vec::new())
    });
    let resources =
        legate_filters::resources(loaded, legate_directory::checked_only, audit.as_ref())?;
    let inputs = ChainInputs {
        resources,
        ..ChainInputs::default()
    };
    build_listener_chains(registry, loaded, &inputs).map(drop)
}
