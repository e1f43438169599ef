//! Trying the endpoints of one destination in turn: a cluster's healthy endpoints, or the
//! addresses of a federation partner. The next one is tried when an endpoint cannot be reached,
//! times out or answers 503; any other final answer ends the request.

use std::borrow::Cow;
use std::net::SocketAddr;

use legate_api::Transport;
use legate_filters_api::SipResponse;

use super::attempts::Attempts;
use super::cluster::Cluster;
use super::upstream_failure::UpstreamFailure;
use crate::core::{NextHop, RouteState};
use crate::transport::ServerTrust;

/// Where a routed request may go.
pub(super) struct Destination<'a> {
    /// What the Warning and logs call it: `cluster im`, `partner acme (acme.example)`.
    pub what: Cow<'a, str>,
    /// The `cluster` label of `legate_sip_upstream_responses_total`.
    pub metric_label: Cow<'a, str>,
    pub transport: Transport,
    pub server_name: Option<String>,
    pub trust: ServerTrust<'a>,
    pub endpoints: Endpoints<'a>,
}

pub(super) enum Endpoints<'a> {
    /// A cluster's load balancer picks among its healthy endpoints (by Call-ID when hashing).
    Cluster {
        cluster: &'a Cluster,
        call_id: &'a [u8],
    },
    /// Tried in this order (a partner's discovered or configured addresses).
    Listed(Vec<SocketAddr>),
}

impl Endpoints<'_> {
    fn next(&self, tried: &[SocketAddr]) -> Option<SocketAddr> {
        match self {
            Endpoints::Cluster { cluster, call_id } => cluster.select(call_id, tried),
            Endpoints::Listed(addrs) => addrs.iter().find(|a| !tried.contains(a)).copied(),
        }
    }
}

/// Runs the request against `destination`'s endpoints until one gives a final answer that is
/// not 503, and returns that answer (or Legate's own when none does).
pub(super) async fn fail_over(
    attempts: &Attempts<'_>,
    destination: Destination<'_>,
    initiator: Option<RouteState>,
) -> SipResponse {
    let core = attempts.core;
    let method = attempts
        .request
        .message
        .method()
        .map(|m| m.as_str())
        .unwrap_or("");
    let listeners = core.listeners();
    let mut tried: Vec<SocketAddr> = Vec::new();
    let mut last_failure: Option<UpstreamFailure> = None;
    while let Some(addr) = destination.endpoints.next(&tried) {
        tried.push(addr);
        let hop = NextHop {
            transport: destination.transport,
            addr,
            server_name: destination.server_name.clone(),
        };
        let egress = listeners.egress(hop.transport, attempts.ingress);
        let state = initiator.clone().map(|mut state| {
            state.egress = egress.map(|l| l.info.name.to_string()).unwrap_or_default();
            state
        });
        let failure = match attempts
            .attempt(
                &destination.what,
                &hop,
                egress,
                state.as_ref(),
                destination.trust,
            )
            .await
        {
            Ok(answer) => {
                let status = answer.status().unwrap_or(500);
                core.metrics
                    .response_received(&destination.metric_label, method, status);
                return SipResponse::upstream(answer);
            }
            Err(failure) => failure,
        };
        if let UpstreamFailure::Overloaded { .. } = failure {
            core.metrics
                .response_received(&destination.metric_label, method, 503);
        }
        if !failure.retryable() {
            return failure.answer(attempts);
        }
        if attempts.cancelled() {
            // A cancelled request's own 503 is its answer; otherwise the cancel is.
            return match failure {
                UpstreamFailure::Overloaded { .. } => failure.answer(attempts),
                _ => attempts.local(487, "Request Terminated", "cancelled"),
            };
        }
        tracing::info!(destination = %destination.what, failure = %failure.describe(), "trying the next endpoint");
        last_failure = Some(failure);
    }
    attempts.unavailable(&match last_failure {
        None => format!("no healthy endpoint in {}", destination.what),
        Some(last) => format!(
            "all {} tried endpoints of {} failed, last: {}",
            tried.len(),
            destination.what,
            last.describe()
        ),
    })
}
