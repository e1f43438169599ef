//! The pooled HTTP/1.1 client that POSTs check requests to the service and returns the body of
//! its answer. Every call, from taking a connection to the last byte of the answer, is bounded
//! by `timeout`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::config::Endpoint;
use super::connector::Connector;
use super::error::{with_sources, AuthzError};

/// The largest answer read: a verdict with a few header changes is far smaller.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Idle connections are closed after this long, before the service's own keep-alive limit
/// would close them under a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct AuthzClient {
    http: Client<Connector, Full<Bytes>>,
    uri: http::Uri,
    timeout: Duration,
}

impl AuthzClient {
    /// Opens nothing yet: connections are made by the first checks and kept (up to
    /// `pool_size` idle ones) for the next.
    pub fn new(endpoint: Arc<Endpoint>, timeout: Duration, pool_size: usize) -> AuthzClient {
        let uri = endpoint.uri.clone();
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool_size)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .build(Connector::new(endpoint));
        AuthzClient { http, uri, timeout }
    }

    /// POSTs `body` (JSON) and returns the body of a 2xx answer.
    pub async fn post(&self, body: Vec<u8>) -> Result<Bytes, AuthzError> {
        match tokio::time::timeout(self.timeout, self.exchange(body)).await {
            Ok(result) => result,
            Err(_) => Err(AuthzError::Timeout(self.timeout)),
        }
    }

    async fn exchange(&self, body: Vec<u8>) -> Result<Bytes, AuthzError> {
        let request = http::Request::post(self.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| AuthzError::Request(e.to_string()))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| AuthzError::Unreachable(with_sources(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(AuthzError::HttpStatus(status.as_u16()));
        }
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| AuthzError::Body(with_sources(&*e)))?;
        Ok(body.to_bytes())
    }
}
