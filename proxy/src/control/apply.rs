//! One pushed snapshot, from text to running: parsed and validated, checked against what can
//! change live, its new listeners bound and its TLS material loaded, built on a blocking thread
//! (directories may be read), then swapped in. Transactions and dialogs already running keep
//! the snapshot they hold.

use std::path::PathBuf;
use std::sync::Arc;

use legate_api::push::SnapshotPush;
use legate_audit::AuditLog;
use pingora_core::server::ShutdownWatch;

use super::{live_rules, state_file, ConfigMetrics};
use crate::engine::Engine;
use crate::lifecycle::{change, tls_rotation};
use crate::snapshot::{hash_of, Snapshot};
use crate::transport::TlsClients;

pub struct Applier {
    pub engine: Arc<Engine>,
    pub audit: Option<AuditLog>,
    pub state_dir: PathBuf,
    pub metrics: ConfigMetrics,
    pub shutdown: ShutdownWatch,
}

impl Applier {
    /// Swaps `push` in, or says why not (the NACK's error) and leaves the running one.
    pub async fn apply(&self, push: &SnapshotPush) -> Result<(), String> {
        if hash_of(&push.yaml) != push.hash {
            return Err(format!(
                "{}: the configuration does not match its hash {}",
                push.origin, push.hash
            ));
        }
        let mut loaded =
            legate_api::load_str(&push.yaml, &push.origin).map_err(|error| error.to_string())?;
        loaded
            .resolve_endpoint_names()
            .map_err(|error| error.to_string())?;
        let running = self.engine.snapshot();
        live_rules::check(&running.loaded.config, &loaded).map_err(|error| error.to_string())?;
        let acceptors = tls_rotation::load(&loaded).map_err(|error| error.to_string())?;
        let tls_clients = TlsClients::new(&loaded.config).map_err(|error| {
            format!(
                "{}: outbound tls (cluster tls_ca, peer trust_bundle or certificates): {error}",
                push.origin
            )
        })?;
        // Last, so a refusal above leaves no socket bound.
        let workers = self.engine.core.workers.count();
        let listeners = change::prepare(&running.loaded.config, &loaded, workers)
            .map_err(|error| error.to_string())?;
        let drain = running.loaded.config.proxy.shutdown_grace;
        let telemetry_changed = running.loaded.config.telemetry != loaded.config.telemetry;
        drop(running);

        let (version, core, audit) = (push.version, self.engine.core.clone(), self.audit.clone());
        let built = tokio::task::spawn_blocking(move || {
            Snapshot::build(loaded, version, Some(&core), audit.as_ref())
        })
        .await
        .map_err(|error| format!("building the snapshot failed: {error}"))?
        .map_err(|error| error.to_string())?;
        let snapshot = Arc::new(built);
        let core = &self.engine.core;
        if telemetry_changed {
            core.start_telemetry(&snapshot.loaded.config.telemetry)
                .map_err(|error| format!("{}: telemetry: {error}", push.origin))?;
        }
        crate::start::spawn_health_checks(&snapshot, &self.shutdown);
        tls_rotation::install(core, acceptors);
        core.connections.replace_tls_clients(tls_clients);
        self.engine.swap(snapshot);
        listeners.install(core, &self.shutdown, drain);
        self.metrics.swaps.inc();
        self.metrics.set_version(push.version);
        tracing::info!(version = push.version, hash = %push.hash, "configuration swapped in");

        if let Err(error) = state_file::save(&self.state_dir, push) {
            // The snapshot runs; only a restart without the control plane would miss it.
            tracing::warn!(%error, dir = %self.state_dir.display(), "cannot keep the snapshot on disk");
        }
        Ok(())
    }
}
