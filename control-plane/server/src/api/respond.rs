//! Maps one API request to its response: the only place that decides status codes.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use legate_admin::answer::{method_not_allowed, response, text, unauthorized, TEXT};
use legate_admin::Access;
use legate_api::push::Ack;
use serde::Serialize;

use super::query::snapshot_query;
use crate::nodes::valid_node_id;
use crate::plane::ControlPlane;

/// An ACK is a few hundred bytes; its error text is cut at 4 KiB when stored.
const MAX_ACK_BODY: usize = 64 * 1024;

const JSON: &str = "application/json";

pub struct Responder {
    pub plane: Arc<ControlPlane>,
    pub access: Access,
}

impl Responder {
    pub async fn respond(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        // Checked before the path, so without the token nothing is revealed.
        if !self.access.allows(request.headers()) {
            return unauthorized("Bearer realm=\"legate-control-plane\"");
        }
        let method = request.method().clone();
        match (request.uri().path(), method) {
            ("/v1/snapshot", Method::GET) => self.snapshot(request.uri().query()).await,
            ("/v1/ack", Method::POST) => self.ack(request.into_body()).await,
            ("/v1/status", Method::GET) => json(&self.plane.status()),
            ("/v1/errors", Method::GET) => json(&self.plane.errors()),
            ("/v1/ack", _) => method_not_allowed("POST"),
            ("/v1/snapshot" | "/v1/status" | "/v1/errors", _) => method_not_allowed("GET"),
            _ => text(StatusCode::NOT_FOUND, "not found"),
        }
    }

    async fn snapshot(&self, query: Option<&str>) -> Response<Full<Bytes>> {
        let (node, version) = match snapshot_query(query) {
            Ok(query) => query,
            Err(problem) => return text(StatusCode::BAD_REQUEST, problem),
        };
        if !valid_node_id(&node) {
            return text(StatusCode::BAD_REQUEST, BAD_NODE);
        }
        match self.plane.poll(&node, version).await {
            Some(push) => json(&push),
            None => response(StatusCode::NO_CONTENT, TEXT, Bytes::new()),
        }
    }

    async fn ack(&self, body: Incoming) -> Response<Full<Bytes>> {
        let Ok(body) = Limited::new(body, MAX_ACK_BODY).collect().await else {
            return text(
                StatusCode::BAD_REQUEST,
                "the body cannot be read or is over 64 KiB",
            );
        };
        let ack: Ack = match serde_json::from_slice(&body.to_bytes()) {
            Ok(ack) => ack,
            Err(error) => {
                let message = format!("the body is not an Ack: {error}");
                return response(StatusCode::BAD_REQUEST, TEXT, message);
            }
        };
        if !valid_node_id(&ack.node) {
            return text(StatusCode::BAD_REQUEST, BAD_NODE);
        }
        self.plane.ack(&ack);
        response(StatusCode::NO_CONTENT, TEXT, Bytes::new())
    }
}

const BAD_NODE: &str = "`node` must be 1 to 253 letters, digits, `.`, `-` or `_`";

fn json(value: &impl Serialize) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => response(StatusCode::OK, JSON, body),
        Err(error) => {
            tracing::warn!(%error, "cannot render an answer");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot render the answer",
            )
        }
    }
}
