//! Checks one configuration file the way a proxy would before running it: the schema and
//! semantic checks of `legate-api`, then every listener's filter chain built with the filter
//! registry.
//!
//! What the control plane cannot check, because it belongs to the proxy's machine or the
//! proxy's binary: TLS files and sockets (listeners are not bound), the audit sinks (the audit
//! filter gets a log without sinks; sinks are opened by the proxy at start), LDAP servers (not
//! contacted; their config is checked), and filters registered only in a custom proxy binary.

use std::sync::Arc;

use legate_api::{Config, ConfigError, LoadedConfig, Source};
use legate_audit::{AuditLog, AuditSettings};
use legate_filters::{
    build_chain, BuildContext, ConfigFolder, Directories, Directory, LdapDirectory, ListenerInfo,
    Peers, Registry, StaticDirectory,
};

use crate::config_dir::ConfigFile;
use crate::router_stand_in::RouterStandIn;

/// The built-in filters and the router stand-in.
pub fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    if let Err(error) = registry.register(Arc::new(RouterStandIn)) {
        tracing::error!(%error, "router stand-in not registered");
    }
    registry
}

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

fn build_chains(loaded: &LoadedConfig, registry: &Registry) -> Result<(), ConfigError> {
    let config = &loaded.config;
    let folder = ConfigFolder(
        std::path::Path::new(&loaded.source.origin)
            .parent()
            .map(|folder| folder.to_path_buf())
            .unwrap_or_default(),
    );
    let directories = directories(loaded, &folder)?;
    let peers = Peers::new(config.peers.clone());
    let audit = config.audit.as_ref().map(|audit| {
        AuditLog::new(
            AuditSettings::new("control-plane", folder.resolve(&audit.spool_dir)),
            Vec::new(),
        )
    });
    for (index, listener) in config.listeners.iter().enumerate() {
        let mut resources = http::Extensions::new();
        resources.insert(directories.clone());
        resources.insert(peers.clone());
        resources.insert(folder.clone());
        if let Some(audit) = &audit {
            resources.insert(audit.clone());
        }
        let context = BuildContext {
            listener: ListenerInfo {
                name: listener.name.as_str().into(),
                side: listener.side,
                transport: listener.transport,
                local_addr: listener.address,
            },
            resources,
        };
        build_chain(registry, &listener.filters, &context).map_err(|error| {
            loaded.source.error(
                &format!("listeners[{index}].filters{}", error.field_path),
                error.message,
            )
        })?;
    }
    Ok(())
}

/// The directories, as the proxy builds them: static files are read (relative paths beside
/// the configuration file); LDAP settings are checked, servers are not contacted.
fn directories(loaded: &LoadedConfig, folder: &ConfigFolder) -> Result<Directories, ConfigError> {
    let mut directories = Directories::new();
    for (index, directory) in loaded.config.directories.iter().enumerate() {
        let built: Arc<dyn Directory> = if let Some(source) = &directory.static_file {
            let file = StaticDirectory::load(&folder.resolve(&source.file)).map_err(|error| {
                loaded.source.error(
                    &format!("directories[{index}].static.file"),
                    error.to_string(),
                )
            })?;
            Arc::new(file)
        } else if let Some(ldap) = &directory.ldap {
            let mut ldap = ldap.clone();
            ldap.tls_ca = ldap.tls_ca.map(|file| folder.resolve(&file));
            if let Some(legate_api::Secret::File(file)) = &ldap.bind_password {
                ldap.bind_password = Some(legate_api::Secret::File(folder.resolve(file)));
            }
            let server = LdapDirectory::from_config(&ldap).map_err(|error| {
                loaded.source.error(
                    &format!("directories[{index}].ldap.{}", error.field),
                    error.message,
                )
            })?;
            Arc::new(server)
        } else {
            continue;
        };
        directories.insert(directory.name.clone(), built);
    }
    Ok(directories)
}
