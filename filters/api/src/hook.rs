//! Hooks: the common filter, written as two methods instead of a Tower service.
//!
//! A [`Hook`] looks at each request before it goes on ([`Hook::on_request`], which may change
//! it, answer it or refuse it) and at each final response on its way back
//! ([`Hook::on_response`]). Both do nothing unless implemented. [`hook_layer`] turns a hook
//! into the [`FilterLayer`] a factory returns; everything else (readiness, cloning, boxing) is
//! done once, here.
//!
//! ```
//! use legate_filters_api::{hook_layer, FilterLayer, Hook, Refusal, SipRequest, Verdict};
//!
//! /// Refuses MESSAGEs without a body.
//! struct NoEmptyMessages;
//!
//! impl Hook for NoEmptyMessages {
//!     async fn on_request(&self, request: &mut SipRequest) -> Verdict {
//!         if request.message.method() == Some(&legate_sip::Method::Message)
//!             && request.message.body.is_empty()
//!         {
//!             let refusal = Refusal::new("example.filters.sip.no_empty", 400, "Empty Message");
//!             return Verdict::Refuse(refusal.rule("empty-body"));
//!         }
//!         Verdict::Continue
//!     }
//! }
//!
//! let layer: FilterLayer = hook_layer(NoEmptyMessages);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tower::{Service, ServiceExt};

use crate::{BoxSipService, FilterError, FilterLayer, Refusal, SipRequest, SipResponse};

/// What a hook decided about a request.
#[derive(Debug)]
// Returned once per hook call and matched at once, never stored: boxing the answer would cost
// an allocation per local answer and a `Box::new` in every filter that answers.
#[allow(clippy::large_enum_variant)]
pub enum Verdict {
    /// Pass it on (changed or not) to the rest of the chain.
    Continue,
    /// Answer it here with this response; nothing after this filter sees the request.
    Answer(SipResponse),
    /// Refuse it: answered with the refusal's status, recorded by audit as `denied`.
    Refuse(Refusal),
}

/// A filter written as hooks. Implement the methods the filter needs; the others pass.
pub trait Hook: Send + Sync + 'static {
    /// Runs before the request goes on. May change the request (headers, body, context).
    fn on_request(&self, request: &mut SipRequest) -> impl Future<Output = Verdict> + Send {
        let _ = request;
        std::future::ready(Verdict::Continue)
    }

    /// Runs on the final response on its way back, whether it came from upstream or from a
    /// filter after this one. The response echoes the request's Call-ID, From, To and CSeq.
    fn on_response(&self, response: &mut SipResponse) {
        let _ = response;
    }
}

/// The layer a factory returns for `hook`.
pub fn hook_layer<H: Hook>(hook: H) -> FilterLayer {
    let hook = Arc::new(hook);
    Arc::new(move |inner: BoxSipService| {
        BoxSipService::new(Hooked {
            hook: hook.clone(),
            inner,
        })
    })
}

/// A hook in front of the rest of the chain.
struct Hooked<H> {
    hook: Arc<H>,
    inner: BoxSipService,
}

impl<H> Clone for Hooked<H> {
    fn clone(&self) -> Self {
        Hooked {
            hook: self.hook.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<H: Hook> Service<SipRequest> for Hooked<H> {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        // The rest of the chain is made ready when the request goes on.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: SipRequest) -> Self::Future {
        let hook = self.hook.clone();
        let inner = self.inner.clone();
        Box::pin(async move {
            match hook.on_request(&mut request).await {
                Verdict::Continue => {}
                Verdict::Answer(response) => return Ok(response),
                Verdict::Refuse(refusal) => return Ok(request.refuse(refusal)),
            }
            let mut response = inner.oneshot(request).await?;
            hook.on_response(&mut response);
            Ok(response)
        })
    }
}
