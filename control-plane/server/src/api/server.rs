//! Accepts API connections and serves HTTP/1.1 on them, over TLS when the server has a
//! certificate (and then, with a client CA, only to clients that present a certificate it
//! issued).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use legate_admin::Access;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::respond::Responder;
use crate::plane::ControlPlane;

/// A client must send its request headers within this time, so stalled connections cannot
/// pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Every proxy holds one long poll open; beyond this many connections accepting waits.
const MAX_CONNECTIONS: usize = 4_096;
/// Pause after a failed accept (for example out of file descriptors) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves until `shutdown` resolves; open connections (long polls) are then dropped, and the
/// proxies poll again, elsewhere or after the restart.
pub async fn serve(
    listener: TcpListener,
    plane: Arc<ControlPlane>,
    access: Access,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let responder = Arc::new(Responder { plane, access });
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                match accepted {
                    Ok((stream, peer)) => {
                        let (responder, tls) = (responder.clone(), tls.clone());
                        connections.spawn(async move {
                            match tls {
                                None => serve_connection(stream, responder).await,
                                Some(acceptor) => match legate_tls::accept(&acceptor, stream).await {
                                    Ok(stream) => serve_connection(stream, responder).await,
                                    Err(error) => {
                                        tracing::info!(%peer, %error, "api tls handshake failed")
                                    }
                                },
                            }
                        });
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                }
            }
        }
    }
    connections.abort_all();
}

/// HTTP/1.1 on one connection until the client closes it.
async fn serve_connection<S>(stream: S, responder: Arc<Responder>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let responder = responder.clone();
        async move { Ok::<_, Infallible>(responder.respond(request).await) }
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%error, "api connection ended with an error");
    }
}
