//! [`WebhookSink`]: hands each batch of records to an HTTP endpoint, such as a compliance
//! tool's intake.
//!
//! Each batch is one `POST` of `application/json`:
//!
//! ```json
//! { "records": [ { "partition": "node-1", "seq": 1, "prev_hash": "…", "hash": "…",
//!                  "record": { "at_micros": 1700000000000000, "event": "request", … } } ] }
//! ```
//!
//! A 2xx answer means the receiver has made the batch durable. Anything else — another
//! status, no connection, no answer within the timeout — is [`SinkError::Unavailable`] with
//! the cause, and the batch may be sent again (receivers de-duplicate on `partition` and
//! `seq`). Each batch goes on a connection of its own, closed after the answer. `https`
//! endpoints are checked against the system's trusted roots, or the roots given with
//! [`WebhookSink::with_tls`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use legate_audit::{ChainedRecord, Sink, SinkError};

const NAME: &str = "webhook";

/// Posts batches of records to one URL.
#[derive(Clone)]
pub struct WebhookSink {
    /// `scheme://host:port/path`, without the query, which may carry a token: for messages.
    target: String,
    host: String,
    port: u16,
    /// The request target, with the query.
    path: String,
    /// The `Host` header.
    authority: String,
    tls: Option<Tls>,
    timeout: Duration,
    headers: HeaderMap,
}

#[derive(Clone)]
struct Tls {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values are typically credentials: names only.
        f.debug_struct("WebhookSink")
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The JSON body of one `POST`.
#[derive(Serialize)]
struct Batch<'a> {
    records: &'a [ChainedRecord],
}

impl WebhookSink {
    /// A sink posting to `url` (`http://…` or `https://…`); a batch without an answer within
    /// `timeout` (connecting included) is Unavailable. A URL without a host, or with another
    /// scheme, is Invalid.
    pub fn new(url: &str, timeout: Duration) -> Result<WebhookSink, SinkError> {
        let uri: Uri = url
            .parse()
            .map_err(|error| invalid(format!("bad URL: {error}")))?;
        let secure = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(invalid(
                    "the URL must start with http:// or https://".into(),
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("the URL has no host".into()))?;
        if authority.as_str().contains('@') {
            return Err(invalid(
                "credentials in the URL are not sent; use a header".into(),
            ));
        }
        // IPv6 literals come bracketed in URLs but not in socket addresses.
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map_or("/".to_string(), |path| path.as_str().to_string());
        let scheme = if secure { "https" } else { "http" };
        let sink = WebhookSink {
            target: format!("{scheme}://{}{}", authority.as_str(), uri.path()),
            host,
            port,
            path,
            authority: authority.as_str().to_string(),
            tls: None,
            timeout,
            headers: HeaderMap::new(),
        };
        if secure {
            sink.with_tls(crate::system_roots::client_config(NAME)?)
        } else {
            Ok(sink)
        }
    }

    /// Uses `config` for `https` (a private CA, a client certificate). Invalid for an
    /// `http://` URL.
    pub fn with_tls(mut self, config: Arc<rustls::ClientConfig>) -> Result<Self, SinkError> {
        if !self.target.starts_with("https://") {
            return Err(invalid("TLS settings given for an http:// URL".into()));
        }
        let server_name = ServerName::try_from(self.host.clone())
            .map_err(|_| invalid(format!("{} is not a valid TLS server name", self.host)))?;
        self.tls = Some(Tls {
            connector: TlsConnector::from(config),
            server_name,
        });
        Ok(self)
    }

    /// Sends `name: value` with every batch (an `Authorization` token, say). The value is
    /// never logged.
    pub fn with_header(mut self, name: &str, value: &[u8]) -> Result<Self, SinkError> {
        let name = HeaderName::try_from(name)
            .map_err(|_| invalid(format!("{name:?} is not a header name")))?;
        let mut value = HeaderValue::from_bytes(value)
            .map_err(|_| invalid(format!("the value of header {name} is not valid")))?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(self)
    }

    async fn post(&self, body: Vec<u8>) -> Result<(), SinkError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| self.unavailable(format!("cannot connect: {error}")))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => self.exchange(TokioIo::new(tcp), body).await,
            Some(tls) => {
                let stream = tls
                    .connector
                    .connect(tls.server_name.clone(), tcp)
                    .await
                    .map_err(|error| self.unavailable(format!("TLS handshake failed: {error}")))?;
                self.exchange(TokioIo::new(stream), body).await
            }
        }
    }

    async fn exchange<T>(&self, io: T, body: Vec<u8>) -> Result<(), SinkError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|error| self.unavailable(format!("HTTP handshake failed: {error}")))?;
        // The connection runs beside the request and goes when this call ends, answered or
        // timed out.
        let _connection = AbortOnDrop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.path.as_str())
            .header(HOST, self.authority.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("legate/", env!("CARGO_PKG_VERSION")))
            .header(CONNECTION, "close")
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| invalid(format!("cannot build the request: {error}")))?;
        request.headers_mut().extend(self.headers.clone());
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| self.unavailable(format!("no answer: {error}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(self.unavailable(format!("answered {status}")))
        }
    }

    fn unavailable(&self, reason: String) -> SinkError {
        SinkError::Unavailable {
            sink: NAME.into(),
            reason: format!("{}: {reason}", self.target),
        }
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        NAME
    }

    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        if records.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_vec(&Batch { records })
            .map_err(|error| invalid(format!("cannot encode the batch: {error}")))?;
        match tokio::time::timeout(self.timeout, self.post(body)).await {
            Ok(result) => result,
            Err(_) => {
                Err(self.unavailable(format!("no answer within {} ms", self.timeout.as_millis())))
            }
        }
    }

    /// A webhook cannot tell what it holds.
    async fn last(&self, _partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        Ok(None)
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn invalid(reason: String) -> SinkError {
    SinkError::Invalid {
        sink: NAME.into(),
        reason,
    }
}
