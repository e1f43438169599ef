//! The router's per-request side: choose the next hop (an in-dialog request's, or the cluster or
//! partner of the matching route) and run client transactions on it, failing over between
//! endpoints (see `failover`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use legate_filters_api::{FilterError, ListenerInfo, PeerAddress, SipRequest, SipResponse};
use legate_sip::Uri;
use tokio::sync::watch;
use tower::Service;

use legate_api::RouteTarget;

use super::attempts::Attempts;
use super::failover::{fail_over, Destination, Endpoints};
use super::{Routing, NAME};
use crate::core::{creates_dialog, Core, NextHop, RouteState};
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
    let attempts = Attempts::new(&core, &request, &ingress);

    if let Some(in_dialog) = request.context.get::<InDialogRoute>() {
        let listeners = core.listeners();
        let egress = listeners.in_dialog_egress(
            in_dialog.egress.as_deref(),
            in_dialog.hop.transport,
            &ingress,
        );
        let trust = ServerTrust::ByAddress;
        return Ok(
            match attempts
                .attempt("in-dialog next hop", &in_dialog.hop, egress, None, trust)
                .await
            {
                Ok(answer) => SipResponse::upstream(answer),
                Err(failure) => failure.answer(&attempts),
            },
        );
    }

    let view = request.view();
    let Some(target) = &view.request_uri else {
        return Ok(attempts.local(416, "Unsupported URI Scheme", "request-uri not routable"));
    };
    let domain = target.host_lowercase();
    let Some(matched) = routing.routes.lookup(&domain, ingress.side) else {
        return Ok(attempts.local(404, "Not Found", &format!("no route for domain {domain}")));
    };
    let initiator = creates_dialog(&request.message).then(|| RouteState {
        ingress: ingress.name.to_string(),
        egress: String::new(),
        initiator_tag: view.from_tag().unwrap_or_default().to_string(),
        initiator_flow: request
            .context
            .get::<PeerAddress>()
            .map(|peer| (ingress.transport, peer.0)),
    });
    let call_id = request.message.call_id().cloned().unwrap_or_default();
    let cluster = match matched.target {
        RouteTarget::Peer(peer) => {
            core.metrics.partner_request(peer, "outbound");
            if let Some(trace) = request.trace() {
                trace.note("legate.partner", peer);
            }
            return Ok(
                match routing.peers.destination(peer, target, &attempts).await {
                    Ok(destination) => fail_over(&attempts, destination, initiator).await,
                    Err(answer) => answer,
                },
            );
        }
        RouteTarget::Cluster(default) => {
            let chosen = match matched.by_attribute {
                Some(by) => cluster_by_attribute(&routing, by, target)
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
        what: cluster.description.as_str().into(),
        metric_label: cluster.name.as_str().into(),
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
    uri: &Uri,
) -> Option<String> {
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
