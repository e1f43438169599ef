//! Turning a bound socket into a served listener, and retiring one. At start every configured
//! listener goes through here; later, a snapshot that adds listeners opens them the same way,
//! and one that removes listeners retires them: they stop accepting at once, drain for the
//! grace period (answers and in-dialog requests still arrive, new dialogs get 503), then
//! close, and only then leave the set.

use std::sync::Arc;
use std::time::Duration;

use legate_sip::Limits;
use pingora_core::server::ShutdownWatch;

use super::bind::{BoundListener, BoundSocket};
use crate::core::{Core, ListenerRuntime, Listeners};
use crate::sources::Sources;
use crate::transport::{
    serve_tcp_listener, serve_udp_socket, Connections, Inbound, ListenerPhase, PhaseControl,
    StreamOptions,
};

/// Connections idle this long are closed.
pub const CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A listener's socket in the runtime, not yet read from.
pub struct Opened {
    pub runtime: ListenerRuntime,
    socket: OpenedSocket,
}

enum OpenedSocket {
    /// The socket, the largest message it reads, and the limits its sources are held to.
    Udp(Arc<tokio::net::UdpSocket>, usize, Option<Arc<Sources>>),
    Stream(tokio::net::TcpListener, StreamOptions),
}

/// Hands `bound`'s socket to tokio (so this runs inside the runtime). `None` when the socket
/// cannot be used, which is logged. An external listener holds what arrives to `edge`'s
/// per-source limits.
pub fn open(bound: BoundListener, limits: Limits, edge: &Arc<Sources>) -> Option<Opened> {
    let local_addr = match &bound.socket {
        BoundSocket::Udp(s) => s.local_addr(),
        BoundSocket::Stream(s, _) => s.local_addr(),
    }
    .unwrap_or(bound.config.address);
    let (advertised_host, advertised_port) = advertised(&bound.config.advertised_host, local_addr);
    let guarded = bound.config.side == legate_filters_api::Side::External;
    let phase = PhaseControl::new();
    let mut runtime = ListenerRuntime {
        info: legate_filters_api::ListenerInfo {
            name: bound.config.name.as_str().into(),
            side: bound.config.side,
            transport: bound.config.transport,
            local_addr,
        },
        advertised_host,
        advertised_port,
        udp: None,
        tls: None,
        phase: phase.clone(),
    };
    let socket = match bound.socket {
        BoundSocket::Udp(socket) => match tokio::net::UdpSocket::from_std(socket) {
            Ok(socket) => {
                let socket = Arc::new(socket);
                runtime.udp = Some(socket.clone());
                let edge = guarded.then(|| edge.clone());
                OpenedSocket::Udp(socket, limits.max_message_bytes, edge)
            }
            Err(error) => {
                tracing::error!(%error, listener = %bound.config.name, "udp socket unusable");
                return None;
            }
        },
        BoundSocket::Stream(listener, tls) => {
            let tls = tls.map(|acceptor| Arc::new(arc_swap::ArcSwap::from_pointee(acceptor)));
            runtime.tls = tls.clone();
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => OpenedSocket::Stream(
                    listener,
                    StreamOptions {
                        transport: bound.config.transport,
                        limits,
                        idle_timeout: CONNECTION_IDLE_TIMEOUT,
                        tls,
                        phase: Some(phase.watch()),
                        edge: edge.clone(),
                        guarded,
                    },
                ),
                Err(error) => {
                    tracing::error!(%error, listener = %bound.config.name, "tcp listener unusable");
                    return None;
                }
            }
        }
    };
    Some(Opened { runtime, socket })
}

impl Opened {
    /// Starts reading: call once the runtime is in the core's set, so that every message read
    /// finds its listener. Shutting Legate down closes the listener.
    pub fn serve(
        self,
        connections: &Arc<Connections>,
        inbound: &Arc<dyn Inbound>,
        shutdown: &ShutdownWatch,
    ) {
        let info = &self.runtime.info;
        tracing::info!(listener = %info.name, address = %info.local_addr, transport = %info.transport, side = %info.side, "listening");
        let phase = self.runtime.phase;
        match self.socket {
            OpenedSocket::Udp(socket, max_message_bytes, edge) => {
                tokio::spawn(serve_udp_socket(
                    socket,
                    max_message_bytes,
                    inbound.clone(),
                    edge,
                    phase.watch(),
                ));
            }
            OpenedSocket::Stream(listener, options) => {
                tokio::spawn(serve_tcp_listener(
                    listener,
                    options,
                    connections.clone(),
                    inbound.clone(),
                    phase.watch(),
                ));
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
