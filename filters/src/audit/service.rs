//! The per-request side: note the request, in closed mode make its attempt durable before it
//! goes on (or answer 503), then record how it ended.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use legate_audit::AuditLog;
use legate_sip::{Header, HeaderKind};
use tower::Service;

use super::config::{Compiled, FailMode};
use super::hold::EndRecord;
use super::record::Observed;
use super::NAME;
use legate_filters_api::{
    BoxSipService, DialogHolds, FilterError, Peers, Side, SipRequest, SipResponse,
};

/// Seconds a sender should wait when its request was refused for want of a durable record.
const RETRY_AFTER_SECONDS: &str = "5";

/// What every instance of one built filter shares.
pub(crate) struct Shared {
    pub log: AuditLog,
    pub compiled: Compiled,
    pub peers: Peers,
    /// The listener the chain was built for (the request's `ListenerInfo` wins).
    pub side: Side,
    pub listener: String,
}

#[derive(Clone)]
pub struct Audit {
    shared: Arc<Shared>,
    inner: BoxSipService,
}

impl Audit {
    pub(crate) fn new(shared: Arc<Shared>, inner: BoxSipService) -> Audit {
        Audit { shared, inner }
    }
}

impl Service<SipRequest> for Audit {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SipRequest) -> Self::Future {
        // Requests inside a dialog are covered by the dialog's start and end records.
        if request.is_in_dialog() {
            return Box::pin(self.inner.call(request));
        }
        let shared = self.shared.clone();
        let mut observed = Observed::of(&request, shared.side, &shared.listener, &shared.peers);
        let policy = shared.compiled.policy_for(observed.partner());
        let fail_mode = policy.fail_mode;
        if let Some(capture) = &policy.bodies {
            observed.keep_body(capture, &request.message.body);
        }
        // The clone takes the place of the service that was polled ready.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            if fail_mode == FailMode::Closed {
                if let Err(why) = shared.log.record_durable(observed.attempt()).await {
                    tracing::warn!(filter = NAME, %why, "request refused: its audit record is not durable");
                    let answer = refuse(&request);
                    // The refusal itself is kept (spooled until a sink is back), so an attempt
                    // already in the chain is never left without its outcome.
                    shared.log.record(observed.outcome(&answer));
                    return Ok(answer);
                }
            }
            let mut response = match inner.call(request).await {
                Ok(response) => response,
                Err(error) => {
                    shared.log.record(observed.failure(error.status().0));
                    return Err(error);
                }
            };
            let record = observed.outcome(&response);
            if matches!(
                record.event,
                legate_audit::EventKind::DialogStart | legate_audit::EventKind::SubscriptionStart
            ) {
                let end = EndRecord::after(shared.log.clone(), &record);
                DialogHolds::attach(&mut response.context, end);
            }
            shared.log.record(record);
            Ok(response)
        })
    }
}

fn refuse(request: &SipRequest) -> SipResponse {
    let mut answer = SipResponse::local(
        request,
        NAME,
        503,
        "Service Unavailable",
        "audit unavailable, try again later",
    );
    answer
        .message
        .headers
        .push(Header::new(HeaderKind::RetryAfter, RETRY_AFTER_SECONDS));
    answer
}
