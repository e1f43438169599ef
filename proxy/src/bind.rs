//! Everything fallible about starting, done before the server runs: binding every listener and
//! the admin address, loading TLS material and the Record-Route secret. A failure here names the
//! listener and address, and Legate exits non-zero without serving anything.

use std::net::{TcpListener, UdpSocket};
use std::path::Path;

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
    pub route_secret: Vec<u8>,
    pub tls_client: crate::transport::TlsClients,
}

pub fn bind_all(config: &Config) -> Result<Bound> {
    let mut listeners = Vec::new();
    for listener in &config.listeners {
        let context = || {
            format!(
                "listener `{}` cannot bind {} ({})",
                listener.name, listener.address, listener.transport
            )
        };
        let socket = match listener.transport {
            Transport::Udp => {
                let socket = UdpSocket::bind(listener.address).with_context(context)?;
                socket.set_nonblocking(true).with_context(context)?;
                BoundSocket::Udp(socket)
            }
            Transport::Tcp | Transport::Tls => {
                let socket = TcpListener::bind(listener.address).with_context(context)?;
                socket.set_nonblocking(true).with_context(context)?;
                let acceptor = match (&listener.tls, listener.transport) {
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
        listeners.push(BoundListener {
            config: listener.clone(),
            socket,
        });
    }
    let admin = TcpListener::bind(config.admin.address)
        .with_context(|| format!("admin API cannot bind {}", config.admin.address))?;
    admin.set_nonblocking(true)?;
    let admin_token = match &config.admin.token_file {
        Some(path) => Some(read_token(path)?),
        None => None,
    };
    let route_secret = match &config.proxy.record_route_secret {
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
    };
    let tls_client = crate::transport::TlsClients::from_clusters(&config.clusters)
        .context("cluster tls_ca cannot be loaded")?;
    Ok(Bound {
        tls_client,
        listeners,
        admin,
        admin_token,
        route_secret,
    })
}

fn read_token(path: &Path) -> Result<String> {
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("admin.token_file {} cannot be read", path.display()))?;
    let token = token.trim().to_string();
    anyhow::ensure!(
        !token.is_empty(),
        "admin.token_file {} is empty",
        path.display()
    );
    Ok(token)
}
