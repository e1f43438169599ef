//! Maps one admin request to its response: the only place that decides status codes.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::answer::{method_not_allowed, response, text, unauthorized, TEXT};
use crate::auth::Access;
use crate::metrics::Metrics;
use crate::state::AdminState;

/// Everything a request handler needs, shared by all connections.
pub(crate) struct Responder {
    pub(crate) state: Arc<dyn AdminState>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) access: Access,
}

const JSON: &str = "application/json";
/// The Prometheus text exposition format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

impl Responder {
    pub(crate) fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        let is_get = request.method() == Method::GET;

        let authorized = self.access.allows(request.headers());
        // Liveness and the readiness verdict stay open so orchestrators (a kubelet's probes)
        // can ask without holding the token; what readiness depends on is shown only with it.
        match path {
            "/healthz" | "/readyz" if !is_get => return method_not_allowed("GET"),
            "/healthz" => return text(StatusCode::OK, "ok"),
            "/readyz" => return self.readiness(authorized),
            _ => {}
        }
        // Checked before the path, so that without the token nothing (not even which paths
        // exist) is revealed.
        if !authorized {
            return unauthorized("Bearer realm=\"legate-admin\"");
        }
        match path {
            "/metrics" | "/config_dump" if !is_get => method_not_allowed("GET"),
            "/metrics" => response(StatusCode::OK, PROMETHEUS_TEXT, self.metrics.render()),
            "/config_dump" => self.config_dump(),
            _ if !is_get => method_not_allowed("GET"),
            _ => text(StatusCode::NOT_FOUND, "not found"),
        }
    }

    /// The verdict, and with `detail` the lines that explain it (audit sinks' state).
    fn readiness(&self, detail: bool) -> Response<Full<Bytes>> {
        let (status, verdict) = if self.state.ready() {
            (StatusCode::OK, "ready")
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
        };
        let detail = if detail {
            self.state.readiness_detail()
        } else {
            Vec::new()
        };
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
