//! The per-request side: map the request one way, and its final response back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use legate_sip::{HeaderKind, Message, NameAddr};
use tower::Service;

use super::mapping::{AddressMap, Toward};
use crate::{BoxSipService, FilterError, SipRequest, SipResponse};

#[derive(Clone)]
pub struct Translation {
    map: Arc<AddressMap>,
    toward: Toward,
    inner: BoxSipService,
}

impl Translation {
    pub(super) fn new(map: Arc<AddressMap>, toward: Toward, inner: BoxSipService) -> Translation {
        Translation { map, toward, inner }
    }
}

impl Service<SipRequest> for Translation {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: SipRequest) -> Self::Future {
        let sent_from = request.message.headers.first(HeaderKind::From).cloned();
        let sent_to = request.message.headers.first(HeaderKind::To).cloned();
        self.map.map_request(&mut request.message, self.toward);
        let (map, back) = (self.map.clone(), self.toward.reverse());
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            restore_parties(&mut response.message, sent_from, sent_to);
            map.map_response(&mut response.message, back);
            Ok(response)
        })
    }
}

/// A response carries the From and To its request's sender wrote (RFC 3261 §8.2.6.2), with
/// the To tag the answerer added.
fn restore_parties(response: &mut Message, from: Option<Bytes>, to: Option<Bytes>) {
    if let Some(from) = from {
        response.headers.set(HeaderKind::From, from);
    }
    let Some(to) = to else { return };
    let answered_tag = response
        .to_header()
        .ok()
        .and_then(|t| t.tag().map(str::to_string));
    match (answered_tag, NameAddr::parse(&to)) {
        (Some(tag), Ok(mut original)) if original.tag() != Some(tag.as_str()) => {
            original.set_param("tag", Some(&tag));
            response.headers.set(HeaderKind::To, original.to_string());
        }
        _ => response.headers.set(HeaderKind::To, to),
    }
}
