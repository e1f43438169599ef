//! Everything fallible about starting, done before the server runs: binding every listener and
//! the admin address, loading TLS material and reading the Record-Route secret. A failure here names the
//! listener and address, and Legate exits non-zero without serving anything.

use std::net::{TcpListener, UdpSocket};

use anyhow::{Context as _, Result};
use legate_api::{Config, ListenerConfig, Transport};

use crate::transport::server_acceptor;

/// A listener's socket, bound but not yet handed to the runtime.
pub enum BoundSocket {
    Udp(UdpSocket),
    Stream(TcpListener, Option<tokio_rustls::TlsAcceptor>),
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

pub fn bind_all(config: &Config) -> Result<Bound> {
    let listeners = config
        .listeners
        .iter()
        .map(bind_listener)
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

fn bind_udp(address: std::net::SocketAddr) -> std::io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(address);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    if let Err(error) = socket
        .set_recv_buffer_size(UDP_BUFFER_BYTES)
        .and_then(|()| socket.set_send_buffer_size(UDP_BUFFER_BYTES))
    {
        tracing::warn!(%address, %error, "udp socket buffers left at the system default");
    }
    socket.bind(&address.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Binds one listener's socket and loads its TLS material; the error names the listener and
/// its address.
pub fn bind_listener(listener: &ListenerConfig) -> Result<BoundListener> {
    let context = || {
        format!(
            "listener `{}` cannot bind {} ({})",
            listener.name, listener.address, listener.transport
        )
    };
    let socket = match listener.transport {
        Transport::Udp => BoundSocket::Udp(bind_udp(listener.address).with_context(context)?),
        Transport::Tcp | Transport::Tls => {
            let socket = TcpListener::bind(listener.address).with_context(context)?;
            socket.set_nonblocking(true).with_context(context)?;
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
            BoundSocket::Stream(socket, acceptor)
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
