//! Bringing the engine up inside the runtime: sockets handed to tokio, the core and engine
//! built, every listener, health check and sweeper task spawned.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use legate_admin::Metrics;
use legate_sip::Limits;
use pingora_core::server::ShutdownWatch;

use crate::bind::{BoundListener, BoundSocket};
use crate::core::{Core, ListenerRuntime, Listeners, Timers};
use crate::engine::{Engine, InboundHandler};
use crate::snapshot::Snapshot;
use crate::transport::{
    serve_tcp_listener, serve_udp_socket, Connections, Inbound, StreamOptions, Transport,
};

/// Connections idle this long are closed.
const CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
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
    let outbound = StreamOptions {
        transport: Transport::Tcp,
        limits,
        idle_timeout: CONNECTION_IDLE_TIMEOUT,
        tls: None,
    };
    let connections = Arc::new(Connections::new(outbound, boot.tls_client));

    let mut runtimes = Vec::new();
    let mut serving = Vec::new();
    for bound in boot.listeners {
        let local_addr = match &bound.socket {
            BoundSocket::Udp(s) => s.local_addr(),
            BoundSocket::Stream(s, _) => s.local_addr(),
        }
        .unwrap_or(bound.config.address);
        let (advertised_host, advertised_port) =
            advertised(&bound.config.advertised_host, local_addr);
        let mut runtime = ListenerRuntime {
            info: legate_filters::ListenerInfo {
                name: bound.config.name.as_str().into(),
                side: bound.config.side,
                transport: bound.config.transport,
                local_addr,
            },
            advertised_host,
            advertised_port,
            udp: None,
            tls: None,
        };
        match bound.socket {
            BoundSocket::Udp(socket) => match tokio::net::UdpSocket::from_std(socket) {
                Ok(socket) => {
                    let socket = Arc::new(socket);
                    runtime.udp = Some(socket.clone());
                    serving.push(Serving::Udp(socket));
                }
                Err(error) => {
                    tracing::error!(%error, listener = %bound.config.name, "udp socket unusable")
                }
            },
            BoundSocket::Stream(listener, tls) => {
                let tls = tls.map(|acceptor| Arc::new(arc_swap::ArcSwap::from_pointee(acceptor)));
                runtime.tls = tls.clone();
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => serving.push(Serving::Stream(
                        listener,
                        StreamOptions {
                            transport: bound.config.transport,
                            limits,
                            idle_timeout: CONNECTION_IDLE_TIMEOUT,
                            tls,
                        },
                    )),
                    Err(error) => {
                        tracing::error!(%error, listener = %bound.config.name, "tcp listener unusable")
                    }
                }
            }
        }
        tracing::info!(listener = %runtime.info.name, address = %local_addr, transport = %runtime.info.transport, side = %runtime.info.side, "listening");
        runtimes.push(runtime);
    }

    let core = Arc::new(Core::new(
        Listeners::new(runtimes),
        connections.clone(),
        timers,
        limits,
        boot.metrics,
        boot.route_secret,
    ));
    let _ = boot.core_slot.set(core.clone());
    let engine = Arc::new(Engine::new(
        core,
        boot.snapshot.clone(),
        config.proxy.dialog_idle_timeout,
    ));
    let inbound: Arc<dyn Inbound> = Arc::new(InboundHandler(engine.clone()));
    connections.set_inbound(inbound.clone());

    for serve in serving {
        let stop = shutdown.clone();
        match serve {
            Serving::Udp(socket) => {
                tokio::spawn(serve_udp_socket(
                    socket,
                    limits.max_message_bytes,
                    inbound.clone(),
                    stop,
                ));
            }
            Serving::Stream(listener, options) => {
                tokio::spawn(serve_tcp_listener(
                    listener,
                    options,
                    connections.clone(),
                    inbound.clone(),
                    stop,
                ));
            }
        }
    }
    spawn_health_checks(&boot.snapshot, &shutdown);
    let sweeper = engine.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(DIALOG_SWEEP_INTERVAL).await;
            sweeper.dialogs.sweep();
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

enum Serving {
    Udp(Arc<tokio::net::UdpSocket>),
    Stream(tokio::net::TcpListener, StreamOptions),
}

/// `advertised_host` as `host` or `host:port`; defaults to the bound address.
fn advertised(configured: &Option<String>, bound: std::net::SocketAddr) -> (String, u16) {
    let Some(text) = configured else {
        return (bound.ip().to_string(), bound.port());
    };
    match text.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && port.parse::<u16>().is_ok() => {
            (host.to_string(), port.parse().unwrap_or(bound.port()))
        }
        _ => (text.clone(), bound.port()),
    }
}
