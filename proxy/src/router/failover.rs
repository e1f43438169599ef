//! Trying the endpoints of one destination in turn: a cluster's healthy endpoints, or the
//! addresses of a federation partner. The next one is tried when an endpoint cannot be reached,
//! times out or answers 503; any other final answer ends the request.

use std::net::SocketAddr;

use legate_api::Transport;
use legate_filters_api::SipResponse;

use super::cluster::Cluster;
use super::service::Attempts;
use crate::core::{ClientOutcome, NextHop, RouteState};
use crate::transport::ServerTrust;

/// Where a routed request may go.
pub(super) struct Destination<'a> {
    /// What the Warning and logs call it: `cluster im`, `partner acme (acme.example)`.
    pub what: String,
    /// The `cluster` label of `legate_sip_upstream_responses_total`.
    pub metric_label: String,
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
    let mut last_failure = String::new();
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
        match attempts
            .attempt(&hop, egress, state.as_ref(), destination.trust)
            .await
        {
            Ok(ClientOutcome::Final(response)) => {
                let status = response.status().unwrap_or(500);
                core.metrics
                    .response_received(&destination.metric_label, method, status);
                if status != 503 || attempts.cancelled() {
                    return SipResponse::upstream(response);
                }
                last_failure = format!("{addr} answered 503");
            }
            Err(too_large) => return attempts.too_large(&too_large),
            Ok(ClientOutcome::Timeout) => last_failure = format!("{addr} timed out"),
            Ok(ClientOutcome::Unreachable(error)) => {
                last_failure = format!("{addr} unreachable: {error}")
            }
        }
        tracing::info!(destination = %destination.what, failure = %last_failure, "trying the next endpoint");
        if attempts.cancelled() {
            return attempts.local(487, "Request Terminated", "cancelled");
        }
    }
    attempts.unavailable(&if tried.is_empty() {
        format!("no healthy endpoint in {}", destination.what)
    } else {
        format!(
            "all {} tried endpoints of {} failed, last: {last_failure}",
            tried.len(),
            destination.what
        )
    })
}
