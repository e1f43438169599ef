//! The router's per-request side: choose the next hop (an in-dialog request's, or the cluster or
//! partner of the matching route) and run client transactions on it, failing over between
//! endpoints (see `failover`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use legate_filters_api::{
    FilterError, ListenerInfo, PeerAddress, ProvisionalSink, SipRequest, SipResponse,
};
use legate_sip::{Header, HeaderKind, Uri};
use tokio::sync::watch;
use tower::Service;

use legate_api::RouteTarget;

use super::failover::{fail_over, Destination, Endpoints};
use super::{Routing, NAME};
use crate::core::{
    creates_dialog, sender_warning, ClientOutcome, Core, ListenerRuntime, NextHop, RouteState,
    TooLarge,
};
use crate::transport::ServerTrust;

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
pub(super) struct Attempts<'a> {
    pub core: &'a Arc<Core>,
    pub request: &'a SipRequest,
    pub ingress: &'a ListenerInfo,
    sink: Option<ProvisionalSink>,
    cancel: Option<watch::Receiver<bool>>,
}

impl Attempts<'_> {
    pub async fn attempt(
        &self,
        hop: &NextHop,
        egress: Option<&ListenerRuntime>,
        state: Option<&RouteState>,
        trust: ServerTrust<'_>,
    ) -> Result<ClientOutcome, TooLarge> {
        let plan =
            match self
                .core
                .prepare_forward(&self.request.message, self.ingress, egress, hop, state)
            {
                Ok(plan) => plan,
                // No other endpoint would fare better: the request itself is too large.
                Err(too_large) => return Err(too_large),
            };
        let flow = match self.core.flow_trusting(hop, egress, trust).await {
            Ok(flow) => flow,
            Err(error) => return Ok(ClientOutcome::Unreachable(error.to_string())),
        };
        let sink = self.sink.clone();
        let on_provisional = move |response| {
            if let Some(sink) = &sink {
                sink.send(response);
            }
        };
        Ok(self
            .core
            .client_transaction(
                plan.message,
                flow,
                plan.branch,
                &on_provisional,
                self.cancel.clone(),
            )
            .await)
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| *c.borrow())
    }

    /// The router's own answer; `warning` is its detail, which only internal senders see.
    pub fn local(&self, code: u16, reason: &str, warning: &str) -> SipResponse {
        let warning = sender_warning(self.ingress.side, code, warning);
        SipResponse::local(self.request, NAME, code, reason, &warning)
    }

    /// 513: what the request would become on the way out is more than Legate accepts. Said to
    /// any sender: it is about the request's own size, not about the inside.
    pub fn too_large(&self, too_large: &TooLarge) -> SipResponse {
        let warning = format!("request too large to forward: {too_large}");
        SipResponse::local(self.request, NAME, 513, "Message Too Large", &warning)
    }

    pub fn unavailable(&self, warning: &str) -> SipResponse {
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
        let listeners = core.listeners();
        let egress = listeners.in_dialog_egress(
            in_dialog.egress.as_deref(),
            in_dialog.hop.transport,
            &ingress,
        );
        let trust = ServerTrust::ByAddress;
        return Ok(
            match attempts.attempt(&in_dialog.hop, egress, None, trust).await {
                Ok(ClientOutcome::Final(response)) => SipResponse::upstream(response),
                Ok(ClientOutcome::Timeout) => {
                    attempts.local(408, "Request Timeout", "next hop did not answer")
                }
                Ok(ClientOutcome::Unreachable(error)) => attempts.unavailable(&format!(
                    "next hop {} unreachable: {error}",
                    in_dialog.hop.addr
                )),
                Err(too_large) => attempts.too_large(&too_large),
            },
        );
    }

    let Some(uri) = request.message.request_uri() else {
        return Err(FilterError::internal(NAME, "router got a response"));
    };
    let Ok(target) = Uri::parse(uri) else {
        return Ok(attempts.local(416, "Unsupported URI Scheme", "request-uri not routable"));
    };
    let domain = target.host_lowercase();
    let Some(matched) = routing.routes.lookup(&domain, ingress.side) else {
        return Ok(attempts.local(404, "Not Found", &format!("no route for domain {domain}")));
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
    let cluster = match matched.target {
        RouteTarget::Peer(peer) => {
            return Ok(
                match routing.peers.destination(peer, &target, &attempts).await {
                    Ok(destination) => fail_over(&attempts, destination, initiator).await,
                    Err(answer) => answer,
                },
            );
        }
        RouteTarget::Cluster(default) => {
            let chosen = match matched.by_attribute {
                Some(by) => cluster_by_attribute(&routing, by, uri)
                    .await
                    .unwrap_or_else(|| default.to_string()),
                None => default.to_string(),
            };
            routing.clusters.get(&chosen).ok_or_else(|| {
                FilterError::internal(
                    NAME,
                    format!("route {} names a missing cluster", matched.route),
                )
            })?
        }
    };
    let destination = Destination {
        what: format!("cluster {}", cluster.name),
        metric_label: cluster.name.clone(),
        transport: cluster.transport,
        server_name: cluster.tls_server_name.clone(),
        trust: ServerTrust::ByAddress,
        endpoints: Endpoints::Cluster {
            cluster,
            call_id: &call_id,
        },
    };
    Ok(fail_over(&attempts, destination, initiator).await)
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
