//! A small HTTP/1.1 client for the control plane's two calls: the snapshot long poll and the
//! ACK, over plain HTTP or HTTPS (trusting one CA, and showing a client certificate when the
//! control plane wants mutual TLS). One connection per call: a poll is one request and answer,
//! and a fresh connection never trips over one a load balancer cut while idle.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use legate_api::push::{Ack, SnapshotPush, LONG_POLL};
use tokio::io::{AsyncRead, AsyncWrite};

/// How long connecting may take before the control plane counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Beyond the long poll itself, how late an answer may be.
const ANSWER_SLACK: Duration = Duration::from_secs(10);
/// How long an ACK may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tls(std::io::Error),
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("no answer in time")]
    Timeout,
    #[error("answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unreadable snapshot: {0}")]
    Body(#[from] serde_json::Error),
}

/// Where the control plane listens, and the bearer token every call carries.
#[derive(Clone)]
pub struct ControlPlane {
    /// `host:port`, for connecting and the Host header.
    address: String,
    /// Path prefix before `/v1/...`, without a trailing slash.
    base_path: String,
    token: Option<String>,
    /// For `https://`: what the server is trusted with, and what the proxy shows it.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.address, self.base_path)
    }
}

impl ControlPlane {
    /// Reads `http://host:port[/prefix]` or `https://…` (which needs `tls`); the token is sent
    /// as `Authorization: Bearer`.
    pub fn parse(
        url: &str,
        token: Option<String>,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<ControlPlane, String> {
        let rest = match (url.split_once("://"), &tls) {
            (Some(("http", rest)), None) => rest,
            (Some(("https", rest)), Some(_)) => rest,
            (Some(("http", _)), Some(_)) => {
                return Err(format!(
                    "--control-plane {url}: --control-plane-ca is for https:// URLs"
                ))
            }
            (Some(("https", _)), None) => {
                return Err(format!(
                    "--control-plane {url}: an https:// control plane needs --control-plane-ca"
                ))
            }
            _ => {
                return Err(format!(
                    "--control-plane {url}: only http:// and https:// URLs are supported"
                ))
            }
        };
        let (address, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if address.is_empty() || !address.contains(':') {
            return Err(format!("--control-plane {url}: needs host:port"));
        }
        Ok(ControlPlane {
            address: address.to_string(),
            base_path: path.trim_end_matches('/').to_string(),
            token,
            tls,
        })
    }

    /// The host the server's certificate must name.
    fn host(&self) -> &str {
        let host = match self.address.rsplit_once(':') {
            Some((host, _)) => host,
            None => &self.address,
        };
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// One long poll: `Some` push when the control plane has a snapshot newer than `version`,
    /// `None` when the poll ran out (204).
    pub async fn poll(
        &self,
        node: &str,
        version: u64,
    ) -> Result<Option<SnapshotPush>, ClientError> {
        let path = format!(
            "{}/v1/snapshot?node={}&version={version}",
            self.base_path,
            encode_query(node)
        );
        let (status, body) = self
            .call(Method::GET, &path, Bytes::new(), LONG_POLL + ANSWER_SLACK)
            .await?;
        match status {
            StatusCode::OK => Ok(Some(serde_json::from_slice(&body)?)),
            StatusCode::NO_CONTENT => Ok(None),
            _ => Err(unexpected(status, &body)),
        }
    }

    pub async fn ack(&self, ack: &Ack) -> Result<(), ClientError> {
        let body = Bytes::from(serde_json::to_vec(ack)?);
        let path = format!("{}/v1/ack", self.base_path);
        let (status, answer) = self.call(Method::POST, &path, body, ACK_TIMEOUT).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(unexpected(status, &answer))
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let connect = tokio::net::TcpStream::connect(&self.address);
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => {
                return Err(ClientError::Connect {
                    address: self.address.clone(),
                    source,
                })
            }
            Err(_) => return Err(ClientError::Timeout),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, &self.address)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(token) = &self.token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|error| ClientError::Status {
                status: 0,
                body: format!("bad request: {error}"),
            })?;
        let answer = async {
            match &self.tls {
                None => exchange(stream, request).await,
                Some(config) => {
                    let stream = legate_tls::connect(config.clone(), self.host(), stream)
                        .await
                        .map_err(ClientError::Tls)?;
                    exchange(stream, request).await
                }
            }
        };
        tokio::time::timeout(timeout, answer)
            .await
            .map_err(|_| ClientError::Timeout)?
    }
}

/// One request and its whole answer on a fresh connection.
async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends with the exchange; its own errors show in the answer.
        let _ = connection.await;
    });
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

fn unexpected(status: StatusCode, body: &[u8]) -> ClientError {
    let text = String::from_utf8_lossy(body);
    ClientError::Status {
        status: status.as_u16(),
        body: text.chars().take(200).collect(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_a_prefix() {
        let plain = ControlPlane::parse("http://127.0.0.1:18000", None, None).unwrap();
        assert_eq!(plain.address, "127.0.0.1:18000");
        assert_eq!(plain.base_path, "");
        assert_eq!(plain.host(), "127.0.0.1");
        let prefixed = ControlPlane::parse("http://127.0.0.1:18000/cp/", None, None).unwrap();
        assert_eq!(prefixed.base_path, "/cp");
        assert!(ControlPlane::parse("http://localhost", None, None).is_err());
        assert!(ControlPlane::parse("ftp://127.0.0.1:1", None, None).is_err());
    }

    #[test]
    fn https_needs_a_ca_and_http_takes_none() {
        let error = ControlPlane::parse("https://cp.example:9902", None, None).unwrap_err();
        assert!(error.contains("needs --control-plane-ca"), "{error}");
        let roots = rustls::RootCertStore::empty();
        let config = rustls::ClientConfig::builder_with_provider(legate_tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tls = Some(Arc::new(config));
        let error = ControlPlane::parse("http://cp.example:9902", None, tls.clone()).unwrap_err();
        assert!(error.contains("is for https://"), "{error}");
        let secure = ControlPlane::parse("https://[::1]:9902", None, tls).unwrap();
        assert_eq!(secure.host(), "::1");
        assert_eq!(format!("{secure:?}"), "https://[::1]:9902");
    }

    #[test]
    fn node_ids_are_encoded_for_the_query() {
        assert_eq!(encode_query("pod-1.a_b~"), "pod-1.a_b~");
        assert_eq!(encode_query("a b&c"), "a%20b%26c");
    }
}
