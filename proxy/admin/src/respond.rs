//! Maps one admin request to its response: the only place that decides status codes.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::auth::Access;
use crate::metrics::Metrics;
use crate::state::AdminState;

/// Everything a request handler needs, shared by all connections.
pub(crate) struct Responder {
    pub(crate) state: Arc<dyn AdminState>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) access: Access,
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
/// The Prometheus text exposition format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

impl Responder {
    pub(crate) fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        let is_get = request.method() == Method::GET;

        // Liveness stays open so orchestrators can probe without holding the token.
        if path == "/healthz" {
            return if is_get {
                text(StatusCode::OK, "ok")
            } else {
                method_not_allowed()
            };
        }
        // Checked before the path, so that without the token nothing (not even which paths
        // exist) is revealed.
        if !self.access.allows(request.headers()) {
            return unauthorized();
        }
        match path {
            "/readyz" | "/metrics" | "/config_dump" if !is_get => method_not_allowed(),
            "/readyz" => self.readiness(),
            "/metrics" => response(StatusCode::OK, PROMETHEUS_TEXT, self.metrics.render()),
            "/config_dump" => self.config_dump(),
            _ if !is_get => method_not_allowed(),
            _ => text(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn readiness(&self) -> Response<Full<Bytes>> {
        let (status, verdict) = if self.state.ready() {
            (StatusCode::OK, "ready")
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
        };
        let detail = self.state.readiness_detail();
        if detail.is_empty() {
            return text(status, verdict);
        }
        let mut body = String::from(verdict);
        for line in detail {
            body.push('\n');
            body.push_str(&line);
        }
        response(status, TEXT, body)
    }

    fn config_dump(&self) -> Response<Full<Bytes>> {
        match serde_json::to_string_pretty(&self.state.config_dump()) {
            Ok(mut body) => {
                body.push('\n');
                response(StatusCode::OK, JSON, body)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot render the config dump");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "cannot render the config dump",
                )
            }
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    response(status, TEXT, body)
}

fn method_not_allowed() -> Response<Full<Bytes>> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET"));
    response
}

fn unauthorized() -> Response<Full<Bytes>> {
    let mut response = text(StatusCode::UNAUTHORIZED, "unauthorized");
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"legate-admin\""),
    );
    response
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Readiness, metrics and config change from one request to the next.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
