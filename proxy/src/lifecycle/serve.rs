//! Turning a bound socket into a served listener, and retiring one. At start every configured
//! listener goes through here; later, a snapshot that adds listeners opens them the same way,
//! and one that removes listeners retires them: they stop accepting at once, drain for the
//! grace period (answers and in-dialog requests still arrive, new dialogs get 503), then
//! close, and only then leave the set.

use std::sync::Arc;
use std::time::Duration;

use pingora_core::server::ShutdownWatch;

use super::bind::{BoundListener, BoundSocket};
use crate::core::{Core, ListenerRuntime, Listeners};
use crate::sources::Sources;
use crate::transport::{
    serve_tcp_listener, serve_udp_socket, Inbound, ListenerPhase, StreamOptions,
};
use crate::workers::Workers;

/// Connections idle this long are closed.
pub const CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A listener's sockets, each registered with its worker's runtime, not yet read from.
pub struct Opened {
    pub runtime: ListenerRuntime,
    socket: OpenedSocket,
}

enum OpenedSocket {
    /// The sockets, the largest message a datagram may hold, and the limits its sources are
    /// held to.
    Udp(
        Arc<[Arc<crate::transport::UdpSocket>]>,
        usize,
        Option<Arc<Sources>>,
    ),
    Stream(Vec<tokio::net::TcpListener>, StreamOptions),
}

/// Registers `bound`'s sockets with the runtimes of `core`'s workers. `None` when a socket
/// cannot be used, which is logged. An external listener holds what arrives to the core's
/// per-source limits.
pub fn open(bound: BoundListener, core: &Core) -> Option<Opened> {
    let (limits, edge, workers) = (core.limits, &core.sources, &*core.workers);
    let local_addr = match &bound.socket {
        BoundSocket::Udp(sockets) => sockets.first().map(|s| s.local_addr()),
        BoundSocket::Stream(sockets, _) => sockets.first().map(|s| s.local_addr()),
    }
    .and_then(Result::ok)
    .unwrap_or(bound.config.address);
    let (advertised_host, advertised_port) = advertised(&bound.config.advertised_host, local_addr);
    let guarded = bound.config.side == legate_filters_api::Side::External;
    let info = legate_filters_api::ListenerInfo {
        name: bound.config.name.as_str().into(),
        side: bound.config.side,
        transport: bound.config.transport,
        local_addr,
    };
    let mut runtime = ListenerRuntime::new(info, advertised_host, advertised_port);
    let phase = runtime.phase.clone();
    let unusable = |error: std::io::Error| {
        tracing::error!(%error, listener = %bound.config.name, "socket unusable");
    };
    let socket = match bound.socket {
        BoundSocket::Udp(sockets) => {
            let sockets = on_workers(sockets, workers, |socket| {
                crate::transport::UdpSocket::from_std(socket).map(Arc::new)
            })
            .map_err(unusable)
            .ok()?;
            let sockets: Arc<[_]> = sockets.into();
            runtime.udp = Some(sockets.clone());
            let edge = guarded.then(|| edge.clone());
            OpenedSocket::Udp(sockets, limits.max_message_bytes, edge)
        }
        BoundSocket::Stream(sockets, tls) => {
            let tls = tls.map(|acceptor| Arc::new(arc_swap::ArcSwap::from_pointee(acceptor)));
            runtime.tls = tls.clone();
            let sockets = on_workers(sockets, workers, tokio::net::TcpListener::from_std)
                .map_err(unusable)
                .ok()?;
            OpenedSocket::Stream(
                sockets,
                StreamOptions {
                    transport: bound.config.transport,
                    limits,
                    idle_timeout: CONNECTION_IDLE_TIMEOUT,
                    tls,
                    phase: Some(phase.watch()),
                    edge: edge.clone(),
                    guarded,
                    active: Some(core.metrics.listener_connections(&bound.config.name)),
                },
            )
        }
    };
    Some(Opened { runtime, socket })
}

/// Hands socket `i` to worker `i`'s runtime (its readiness is then that worker's to watch).
fn on_workers<S, T>(
    sockets: Vec<S>,
    workers: &Workers,
    register: impl Fn(S) -> std::io::Result<T>,
) -> std::io::Result<Vec<T>> {
    sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| {
            let _inside = workers.handle(index).enter();
            register(socket)
        })
        .collect()
}

impl Opened {
    /// Starts reading, each socket on its worker: call once the runtime is in the core's set,
    /// so that every message read finds its listener. Shutting Legate down closes the listener.
    pub fn serve(self, core: &Core, inbound: &Arc<dyn Inbound>, shutdown: &ShutdownWatch) {
        let workers = &core.workers;
        let info = &self.runtime.info;
        tracing::info!(listener = %info.name, address = %info.local_addr, transport = %info.transport, side = %info.side, workers = workers.count(), "listening");
        let phase = self.runtime.phase;
        match self.socket {
            OpenedSocket::Udp(sockets, max_message_bytes, edge) => {
                for (index, socket) in sockets.iter().enumerate() {
                    workers.handle(index).spawn(serve_udp_socket(
                        socket.clone(),
                        max_message_bytes,
                        inbound.clone(),
                        edge.clone(),
                        phase.watch(),
                    ));
                }
            }
            OpenedSocket::Stream(listeners, options) => {
                for (index, listener) in listeners.into_iter().enumerate() {
                    workers.handle(index).spawn(serve_tcp_listener(
                        listener,
                        options.clone(),
                        core.connections.clone(),
                        inbound.clone(),
                        phase.watch(),
                    ));
                }
            }
        }
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _ = shutdown.changed().await;
            phase.advance(ListenerPhase::Closed);
        });
    }
}

/// Stops `retiring` from accepting now, closes it after `drain`, and then takes it out of
/// `core`'s set (a listener that replaced it under the same name stays).
pub fn retire(core: &Arc<Core>, retiring: ListenerRuntime, drain: Duration) {
    let info = &retiring.info;
    tracing::info!(listener = %info.name, address = %info.local_addr, ?drain, "listener removed: draining");
    retiring.phase.advance(ListenerPhase::Draining);
    let core = core.clone();
    tokio::spawn(async move {
        tokio::time::sleep(drain).await;
        retiring.phase.advance(ListenerPhase::Closed);
        core.update_listeners(|current| {
            Listeners::new(
                current
                    .iter()
                    .filter(|l| !l.phase.same(&retiring.phase))
                    .cloned()
                    .collect(),
            )
        });
        tracing::info!(listener = %retiring.info.name, address = %retiring.info.local_addr, "listener closed");
    });
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
