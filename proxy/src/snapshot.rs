//! The running configuration as one immutable snapshot: config, built filter chains, routes and
//! clusters. It lives behind an `ArcSwap`; requests and dialogs hold the `Arc` of the snapshot
//! they started under, so swapping in a new one never disturbs them.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use legate_api::{ConfigError, LoadedConfig, Source, Transport};
use legate_audit::AuditLog;
use legate_filters_api::{
    build_listener_chains, BoxSipService, ChainInputs, Directories, Metrics, Registry,
};

use crate::core::Core;
use crate::router::{Clusters, PeerRoutes, RouteTable, Router, Routing};

pub struct Snapshot {
    pub version: u64,
    /// SHA-256 (hex) of the configuration text, as the control plane computes it.
    pub hash: String,
    pub loaded: LoadedConfig,
    pub routing: Routing,
    chains: HashMap<String, BoxSipService>,
}

/// The filters this process knows, fixed before the first snapshot is built: a binary's set of
/// filters is part of the binary, so every snapshot (and `legate validate`) sees the same one.
static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// The registry snapshots build their chains from: what [`install_registry`] installed, or the
/// stock one.
pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(legate_filters::builtins)
}

/// Makes `registry` the one every snapshot uses. Fails (handing it back) when a registry is
/// already in use.
pub fn install_registry(registry: Registry) -> Result<(), Registry> {
    REGISTRY.set(registry)
}

/// The metrics every snapshot's filters register, served on `/metrics`: one set per process,
/// so counts run on across swaps.
pub fn filter_metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Snapshot {
    /// Builds and validates everything a snapshot needs. `core` is the running proxy's, which
    /// the clusters' health checks run on; a snapshot built only to be checked (`legate
    /// validate`, a pushed config before it is accepted) has none. `audit` is the process's one
    /// audit log (built from the `audit` section at start), shared by every snapshot.
    pub fn build(
        loaded: LoadedConfig,
        version: u64,
        core: Option<&Arc<Core>>,
        audit: Option<&AuditLog>,
    ) -> Result<Snapshot, ConfigError> {
        check_proxy_rules(&loaded)?;
        let config = &loaded.config;

        let resources = legate_filters::resources(&loaded, legate_ldap::client, audit)?;
        let directories = resources.get::<Directories>().cloned().unwrap_or_default();
        let peer_routes = PeerRoutes::new(&config.peers, &config.dns)
            .map_err(|message| loaded.source.error("dns", message))?;
        let routing = Routing {
            routes: Arc::new(RouteTable::new(&config.routes)),
            clusters: Arc::new(Clusters::new(&config.clusters, core)),
            peers: Arc::new(peer_routes),
            directories,
        };
        let inputs = ChainInputs {
            resources,
            metrics: filter_metrics().clone(),
            router: Some(BoxSipService::new(Router::new(routing.clone()))),
        };
        let chains = build_listener_chains(registry(), &loaded, &inputs)?;
        Ok(Snapshot {
            version,
            hash: hash_of(&loaded.source.text),
            loaded,
            routing,
            chains,
        })
    }

    pub fn chain(&self, listener: &str) -> Option<&BoxSipService> {
        self.chains.get(listener)
    }

    pub fn source(&self) -> &Source {
        &self.loaded.source
    }
}

/// SHA-256 of a configuration text in lower-case hex: what identifies a snapshot's content.
pub fn hash_of(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Rules that depend on what this proxy can do, beyond the schema's own checks.
fn check_proxy_rules(loaded: &LoadedConfig) -> Result<(), ConfigError> {
    let config = &loaded.config;
    let has_udp_listener = config
        .listeners
        .iter()
        .any(|l| l.transport == Transport::Udp);
    for (index, cluster) in config.clusters.iter().enumerate() {
        if cluster.transport == Transport::Udp && !has_udp_listener {
            return Err(loaded.source.error(
                &format!("clusters[{index}].transport"),
                "a udp cluster needs a udp listener to send from (responses come back to it)",
            ));
        }
        if cluster.transport == Transport::Tls && cluster.tls_ca.is_none() {
            return Err(loaded.source.error(
                &format!("clusters[{index}].tls_ca"),
                "a tls cluster needs `tls_ca`, the bundle its endpoints' certificates chain to",
            ));
        }
    }
    Ok(())
}
