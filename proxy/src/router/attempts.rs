//! One routed request's attempts at its next hops: each prepares the request for its hop, opens
//! (or reuses) the flow and runs a client transaction, and comes back with the answer to pass on
//! or a typed [`UpstreamFailure`].

use std::sync::Arc;
use std::time::SystemTime;

use legate_filters_api::{ListenerInfo, ProvisionalSink, SipRequest, SipResponse};
use legate_sip::{Header, HeaderKind, Message};
use tokio::sync::watch;

use super::service::CancelSignal;
use super::upstream_failure::UpstreamFailure;
use super::NAME;
use crate::core::{
    sender_warning, ClientOutcome, Core, ListenerRuntime, NextHop, RouteState, TooLarge,
};
use crate::telemetry::{new_span_id, Attempt, AttemptResult, RequestTrace, SpanId};
use crate::transport::ServerTrust;

/// How long peers should wait before retrying when no endpoint is available.
const RETRY_AFTER_SECONDS: &str = "30";

/// What one request needs while it is routed.
pub(super) struct Attempts<'a> {
    pub core: &'a Arc<Core>,
    pub request: &'a SipRequest,
    pub ingress: &'a ListenerInfo,
    sink: Option<ProvisionalSink>,
    cancel: Option<watch::Receiver<bool>>,
}

impl<'a> Attempts<'a> {
    pub fn new(core: &'a Arc<Core>, request: &'a SipRequest, ingress: &'a ListenerInfo) -> Self {
        Attempts {
            core,
            request,
            ingress,
            sink: request.context.get::<ProvisionalSink>().cloned(),
            cancel: request.context.get::<CancelSignal>().map(|c| c.0.clone()),
        }
    }

    /// One attempt at `hop` (of `target`, as traces name it): its final answer, unless that is
    /// a 503 or there is none. A traced request records the attempt as a span of its own.
    pub async fn attempt(
        &self,
        target: &str,
        hop: &NextHop,
        egress: Option<&ListenerRuntime>,
        state: Option<&RouteState>,
        trust: ServerTrust<'_>,
    ) -> Result<Message, UpstreamFailure> {
        let trace = self
            .request
            .context
            .get::<Arc<RequestTrace>>()
            .map(|trace| (trace, new_span_id()));
        let start = SystemTime::now();
        let result = self.send(hop, egress, state, trust, trace).await;
        if let Some((trace, span_id)) = trace.filter(|(trace, _)| trace.sampled) {
            trace.record_attempt(Attempt {
                span_id,
                start,
                end: SystemTime::now(),
                addr: hop.addr,
                transport: hop.transport,
                tls_server_name: hop.server_name.clone(),
                target: target.to_string(),
                result: match &result {
                    Ok(answer) => AttemptResult::Answered(answer.status().unwrap_or(500)),
                    Err(failure) => AttemptResult::Failed(failure.describe()),
                },
            });
        }
        result
    }

    async fn send(
        &self,
        hop: &NextHop,
        egress: Option<&ListenerRuntime>,
        state: Option<&RouteState>,
        trust: ServerTrust<'_>,
        trace: Option<(&Arc<RequestTrace>, SpanId)>,
    ) -> Result<Message, UpstreamFailure> {
        let mut plan = self
            .core
            .prepare_forward(&self.request.message, self.ingress, egress, hop, state)
            .map_err(UpstreamFailure::TooLarge)?;
        let side = egress.map_or(self.ingress.side, |listener| listener.info.side);
        self.core.telemetry.load().outgoing(
            &mut plan.message,
            side,
            trace.map(|(trace, span_id)| (trace.as_ref(), span_id)),
        );
        let flow = self
            .core
            .flow_trusting(hop, egress, trust)
            .await
            .map_err(|error| UpstreamFailure::Unreachable {
                addr: hop.addr,
                error: error.to_string(),
            })?;
        let sink = self.sink.clone();
        let on_provisional = move |response| {
            if let Some(sink) = &sink {
                sink.send(response);
            }
        };
        let outcome = self
            .core
            .client_transaction(
                plan.message,
                flow,
                plan.branch.into(),
                &on_provisional,
                self.cancel.clone(),
            )
            .await;
        match outcome {
            ClientOutcome::Final(answer) if answer.status() == Some(503) => {
                Err(UpstreamFailure::Overloaded {
                    addr: hop.addr,
                    answer,
                })
            }
            ClientOutcome::Final(answer) => Ok(answer),
            ClientOutcome::Timeout => Err(UpstreamFailure::Timeout { addr: hop.addr }),
            ClientOutcome::Unreachable(error) => Err(UpstreamFailure::Unreachable {
                addr: hop.addr,
                error,
            }),
        }
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
