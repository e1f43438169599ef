//! Handshakes in both directions, bounded so a peer that connects and stays silent cannot hold
//! a task (and a socket) forever.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

/// How long a TLS handshake may take, in either direction.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server side of a handshake.
pub async fn accept<S>(acceptor: &TlsAcceptor, socket: S) -> io::Result<server::TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tls handshake timed out"))?
}

/// The client side of a handshake, verifying the server as `server_name` (a DNS name or an IP
/// address).
pub async fn connect<S>(
    config: Arc<rustls::ClientConfig>,
    server_name: &str,
    socket: S,
) -> io::Result<client::TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid tls server name {server_name:?}: {e}"),
        )
    })?;
    let handshake = TlsConnector::from(config).connect(name, socket);
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => Err(io::Error::new(
            error.kind(),
            format!("tls handshake with {server_name} failed: {error}"),
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("tls handshake with {server_name} timed out"),
        )),
    }
}
