//! A small HTTP/1.1 client for the control plane's two calls: the snapshot long poll and the
//! ACK. One connection per call: a poll is one request and answer, and a fresh connection never
//! trips over one a load balancer cut while idle.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use legate_api::push::{Ack, SnapshotPush, LONG_POLL};

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
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}{}", self.address, self.base_path)
    }
}

impl ControlPlane {
    /// Reads `http://host:port[/prefix]`; the token is sent as `Authorization: Bearer`.
    pub fn parse(url: &str, token: Option<String>) -> Result<ControlPlane, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("--control-plane {url}: only http://host:port URLs are supported")
        })?;
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
        })
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
        let exchange = async {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // The connection ends with the exchange; its own errors show in the answer.
                let _ = connection.await;
            });
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
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, ClientError>((status, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout)?
    }
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
        let plain = ControlPlane::parse("http://127.0.0.1:18000", None).unwrap();
        assert_eq!(plain.address, "127.0.0.1:18000");
        assert_eq!(plain.base_path, "");
        let prefixed = ControlPlane::parse("http://127.0.0.1:18000/cp/", None).unwrap();
        assert_eq!(prefixed.base_path, "/cp");
        assert!(ControlPlane::parse("https://127.0.0.1:1", None).is_err());
        assert!(ControlPlane::parse("http://localhost", None).is_err());
    }

    #[test]
    fn node_ids_are_encoded_for_the_query() {
        assert_eq!(encode_query("pod-1.a_b~"), "pod-1.a_b~");
        assert_eq!(encode_query("a b&c"), "a%20b%26c");
    }
}
