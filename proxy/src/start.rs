//! Bringing the proxy up: the core built from the configuration first, then, inside the
//! runtime, the sockets handed to tokio, the engine built, and every listener, health check and
//! sweeper task spawned.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use legate_admin::Metrics;
use legate_api::Config;
use legate_sip::Limits;
use pingora_core::server::ShutdownWatch;

use crate::core::{Core, Listeners, Timers};
use crate::engine::{Engine, InboundHandler};
use crate::lifecycle::bind::BoundListener;
use crate::lifecycle::serve::{self, Opened, CONNECTION_IDLE_TIMEOUT};
use crate::snapshot::Snapshot;
use crate::sources::{Sources, BYTE_COUNT_HALF_LIFE};
use crate::transport::{Connections, Inbound, StreamOptions, TlsClients, Transport};
use crate::workers::Workers;
/// How often expired dialogs are dropped.
const DIALOG_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// The proxy core, built from the configuration before any snapshot (the snapshots' health
/// checks run on it) and before the runtime: its listeners are added once their sockets are
/// handed to the runtime ([`start`]).
pub fn build_core(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Arc<Core>> {
    let limits = Limits {
        max_message_bytes: config.proxy.limits.max_message_bytes,
        max_headers: config.proxy.limits.max_headers,
        max_line_bytes: config.proxy.limits.max_line_bytes,
    };
    let timers = Timers {
        t1: config.proxy.timers.t1,
        t2: config.proxy.timers.t2,
        t4: config.proxy.timers.t4,
    };
    let edge = Sources::new(&config.proxy.edge, metrics.registry());
    let outbound = StreamOptions {
        transport: Transport::Tcp,
        limits,
        idle_timeout: CONNECTION_IDLE_TIMEOUT,
        tls: None,
        phase: None,
        edge: edge.clone(),
        guarded: false,
        active: None,
    };
    let tls_clients = TlsClients::new(config).context(
        "outbound tls (cluster tls_ca, peer trust_bundle or certificates) cannot be set up",
    )?;
    let connections = Arc::new(Connections::new(outbound, tls_clients));
    let workers = Workers::start(worker_count(config)).context("worker threads cannot start")?;
    Ok(Arc::new(Core::new(
        workers,
        connections,
        timers,
        limits,
        metrics,
        crate::lifecycle::bind::route_secret(config)?,
        edge,
    )))
}

/// `proxy.worker_threads`, or one worker per CPU.
pub fn worker_count(config: &Config) -> usize {
    config.proxy.worker_threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
}

/// What [`start`] brings up: the core, the first snapshot and the bound listeners.
pub struct Boot {
    pub core: Arc<Core>,
    pub snapshot: Arc<Snapshot>,
    pub listeners: Vec<BoundListener>,
}

pub fn start(boot: Boot, shutdown: ShutdownWatch) -> Arc<Engine> {
    let Boot {
        core,
        snapshot,
        listeners,
    } = boot;
    let edge = core.sources.clone();
    let opened: Vec<Opened> = listeners
        .into_iter()
        .filter_map(|bound| serve::open(bound, &core))
        .collect();
    let runtimes: Vec<_> = opened.iter().map(|o| o.runtime.clone()).collect();
    core.update_listeners(|_| Listeners::new(runtimes.clone()));
    tokio::spawn(core.clone().reap_expired_transactions());
    let engine = Arc::new(Engine::new(
        core.clone(),
        snapshot.clone(),
        snapshot.loaded.config.proxy.dialog_idle_timeout,
    ));
    let inbound: Arc<dyn Inbound> = Arc::new(InboundHandler(engine.clone()));
    core.connections.set_inbound(inbound.clone());

    for listener in opened {
        listener.serve(&core, &inbound, &shutdown);
    }
    spawn_health_checks(&snapshot, &shutdown);
    let sweeper = engine.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(DIALOG_SWEEP_INTERVAL).await;
            sweeper.dialogs.sweep();
        }
    });
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(BYTE_COUNT_HALF_LIFE).await;
            edge.sweep();
        }
    });
    engine
}

/// Health checks for `snapshot`'s clusters, running while anything (the engine, a pinned
/// dialog) still holds the snapshot.
pub fn spawn_health_checks(snapshot: &Arc<Snapshot>, shutdown: &ShutdownWatch) {
    for cluster in snapshot.routing.clusters.iter() {
        let Some(health) = cluster.health_check else {
            continue;
        };
        let cluster = cluster.clone();
        let held = Arc::downgrade(snapshot);
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            while held.strong_count() > 0 {
                cluster.run_health_check().await;
                tokio::select! {
                    _ = tokio::time::sleep(health.interval) => {}
                    _ = stop.changed() => return,
                }
            }
        });
    }
}
