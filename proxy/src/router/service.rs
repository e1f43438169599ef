//! The router's per-request side: choose the next hop, run client transactions, fail over.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use legate_filters::{
    FilterError, ListenerInfo, PeerAddress, ProvisionalSink, SipRequest, SipResponse,
};
use legate_sip::{Header, HeaderKind, Uri};
use tokio::sync::watch;
use tower::Service;

use super::{Routing, NAME};
use crate::core::{creates_dialog, ClientOutcome, Core, ListenerRuntime, NextHop, RouteState};

/// The proxy core, for the router to run client transactions on.
#[derive(Clone)]
pub struct CoreHandle(pub Arc<Core>);

/// Flips to true when the request is cancelled (CANCEL received).
#[derive(Clone)]
pub struct CancelSignal(pub watch::Receiver<bool>);

/// Set by the engine for in-dialog requests: the next hop, taken from the remaining Route set or
/// the Request-URI, and the listener to leave by (from Legate's signed Record-Route state).
#[derive(Debug, Clone)]
pub struct InDialogRoute {
    pub hop: NextHop,
    pub egress: Option<String>,
}

/// How long peers should wait before retrying when no endpoint is available.
const RETRY_AFTER_SECONDS: &str = "30";

#[derive(Clone)]
pub struct Router {
    routing: Routing,
}

impl Router {
    pub fn new(routing: Routing) -> Router {
        Router { routing }
    }
}

impl Service<SipRequest> for Router {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: SipRequest) -> Self::Future {
        Box::pin(route(self.routing.clone(), request))
    }
}

/// What one request needs while it is routed.
struct Attempts<'a> {
    core: &'a Arc<Core>,
    request: &'a SipRequest,
    ingress: &'a ListenerInfo,
    sink: Option<ProvisionalSink>,
    cancel: Option<watch::Receiver<bool>>,
}

impl Attempts<'_> {
    async fn attempt(
        &self,
        hop: &NextHop,
        egress: Option<&ListenerRuntime>,
        state: Option<&RouteState>,
    ) -> ClientOutcome {
        let plan =
            self.core
                .prepare_forward(&self.request.message, self.ingress, egress, hop, state);
        let flow = match self.core.flow_to(hop, egress).await {
            Ok(flow) => flow,
            Err(error) => return ClientOutcome::Unreachable(error.to_string()),
        };
        let sink = self.sink.clone();
        let on_provisional = move |response| {
            if let Some(sink) = &sink {
                sink.send(response);
            }
        };
        self.core
            .client_transaction(
                plan.message,
                flow,
                plan.branch,
                &on_provisional,
                self.cancel.clone(),
            )
            .await
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| *c.borrow())
    }

    fn local(&self, code: u16, reason: &str, warning: &str) -> SipResponse {
        SipResponse::local(self.request, NAME, code, reason, warning)
    }

    fn unavailable(&self, warning: &str) -> SipResponse {
        let mut response = self.local(503, "Service Unavailable", warning);
        response
            .message
            .headers
            .push(Header::new(HeaderKind::RetryAfter, RETRY_AFTER_SECONDS));
        response
    }
}

async fn route(routing: Routing, request: SipRequest) -> Result<SipResponse, FilterError> {
    let core = request
        .context
        .get::<CoreHandle>()
        .map(|h| h.0.clone())
        .ok_or_else(|| FilterError::internal(NAME, "router ran without the proxy core"))?;
    let ingress = request
        .context
        .get::<ListenerInfo>()
        .cloned()
        .ok_or_else(|| FilterError::internal(NAME, "router ran without listener context"))?;
    let attempts = Attempts {
        core: &core,
        request: &request,
        ingress: &ingress,
        sink: request.context.get::<ProvisionalSink>().cloned(),
        cancel: request.context.get::<CancelSignal>().map(|c| c.0.clone()),
    };

    if let Some(in_dialog) = request.context.get::<InDialogRoute>() {
        let egress = core.listeners.in_dialog_egress(
            in_dialog.egress.as_deref(),
            in_dialog.hop.transport,
            &ingress,
        );
        return Ok(match attempts.attempt(&in_dialog.hop, egress, None).await {
            ClientOutcome::Final(response) => SipResponse::upstream(response),
            ClientOutcome::Timeout => {
                attempts.local(408, "Request Timeout", "next hop did not answer")
            }
            ClientOutcome::Unreachable(error) => attempts.unavailable(&format!(
                "next hop {} unreachable: {error}",
                in_dialog.hop.addr
            )),
        });
    }

    let Some(uri) = request.message.request_uri() else {
        return Err(FilterError::internal(NAME, "router got a response"));
    };
    let domain = match Uri::parse(uri) {
        Ok(uri) => uri.host_lowercase(),
        Err(_) => {
            return Ok(attempts.local(416, "Unsupported URI Scheme", "request-uri not routable"))
        }
    };
    let Some(matched) = routing.routes.lookup(&domain, ingress.side) else {
        return Ok(attempts.local(404, "Not Found", &format!("no route for domain {domain}")));
    };
    let chosen = match matched.by_attribute {
        Some(by) => cluster_by_attribute(&routing, by, uri)
            .await
            .unwrap_or_else(|| matched.cluster.to_string()),
        None => matched.cluster.to_string(),
    };
    let Some(cluster) = routing.clusters.get(&chosen) else {
        return Err(FilterError::internal(
            NAME,
            format!("route {} names a missing cluster", matched.route),
        ));
    };

    let initiator = creates_dialog(&request.message).then(|| RouteState {
        ingress: ingress.name.to_string(),
        egress: String::new(),
        initiator_tag: request
            .message
            .from_header()
            .ok()
            .and_then(|f| f.tag().map(str::to_string))
            .unwrap_or_default(),
        initiator_flow: request
            .context
            .get::<PeerAddress>()
            .map(|peer| (ingress.transport, peer.0)),
    });
    let call_id = request.message.call_id().cloned().unwrap_or_default();
    let mut tried: Vec<SocketAddr> = Vec::new();
    let mut last_failure = String::new();
    while let Some(addr) = cluster.select(&call_id, &tried) {
        tried.push(addr);
        let hop = NextHop {
            transport: cluster.transport,
            addr,
            server_name: cluster.tls_server_name.clone(),
        };
        let egress = core.listeners.egress(hop.transport, &ingress);
        let state = initiator.clone().map(|mut state| {
            state.egress = egress.map(|l| l.info.name.to_string()).unwrap_or_default();
            state
        });
        let method = request.message.method().map(|m| m.as_str()).unwrap_or("");
        match attempts.attempt(&hop, egress, state.as_ref()).await {
            ClientOutcome::Final(response) => {
                let status = response.status().unwrap_or(500);
                core.metrics
                    .response_received(&cluster.name, method, status);
                if status != 503 || attempts.cancelled() {
                    return Ok(SipResponse::upstream(response));
                }
                last_failure = format!("{addr} answered 503");
            }
            ClientOutcome::Timeout => last_failure = format!("{addr} timed out"),
            ClientOutcome::Unreachable(error) => {
                last_failure = format!("{addr} unreachable: {error}")
            }
        }
        tracing::info!(cluster = %cluster.name, failure = %last_failure, "trying the next endpoint");
        if attempts.cancelled() {
            return Ok(attempts.local(487, "Request Terminated", "cancelled"));
        }
    }
    Ok(if tried.is_empty() {
        attempts.unavailable(&format!("no healthy endpoint in cluster {}", cluster.name))
    } else {
        attempts.unavailable(&format!(
            "all {} tried endpoints of cluster {} failed, last: {last_failure}",
            tried.len(),
            cluster.name
        ))
    })
}

/// The cluster a directory attribute of the target user picks, if it picks one: several IM
/// systems serving one domain. A user the directory does not know, an unmapped value or a
/// directory that cannot be asked leaves the route's own cluster.
async fn cluster_by_attribute(
    routing: &Routing,
    by: &legate_api::AttributeRouting,
    request_uri: &[u8],
) -> Option<String> {
    let uri = Uri::parse(request_uri).ok()?;
    let user = uri.user.as_deref()?.split(':').next()?.to_ascii_lowercase();
    let directory = routing.directories.get(&by.directory)?;
    let entry = match directory.lookup(&user, &uri.host_lowercase()).await {
        Ok(entry) => entry?,
        Err(error) => {
            tracing::warn!(%error, directory = %by.directory, "directory unavailable; default cluster used");
            return None;
        }
    };
    let value = entry.attributes.get(&by.attribute)?;
    by.clusters.get(value).cloned()
}
