//! The per-request side: one token from the sending partner's bucket, or 503.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use legate_sip::{Header, HeaderKind};
use tokio::time::Instant;
use tower::Service;

use super::bucket::Bucket;
use super::{count_rate_limited, NAME};
use crate::authn::Authenticated;
use crate::{BoxSipService, FilterError, SipRequest, SipResponse};

/// The partners' rates and their buckets, shared by every request of one snapshot.
pub(crate) struct Rates {
    /// Partner name → (requests per second, burst).
    pub limits: HashMap<String, (u32, Option<u32>)>,
    pub buckets: Mutex<HashMap<String, Bucket>>,
}

impl Rates {
    /// Ok to go on, or the whole seconds the partner should wait.
    fn admit(&self, peer: &str) -> Result<(), u64> {
        let Some(&(rate, burst)) = self.limits.get(peer) else {
            return Ok(());
        };
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let bucket = buckets
            .entry(peer.to_string())
            .or_insert_with(|| Bucket::new(rate, burst, now));
        bucket
            .take(now)
            .map_err(|wait| wait.as_secs_f64().ceil().max(1.0) as u64)
    }
}

#[derive(Clone)]
pub struct PeerLimits {
    rates: Arc<Rates>,
    inner: BoxSipService,
}

impl PeerLimits {
    pub(crate) fn new(rates: Arc<Rates>, inner: BoxSipService) -> PeerLimits {
        PeerLimits { rates, inner }
    }
}

impl Service<SipRequest> for PeerLimits {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: SipRequest) -> Self::Future {
        let peer = match request.context.get::<Authenticated>() {
            Some(Authenticated::Peer { name, .. }) => Some(name.clone()),
            _ => None,
        };
        if let Some(peer) = peer {
            if let Err(wait) = self.rates.admit(&peer) {
                count_rate_limited();
                tracing::info!(%peer, wait, "partner over its request rate");
                let mut response = SipResponse::local(
                    &request,
                    NAME,
                    503,
                    "Service Unavailable",
                    "partner request rate exceeded",
                );
                response
                    .message
                    .headers
                    .push(Header::new(HeaderKind::RetryAfter, wait.to_string()));
                return Box::pin(std::future::ready(Ok(response)));
            }
        }
        Box::pin(self.inner.call(request))
    }
}
