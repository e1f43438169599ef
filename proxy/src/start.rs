//! Bringing the engine up inside the runtime: sockets handed to tokio, the core and engine
//! built, every listener, health check and sweeper task spawned.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use legate_admin::Metrics;
use legate_sip::Limits;
use pingora_core::server::ShutdownWatch;

use crate::bind::BoundListener;
use crate::core::{Core, Listeners, Timers};
use crate::engine::{Engine, InboundHandler};
use crate::listening::{self, Opened, CONNECTION_IDLE_TIMEOUT};
use crate::snapshot::Snapshot;
use crate::sources::{Sources, BYTE_COUNT_HALF_LIFE};
use crate::transport::{Connections, Inbound, StreamOptions, Transport};
/// How often expired dialogs are dropped.
const DIALOG_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

pub struct Boot {
    pub snapshot: Arc<Snapshot>,
    pub listeners: Vec<BoundListener>,
    pub route_secret: Vec<u8>,
    pub tls_client: crate::transport::TlsClients,
    pub metrics: Arc<Metrics>,
    pub core_slot: Arc<OnceLock<Arc<Core>>>,
}

pub fn start(boot: Boot, shutdown: ShutdownWatch) -> Arc<Engine> {
    let config = &boot.snapshot.loaded.config;
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
    let edge = Sources::new(&config.proxy.edge, boot.metrics.registry());
    let outbound = StreamOptions {
        transport: Transport::Tcp,
        limits,
        idle_timeout: CONNECTION_IDLE_TIMEOUT,
        tls: None,
        phase: None,
        edge: edge.clone(),
        guarded: false,
    };
    let connections = Arc::new(Connections::new(outbound, boot.tls_client));

    let opened: Vec<Opened> = boot
        .listeners
        .into_iter()
        .filter_map(|bound| listening::open(bound, limits, &edge))
        .collect();
    let runtimes = opened.iter().map(|o| o.runtime.clone()).collect();

    let core = Arc::new(Core::new(
        Listeners::new(runtimes),
        connections.clone(),
        timers,
        limits,
        boot.metrics,
        boot.route_secret,
        edge.clone(),
    ));
    let _ = boot.core_slot.set(core.clone());
    tokio::spawn(core.clone().reap_expired_transactions());
    let engine = Arc::new(Engine::new(
        core,
        boot.snapshot.clone(),
        config.proxy.dialog_idle_timeout,
    ));
    let inbound: Arc<dyn Inbound> = Arc::new(InboundHandler(engine.clone()));
    connections.set_inbound(inbound.clone());

    for listener in opened {
        listener.serve(&connections, &inbound, &shutdown);
    }
    spawn_health_checks(&boot.snapshot, &shutdown);
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
