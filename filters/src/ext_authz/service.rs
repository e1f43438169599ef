//! The per-request side: ask the service, then pass the request on (with the header changes
//! the service asked for), answer with its refusal, or apply `failure_mode`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use legate_sip::{Header, HeaderKind, Method};
use tower::Service;

use super::client::AuthzClient;
use super::config::{FailureMode, Settings};
use super::counts::AuthzCounters;
use super::describe::{check_request, BuiltFor};
use super::error::AuthzError;
use super::wire::{CheckAnswer, Verdict};
use super::NAME;
use legate_filters_api::{BoxSipService, FilterError, Refusal, SipRequest, SipResponse};

/// Seconds a sender should wait before retrying when the service could not be asked.
const RETRY_AFTER_SECONDS: &str = "5";

/// What every request of one chain shares: the settings, the connection pool, the listener.
pub(crate) struct Shared {
    pub settings: Settings,
    pub client: AuthzClient,
    pub built_for: BuiltFor,
    pub counts: AuthzCounters,
}

#[derive(Clone)]
pub struct ExtAuthz {
    shared: Arc<Shared>,
    inner: BoxSipService,
}

impl ExtAuthz {
    pub(crate) fn new(shared: Arc<Shared>, inner: BoxSipService) -> ExtAuthz {
        ExtAuthz { shared, inner }
    }
}

impl Service<SipRequest> for ExtAuthz {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: SipRequest) -> Self::Future {
        if !is_checked(&self.shared.settings, &request) {
            return Box::pin(self.inner.call(request));
        }
        // The clone takes the place of the service that was polled ready.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let shared = self.shared.clone();
        Box::pin(async move {
            match ask(&shared, &request).await {
                Ok(Verdict::Allow(changes)) => {
                    shared.counts.allowed.inc();
                    tracing::debug!(filter = NAME, "allowed by the authorization service");
                    crate::header_mutation::apply(&changes, &mut request.message.headers);
                    inner.call(request).await
                }
                Ok(Verdict::Deny {
                    status,
                    reason,
                    rule_id,
                }) => {
                    shared.counts.denied.inc();
                    tracing::info!(filter = NAME, status, %reason, rule = rule_id.as_deref().unwrap_or(""), "denied by the authorization service");
                    let mut refusal = Refusal::new(NAME, status, reason.clone())
                        .warning(reason)
                        .input("authorization_service_status", status.to_string());
                    refusal.rule_id = rule_id;
                    Ok(request.refuse(refusal))
                }
                Err(error) => {
                    shared.counts.errors.inc();
                    let mode = shared.settings.failure_mode;
                    tracing::warn!(
                        filter = NAME,
                        %error,
                        kind = error.label(),
                        failure_mode = mode.as_str(),
                        "authorization service gave no usable answer"
                    );
                    match mode {
                        FailureMode::Allow => inner.call(request).await,
                        FailureMode::Deny => Ok(unavailable(&request)),
                    }
                }
            }
        })
    }
}

/// Whether this request is one the service is asked about.
fn is_checked(settings: &Settings, request: &SipRequest) -> bool {
    let Some(method) = request.message.method() else {
        return false;
    };
    // Neither can be refused: an ACK has no response, a CANCEL only stops its INVITE.
    if matches!(method, Method::Ack | Method::Cancel) {
        return false;
    }
    if !settings.check_in_dialog && request.is_in_dialog() {
        return false;
    }
    settings
        .methods
        .as_ref()
        .is_none_or(|methods| methods.contains(method))
}

async fn ask(shared: &Shared, request: &SipRequest) -> Result<Verdict, AuthzError> {
    let body = check_request(request, &shared.settings, &shared.built_for)?;
    let answer = shared.client.post(body).await?;
    CheckAnswer::parse(&answer)
}

/// `failure_mode: deny`: the service's silence is no verdict on the request, so the sender is
/// asked to come back rather than told no. The Warning names no internal detail.
fn unavailable(request: &SipRequest) -> SipResponse {
    let mut response = SipResponse::local(
        request,
        NAME,
        503,
        "Service Unavailable",
        "authorization service unavailable, try again later",
    );
    response
        .message
        .headers
        .push(Header::new(HeaderKind::RetryAfter, RETRY_AFTER_SECONDS));
    response
}
