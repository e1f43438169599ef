//! Opens connections to the authorization service for the HTTP client's pool: TCP, then TLS
//! when the url is https (verified against `tls_ca` only).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::config::Endpoint;

/// Always connects to the configured endpoint, whatever URI the pool asks for: there is only
/// one.
#[derive(Clone)]
pub(crate) struct Connector {
    endpoint: Arc<Endpoint>,
}

impl Connector {
    pub fn new(endpoint: Arc<Endpoint>) -> Connector {
        Connector { endpoint }
    }
}

impl tower::Service<http::Uri> for Connector {
    type Response = Stream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        let endpoint = self.endpoint.clone();
        Box::pin(async move { connect(&endpoint).await })
    }
}

async fn connect(endpoint: &Endpoint) -> io::Result<Stream> {
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
    // Check requests are small and wait for their answer: no point in batching them.
    tcp.set_nodelay(true)?;
    let Some(tls) = &endpoint.tls else {
        return Ok(Stream::new(tcp));
    };
    let connector = TlsConnector::from(tls.config.clone());
    let stream = connector.connect(tls.name.clone(), tcp).await?;
    Ok(Stream::new(stream))
}

/// Anything the connection can run over.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A plain or TLS connection, as the HTTP client reads and writes it.
pub(crate) struct Stream(TokioIo<Box<dyn Io>>);

impl Stream {
    fn new(io: impl Io + 'static) -> Stream {
        Stream(TokioIo::new(Box::new(io)))
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}
