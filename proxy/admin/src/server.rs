//! [`AdminServer`]: accepts admin connections and serves HTTP/1.1 on them until shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::auth::Access;
use crate::metrics::Metrics;
use crate::respond::Responder;
use crate::state::AdminState;

/// A client must send its request headers within this time, so idle or stalled connections
/// cannot pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Beyond this many open connections, accepting waits until one closes.
const MAX_CONNECTIONS: usize = 64;
/// How long running requests may take to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed accept (for example out of file descriptors) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The admin HTTP server.
pub struct AdminServer {
    responder: Arc<Responder>,
}

impl AdminServer {
    /// `token`: when Some, every endpoint except `/healthz` requires
    /// `Authorization: Bearer <token>` (401 otherwise, compared in constant time).
    /// Surrounding whitespace of the token is ignored; an empty token denies every request.
    pub fn new(
        state: Arc<dyn AdminState>,
        metrics: Arc<Metrics>,
        token: Option<String>,
    ) -> AdminServer {
        AdminServer {
            responder: Arc::new(Responder {
                state,
                metrics,
                access: Access::new(token),
            }),
        }
    }

    /// Serves until `shutdown` resolves. GET /healthz → 200 "ok"; GET /readyz → 200 "ready"
    /// or 503 "not ready"; GET /metrics → text/plain; version=0.0.4; GET /config_dump →
    /// application/json (pretty); anything else 404; non-GET 405.
    ///
    /// On shutdown it stops accepting, lets requests in progress finish (up to a few
    /// seconds), then returns. Failed accepts are logged and retried, so the admin API does
    /// not go away because of a transient error.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (drain, draining) = watch::channel(false);
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);

        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                    match accepted {
                        Ok((stream, _peer)) => {
                            connections.spawn(serve_connection(
                                stream,
                                self.responder.clone(),
                                draining.clone(),
                            ));
                        }
                        Err(error) => {
                            tracing::warn!(%error, "admin api cannot accept a connection");
                            tokio::time::sleep(ACCEPT_RETRY).await;
                        }
                    }
                }
            }
        }

        drop(listener);
        // Receivers may all be gone already when no connection is open; nothing to tell then.
        let _ = drain.send(true);
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::debug!(
                open = connections.len(),
                "admin connections still open after the drain timeout; closing them"
            );
            connections.abort_all();
        }
        Ok(())
    }
}

impl std::fmt::Debug for AdminServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminServer")
            .field("access", &self.responder.access)
            .finish_non_exhaustive()
    }
}

async fn serve_connection(
    stream: TcpStream,
    responder: Arc<Responder>,
    mut draining: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let response = responder.respond(&request);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    let finished = tokio::select! {
        result = connection.as_mut() => Some(result),
        // An error means the server is gone, which is as good as a drain signal.
        _ = draining.wait_for(|draining| *draining) => None,
    };
    let result = match finished {
        Some(result) => result,
        None => {
            // Finish the request in progress, then close instead of keeping the connection.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "admin connection ended with an error");
    }
}
