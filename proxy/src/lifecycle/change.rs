//! Listeners added, removed or moved by a snapshot. The new sockets are bound before the
//! snapshot is accepted, so an address in use or an unreadable certificate NACKs it with the
//! listener's field named, and nothing running changes. Once the snapshot is swapped in, the
//! new listeners join the set and start reading, and the ones gone (or moved away) retire:
//! they stop accepting and drain for `proxy.shutdown_grace`, then close.

use std::sync::Arc;
use std::time::Duration;

use legate_api::{Config, ConfigError, ListenerConfig, LoadedConfig};
use pingora_core::server::ShutdownWatch;

use super::bind::{bind_listener, BoundListener};
use super::serve;
use crate::core::{Core, Listeners};

/// What a snapshot changes about the listeners, its new sockets already bound.
pub struct ListenerChanges {
    added: Vec<BoundListener>,
    /// Names of running listeners to retire.
    removed: Vec<String>,
}

/// A listener that must be rebound: new, or on another socket than before.
fn rebound(running: &Config, listener: &ListenerConfig) -> bool {
    running
        .listeners
        .iter()
        .find(|old| old.name == listener.name)
        .is_none_or(|old| old.address != listener.address || old.transport != listener.transport)
}

/// Binds what `next` adds or moves; the error names the listener's field.
pub fn prepare(
    running: &Config,
    next: &LoadedConfig,
    workers: usize,
) -> Result<ListenerChanges, ConfigError> {
    let mut added = Vec::new();
    for (index, listener) in next.config.listeners.iter().enumerate() {
        if !rebound(running, listener) {
            continue;
        }
        let bound = bind_listener(listener, workers).map_err(|error| {
            next.source
                .error(&format!("listeners[{index}]"), format!("{error:#}"))
        })?;
        added.push(bound);
    }
    let removed = running
        .listeners
        .iter()
        .filter(|old| {
            next.config
                .listeners
                .iter()
                .find(|new| new.name == old.name)
                .is_none_or(|new| rebound(running, new))
        })
        .map(|old| old.name.clone())
        .collect();
    Ok(ListenerChanges { added, removed })
}

impl ListenerChanges {
    /// Opens the added listeners and retires the removed ones; call once the snapshot that
    /// knows the new listeners is the engine's.
    pub fn install(self, core: &Arc<Core>, shutdown: &ShutdownWatch, drain: Duration) {
        let retiring: Vec<_> = core
            .listeners()
            .serving()
            .filter(|l| self.removed.iter().any(|name| **name == *l.info.name))
            .cloned()
            .collect();
        let opened: Vec<_> = self
            .added
            .into_iter()
            .filter_map(|bound| serve::open(bound, core))
            .collect();
        if !opened.is_empty() {
            core.update_listeners(|current| {
                let mut all: Vec<_> = current.iter().cloned().collect();
                all.extend(opened.iter().map(|o| o.runtime.clone()));
                Listeners::new(all)
            });
        }
        if let Some(inbound) = core.connections.inbound() {
            for listener in opened {
                listener.serve(core, &inbound, shutdown);
            }
        }
        for listener in retiring {
            serve::retire(core, listener, drain);
        }
    }
}
