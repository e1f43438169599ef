//! A real HTTP authorization service for the tests, on 127.0.0.1 (plain or TLS): it records
//! every check request it receives and answers as the test says.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// What the service does with one check request.
pub(super) enum Reply {
    /// Answers with this HTTP status and body.
    Http(u16, String),
    /// Never answers (the connection stays open).
    Never,
}

impl Reply {
    pub fn json(body: &str) -> Reply {
        Reply::Http(200, body.to_string())
    }
}

pub(super) type Answer = fn(&Value) -> Reply;

pub(super) struct TestService {
    pub addr: SocketAddr,
    checks: mpsc::UnboundedReceiver<Value>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TestService {
    pub async fn start(answer: Answer) -> TestService {
        TestService::start_with(answer, None).await
    }

    /// The same over TLS with `tls` as the server's settings.
    pub async fn start_with(answer: Answer, tls: Option<TlsAcceptor>) -> TestService {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, checks) = mpsc::unbounded_channel();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::Relaxed);
                let (sender, tls) = (sender.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, sender, answer).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, sender, answer).await;
                            }
                        }
                    }
                });
            }
        });
        TestService {
            addr,
            checks,
            connections,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/check", self.addr)
    }

    /// The next check request received (waits a little for it).
    pub async fn next_check(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(5), self.checks.recv())
            .await
            .expect("no check request arrived")
            .expect("the service stopped")
    }

    /// True when no check request was received.
    pub fn nothing_checked(&mut self) -> bool {
        self.checks.try_recv().is_err()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<I>(io: I, sender: mpsc::UnboundedSender<Value>, answer: Answer)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: Request<Incoming>| {
        let sender = sender.clone();
        async move { handle(request, sender, answer).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

async fn handle(
    request: Request<Incoming>,
    sender: mpsc::UnboundedSender<Value>,
    answer: Answer,
) -> Result<Response<Full<Bytes>>, Infallible> {
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(
        request.headers().get(http::header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let check: Value = serde_json::from_slice(&body).unwrap();
    let reply = answer(&check);
    let _ = sender.send(check);
    match reply {
        Reply::Http(status, body) => Ok(Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()),
        Reply::Never => std::future::pending().await,
    }
}
