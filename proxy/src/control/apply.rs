//! One pushed snapshot, from text to running: parsed and validated, checked against what can
//! change live, built on a blocking thread (directories and TLS material may be read), then
//! swapped in. Transactions and dialogs already running keep the snapshot they hold.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use legate_api::push::SnapshotPush;
use legate_audit::AuditLog;
use pingora_core::server::ShutdownWatch;

use super::{live_rules, state_file, tls_rotation, ConfigMetrics};
use crate::core::Core;
use crate::engine::Engine;
use crate::snapshot::{hash_of, Snapshot};

pub struct Applier {
    pub engine: Arc<Engine>,
    pub core_slot: Arc<OnceLock<Arc<Core>>>,
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
        let loaded =
            legate_api::load_str(&push.yaml, &push.origin).map_err(|error| error.to_string())?;
        let running = self.engine.snapshot();
        live_rules::check(&running.loaded.config, &loaded).map_err(|error| error.to_string())?;
        drop(running);
        let acceptors = tls_rotation::load(&loaded).map_err(|error| error.to_string())?;

        let (version, core, audit) = (push.version, self.core_slot.clone(), self.audit.clone());
        let built = tokio::task::spawn_blocking(move || {
            Snapshot::build(loaded, version, core, audit.as_ref())
        })
        .await
        .map_err(|error| format!("building the snapshot failed: {error}"))?
        .map_err(|error| error.to_string())?;
        let snapshot = Arc::new(built);
        crate::start::spawn_health_checks(&snapshot, &self.shutdown);
        if let Some(core) = self.core_slot.get() {
            tls_rotation::install(core, acceptors);
        }
        self.engine.swap(snapshot);
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
