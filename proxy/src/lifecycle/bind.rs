//! Everything fallible about starting, done before the server runs: binding every listener and
//! the admin address, loading TLS material and reading the Record-Route secret. A failure here names the
//! listener and address, and Legate exits non-zero without serving anything.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use anyhow::{Context as _, Result};
use legate_api::{Config, ListenerConfig, Transport};

use crate::transport::server_acceptor;

/// A listener's sockets, bound but not yet handed to the workers: one per worker, all on the
/// listener's address (SO_REUSEPORT).
pub enum BoundSocket {
    Udp(Vec<UdpSocket>),
    Stream(Vec<TcpListener>, Option<tokio_rustls::TlsAcceptor>),
}

pub struct BoundListener {
    pub config: ListenerConfig,
    pub socket: BoundSocket,
}

pub struct Bound {
    pub listeners: Vec<BoundListener>,
    pub admin: TcpListener,
    pub admin_token: Option<String>,
}

/// The Record-Route secret, read from its file or value; a random one when none is set.
pub fn route_secret(config: &Config) -> Result<Vec<u8>> {
    Ok(match &config.proxy.record_route_secret {
        Some(secret) => secret
            .read()
            .context("proxy.record_route_secret cannot be read")?,
        None => {
            tracing::warn!(
                "proxy.record_route_secret is not set: using a random one, so in-dialog requests \
                 cannot be routed after a restart or by another replica"
            );
            let mut key = vec![0u8; 32];
            rand::Rng::fill(&mut rand::thread_rng(), key.as_mut_slice());
            key
        }
    })
}

pub fn bind_all(config: &Config, workers: usize) -> Result<Bound> {
    let listeners = config
        .listeners
        .iter()
        .map(|listener| bind_listener(listener, workers))
        .collect::<Result<Vec<_>>>()?;
    let admin = TcpListener::bind(config.admin.address)
        .with_context(|| format!("admin API cannot bind {}", config.admin.address))?;
    admin.set_nonblocking(true)?;
    let admin_token = admin_token(config)?;
    Ok(Bound {
        listeners,
        admin,
        admin_token,
    })
}

/// Kernel buffer asked for on UDP sockets: bursts of datagrams wait here while the engine is
/// busy, instead of being dropped by the kernel (the default is a few hundred KiB). Linux caps
/// it at net.core.rmem_max / wmem_max.
const UDP_BUFFER_BYTES: usize = 4 << 20;

/// How many connections wait to be accepted on each worker's TCP socket.
const TCP_BACKLOG: i32 = 1024;

fn bind_udp(address: SocketAddr) -> std::io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(address);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    if let Err(error) = socket
        .set_recv_buffer_size(UDP_BUFFER_BYTES)
        .and_then(|()| socket.set_send_buffer_size(UDP_BUFFER_BYTES))
    {
        tracing::warn!(%address, %error, "udp socket buffers left at the system default");
    }
    socket.set_reuse_port(true)?;
    socket.bind(&address.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn bind_tcp(address: SocketAddr) -> std::io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(address);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&address.into())?;
    socket.listen(TCP_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// `count` sockets sharing one address: the first is bound to `address` (port 0 picks one),
/// the others to wherever it landed.
fn bind_group<S>(
    address: SocketAddr,
    count: usize,
    bind: impl Fn(SocketAddr) -> std::io::Result<S>,
    local: impl Fn(&S) -> std::io::Result<SocketAddr>,
) -> std::io::Result<Vec<S>> {
    let first = bind(address)?;
    let bound = local(&first)?;
    let mut group = vec![first];
    for _ in 1..count.max(1) {
        group.push(bind(bound)?);
    }
    Ok(group)
}

/// Binds one listener's socket and loads its TLS material; the error names the listener and
/// its address.
pub fn bind_listener(listener: &ListenerConfig, workers: usize) -> Result<BoundListener> {
    let context = || {
        format!(
            "listener `{}` cannot bind {} ({})",
            listener.name, listener.address, listener.transport
        )
    };
    let socket = match listener.transport {
        Transport::Udp => BoundSocket::Udp(
            bind_group(listener.address, workers, bind_udp, UdpSocket::local_addr)
                .with_context(context)?,
        ),
        Transport::Tcp | Transport::Tls => {
            let sockets = bind_group(listener.address, workers, bind_tcp, TcpListener::local_addr)
                .with_context(context)?;
            let acceptor =
                match (&listener.tls, listener.transport) {
                    (Some(tls), Transport::Tls) => Some(
                        server_acceptor(
                            &tls.certificate,
                            &tls.private_key,
                            tls.client_ca.as_deref(),
                        )
                        .with_context(|| {
                            format!("listener `{}`: tls setup failed", listener.name)
                        })?,
                    ),
                    _ => None,
                };
            BoundSocket::Stream(sockets, acceptor)
        }
    };
    Ok(BoundListener {
        config: listener.clone(),
        socket,
    })
}

/// The admin API's bearer token, read and checked the same way by `run` and `validate`.
pub fn admin_token(config: &Config) -> Result<Option<String>> {
    config
        .admin
        .token_file
        .as_deref()
        .map(legate_api::read_token_file)
        .transpose()
        .context("admin.token_file")
}
