//! The per-request side: a token from the sending partner's bucket, a slot for a new dialog,
//! or 503.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use legate_sip::Method;
use tokio::time::Instant;
use tower::Service;

use super::lease::DialogLease;
use super::limit::Limit;
use super::metrics::PartnerMetrics;
use super::usage::PartnerUsage;
use crate::TokenBucket;
use legate_filters_api::Authenticated;
use legate_filters_api::{
    BoxSipService, DialogHolds, DialogInfo, FilterError, SipRequest, SipResponse,
};

/// The `Retry-After` for a partner at a dialog limit. Dialogs end on a human time scale, with no
/// moment to predict, so this is a fixed pause rather than a computed one.
const DIALOG_LIMIT_RETRY_AFTER_SECS: u64 = 30;

/// One partner as this snapshot's chain sees it.
pub(crate) struct Partner {
    pub limits: legate_api::PeerLimits,
    /// Only for partners with `requests_per_second`.
    pub bucket: Option<Mutex<TokenBucket>>,
    pub usage: Arc<PartnerUsage>,
    pub metrics: Arc<PartnerMetrics>,
}

impl Partner {
    /// Ok to go on, or the whole seconds the partner should wait.
    fn admit(&self) -> Result<(), u64> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let Ok(mut bucket) = bucket.lock() else {
            return Ok(());
        };
        bucket
            .take(Instant::now())
            .map_err(|wait| wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// A slot for the dialog `request` opens, if it opens one.
    fn open(&self, request: &SipRequest) -> Result<Option<DialogLease>, Limit> {
        let in_dialog = request
            .context
            .get::<DialogInfo>()
            .is_some_and(|dialog| dialog.in_dialog);
        if in_dialog {
            // A refresh (re-INVITE, re-SUBSCRIBE) runs on the slot its dialog already holds.
            return Ok(None);
        }
        match request.message.method() {
            Some(Method::Invite) => self
                .usage
                .open_session(&self.limits, &self.metrics)
                .map(Some),
            Some(Method::Subscribe) => self
                .usage
                .open_subscription(remote_user(request), &self.limits, &self.metrics)
                .map(Some),
            _ => Ok(None),
        }
    }
}

/// The remote user a subscription counts against: the From address, `user@host`, lower-cased
/// so that spelling a name differently does not make a new user.
fn remote_user(request: &SipRequest) -> String {
    let view = request.view();
    let Some(from) = &view.from else {
        return String::new();
    };
    let uri = &from.uri;
    match &uri.user {
        Some(user) => format!("{user}@{}", uri.host).to_ascii_lowercase(),
        None => uri.host.to_ascii_lowercase().into(),
    }
}

#[derive(Clone)]
pub struct PeerLimits {
    partners: Arc<HashMap<String, Partner>>,
    inner: BoxSipService,
}

impl PeerLimits {
    pub(crate) fn new(partners: Arc<HashMap<String, Partner>>, inner: BoxSipService) -> PeerLimits {
        PeerLimits { partners, inner }
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

fn refuse(peer: &str, partner: &Partner, request: &SipRequest, limit: Limit, wait: u64) -> Answer {
    partner.metrics.refused(limit);
    tracing::info!(%peer, limit = limit.label(), wait, "partner at its limit");
    Box::pin(std::future::ready(Ok(limit.refuse(request, wait))))
}

impl Service<SipRequest> for PeerLimits {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SipRequest) -> Self::Future {
        let peer = match request.context.get::<Authenticated>() {
            Some(Authenticated::Peer { name, .. }) => name.as_str(),
            _ => return Box::pin(self.inner.call(request)),
        };
        let Some(partner) = self.partners.get(peer) else {
            return Box::pin(self.inner.call(request));
        };
        if let Err(wait) = partner.admit() {
            return refuse(peer, partner, &request, Limit::RequestsPerSecond, wait);
        }
        let lease = match partner.open(&request) {
            Ok(lease) => lease,
            Err(limit) => {
                return refuse(
                    peer,
                    partner,
                    &request,
                    limit,
                    DIALOG_LIMIT_RETRY_AFTER_SECS,
                )
            }
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            // Only a 2xx establishes the dialog; any other answer drops the lease here, and
            // with it the slot.
            if let Some(lease) = lease {
                if (200..300).contains(&response.status()) {
                    DialogHolds::attach(&mut response.context, lease);
                }
            }
            Ok(response)
        })
    }
}
