//! [`BoxSipService`]: a built chain, or the rest of one, shared rather than copied.
//!
//! Every filter holds the rest of its chain. Were that a boxed copy, cloning a chain would copy
//! every filter after it, and a request would pay that once per filter it passes. A
//! `BoxSipService` is one `Arc`: cloning it counts a reference, and a call clones only the
//! filter it enters (whose own inner service is again an `Arc`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use tower::Service;

use crate::{FilterError, SipRequest, SipResponse};

/// What a call of a chain returns.
pub type SipFuture = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

/// A built chain (or any part of one): cheap to clone, shared by every request and dialog of a
/// snapshot. Always ready; each call makes the filter it enters ready.
#[derive(Clone)]
pub struct BoxSipService(Arc<dyn Shared>);

/// A filter behind the `Arc`: called through `&self`, it clones itself for the call.
trait Shared: Send + Sync {
    fn call(&self, request: SipRequest) -> SipFuture;
}

struct Filter<S>(S);

impl BoxSipService {
    pub fn new<S>(service: S) -> BoxSipService
    where
        S: Service<SipRequest, Response = SipResponse, Error = FilterError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        BoxSipService(Arc::new(Filter(service)))
    }
}

impl<S> Shared for Filter<S>
where
    S: Service<SipRequest, Response = SipResponse, Error = FilterError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    fn call(&self, request: SipRequest) -> SipFuture {
        let mut service = self.0.clone();
        // Filters are ready at once unless they hold something back; only those wait.
        let mut probe = TaskContext::from_waker(Waker::noop());
        match service.poll_ready(&mut probe) {
            Poll::Ready(Ok(())) => Box::pin(service.call(request)),
            Poll::Ready(Err(error)) => Box::pin(std::future::ready(Err(error))),
            Poll::Pending => Box::pin(async move {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                service.call(request).await
            }),
        }
    }
}

impl BoxSipService {
    /// A service made of one function from request to the call's future.
    pub(crate) fn from_fn<F>(call: F) -> BoxSipService
    where
        F: Fn(SipRequest) -> SipFuture + Send + Sync + 'static,
    {
        BoxSipService(Arc::new(FnFilter(call)))
    }

    /// Calls the service without a mutable handle (it is always ready).
    pub(crate) fn call_shared(&self, request: SipRequest) -> SipFuture {
        self.0.call(request)
    }
}

struct FnFilter<F>(F);

impl<F> Shared for FnFilter<F>
where
    F: Fn(SipRequest) -> SipFuture + Send + Sync + 'static,
{
    fn call(&self, request: SipRequest) -> SipFuture {
        (self.0)(request)
    }
}

impl Service<SipRequest> for BoxSipService {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = SipFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: SipRequest) -> SipFuture {
        self.0.call(request)
    }
}

impl std::fmt::Debug for BoxSipService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxSipService")
    }
}
