//! The server lifecycle on pingora: the SIP engine and the admin API run as pingora background
//! services; SIGTERM first drains the engine (no new dialogs, running transactions finish within
//! the grace period) and flushes the audit log (writers deliver what is queued, the rest is
//! spooled), then lets pingora stop the runtimes. SIGINT stops at once, spooling what audit
//! still holds.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use legate_admin::{AdminServer, AdminState, Metrics};
use legate_api::LoadedConfig;
use legate_audit::AuditLog;
use pingora_core::server::configuration::ServerConf;
use pingora_core::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};
use pingora_core::services::background::{background_service, BackgroundService};
use tokio::signal::unix::{signal, SignalKind};

use crate::control::{self, ConfigMetrics};
use crate::engine::Engine;
use crate::filter_metrics::FilterApiMetrics;
use crate::lifecycle::bind::{bind_all, Bound};
use crate::snapshot::Snapshot;
use crate::start;

/// Runs Legate on `loaded` (as snapshot `version`) until a signal stops it; with `control`, new
/// snapshots are taken from the control plane while it runs.
pub fn run(
    mut loaded: LoadedConfig,
    version: u64,
    control: Option<control::Settings>,
) -> Result<()> {
    loaded
        .resolve_endpoint_names()
        .map_err(anyhow::Error::new)?;
    let grace = loaded.config.proxy.shutdown_grace;
    let audit = crate::audit::build(&loaded).map_err(anyhow::Error::new)?;
    if let Some(log) = &audit {
        // Spool problems stop Legate here, before it serves anything unrecorded.
        log.recover()
            .map_err(|error| anyhow::anyhow!("audit.spool_dir: {error}"))?;
    }
    let metrics = Arc::new(Metrics::new());
    let core = start::build_core(&loaded.config, metrics.clone())?;
    core.start_telemetry(&loaded.config.telemetry)
        .map_err(|error| anyhow::anyhow!("telemetry: {error}"))?;
    let snapshot = Snapshot::build(loaded, version, Some(&core), audit.as_ref())
        .map_err(anyhow::Error::new)?;
    let bound = bind_all(&snapshot.loaded.config, core.workers.count())?;
    let filter_api_metrics = FilterApiMetrics(crate::snapshot::filter_metrics().clone());
    metrics.registry().register(Box::new(filter_api_metrics))?;
    if let Some(log) = &audit {
        let audit_metrics = crate::audit::AuditMetrics::new(log.clone())?;
        metrics.registry().register(Box::new(audit_metrics))?;
    }
    let config_metrics = ConfigMetrics::new(metrics.registry())?;
    config_metrics.set_version(version);
    // The engine is built inside the runtime; the admin API and the signal handler, set up
    // before it, find it here once it runs.
    let engine_slot: Arc<OnceLock<Arc<Engine>>> = Arc::new(OnceLock::new());

    // SIP is served by the core's workers; pingora's runtimes run the control tasks only.
    let conf = ServerConf {
        threads: 1,
        // Legate drains itself before pingora's shutdown starts, so pingora need not wait again.
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);

    let Bound {
        listeners,
        admin,
        admin_token,
    } = bound;
    let sip = SipService {
        boot: std::sync::Mutex::new(Some(start::Boot {
            core,
            snapshot: Arc::new(snapshot),
            listeners,
        })),
        engine_slot: engine_slot.clone(),
        audit: audit.clone(),
        control: std::sync::Mutex::new(control.map(|settings| ControlTask {
            settings,
            metrics: config_metrics,
            version,
        })),
    };
    server.add_service(background_service("sip", sip));
    let admin_service = AdminService {
        listener: std::sync::Mutex::new(Some(admin)),
        token: admin_token,
        metrics,
        engine_slot: engine_slot.clone(),
        audit: audit.clone(),
    };
    server.add_service(background_service("admin", admin_service));
    server.bootstrap();
    server.run(RunArgs {
        shutdown_signal: Box::new(DrainOnTerm {
            engine_slot,
            grace,
            audit,
        }),
    });
    tracing::info!("stopped");
    Ok(())
}

struct SipService {
    boot: std::sync::Mutex<Option<start::Boot>>,
    engine_slot: Arc<OnceLock<Arc<Engine>>>,
    audit: Option<AuditLog>,
    control: std::sync::Mutex<Option<ControlTask>>,
}

/// What the control plane client needs once the engine runs.
struct ControlTask {
    settings: control::Settings,
    metrics: ConfigMetrics,
    version: u64,
}

#[async_trait]
impl BackgroundService for SipService {
    async fn start(&self, shutdown: ShutdownWatch) {
        let boot = self.boot.lock().ok().and_then(|mut b| b.take());
        let Some(boot) = boot else { return };
        // The chain resumes and the writers run before the first request can be recorded.
        if let Some(log) = &self.audit {
            if let Err(error) = log.start().await {
                tracing::error!(%error, "audit log not started: audited requests cannot be recorded");
            }
        }
        let engine = start::start(boot, shutdown.clone());
        let _ = self.engine_slot.set(engine.clone());
        engine.set_ready();
        tracing::info!("legate is serving");
        let control = self.control.lock().ok().and_then(|mut c| c.take());
        if let Some(task) = control {
            let applier = control::Applier {
                engine: engine.clone(),
                audit: self.audit.clone(),
                state_dir: task.settings.state_dir.clone(),
                metrics: task.metrics,
                shutdown: shutdown.clone(),
            };
            tokio::spawn(control::poll_loop::run(
                task.settings,
                applier,
                task.version,
            ));
        }
        let mut shutdown = shutdown;
        let _ = shutdown.changed().await;
    }
}

struct AdminService {
    listener: std::sync::Mutex<Option<std::net::TcpListener>>,
    token: Option<String>,
    metrics: Arc<Metrics>,
    engine_slot: Arc<OnceLock<Arc<Engine>>>,
    audit: Option<AuditLog>,
}

struct AdminView {
    engine: Arc<OnceLock<Arc<Engine>>>,
    audit: Option<AuditLog>,
}

impl AdminState for AdminView {
    fn ready(&self) -> bool {
        self.engine.get().is_some_and(|engine| engine.is_ready())
    }

    /// One line per audit sink: up or down, and what waits for it.
    fn readiness_detail(&self) -> Vec<String> {
        let Some(log) = &self.audit else {
            return Vec::new();
        };
        log.health().sinks.iter().map(ToString::to_string).collect()
    }

    fn config_dump(&self) -> serde_json::Value {
        match self.engine.get() {
            Some(engine) => {
                let snapshot = engine.snapshot();
                serde_json::json!({
                    "version": snapshot.version,
                    "hash": snapshot.hash,
                    "source": snapshot.source().origin,
                    "config": legate_api::redacted_json(&snapshot.loaded.config),
                })
            }
            None => serde_json::json!({ "status": "starting" }),
        }
    }
}

#[async_trait]
impl BackgroundService for AdminService {
    async fn start(&self, shutdown: ShutdownWatch) {
        let listener = self.listener.lock().ok().and_then(|mut l| l.take());
        let Some(listener) = listener else { return };
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%error, "admin listener unusable");
                return;
            }
        };
        let state = Arc::new(AdminView {
            engine: self.engine_slot.clone(),
            audit: self.audit.clone(),
        });
        let server = AdminServer::new(state, self.metrics.clone(), self.token.clone());
        let mut shutdown = shutdown;
        let stop = async move {
            let _ = shutdown.changed().await;
        };
        if let Err(error) = server.serve(listener, stop).await {
            tracing::error!(%error, "admin API stopped");
        }
    }
}

/// How long a fast stop (SIGINT) waits for audit: enough to spool what is queued.
const AUDIT_SPOOL_GRACE: Duration = Duration::from_millis(500);

/// SIGTERM: drain, flush audit, then a graceful pingora shutdown. SIGINT: fast (audit's queue
/// is spooled). SIGQUIT: pingora's upgrade.
struct DrainOnTerm {
    engine_slot: Arc<OnceLock<Arc<Engine>>>,
    grace: Duration,
    audit: Option<AuditLog>,
}

#[async_trait]
impl ShutdownSignalWatch for DrainOnTerm {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return ShutdownSignal::FastShutdown;
        };
        tokio::select! {
            _ = term.recv() => {
                tracing::info!("SIGTERM: draining");
                if let Some(engine) = self.engine_slot.get() {
                    engine.drain(self.grace).await;
                }
                if let Some(log) = &self.audit {
                    log.flush(self.grace).await;
                }
                ShutdownSignal::GracefulTerminate
            }
            _ = int.recv() => {
                if let Some(log) = &self.audit {
                    log.flush(AUDIT_SPOOL_GRACE).await;
                }
                ShutdownSignal::FastShutdown
            }
            _ = quit.recv() => ShutdownSignal::GracefulUpgrade,
        }
    }
}
