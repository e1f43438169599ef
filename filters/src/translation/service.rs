//! The per-request side: map the request one way, and its final response back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use legate_sip::{Header, HeaderKind, Message, NameAddr};
use tower::Service;

use super::directory_mapping::DirectoryMapping;
use super::local_user::{local_address, MappedLocalUser};
use super::mapping::{user_addresses, AddressMap, Resolved, Toward};
use super::NAME;
use legate_filters_api::{BoxSipService, FilterError, RequestView, SipRequest, SipResponse};

/// Seconds a sender should wait when the mapping directory cannot be asked.
const RETRY_AFTER_SECONDS: &str = "30";

#[derive(Clone)]
pub struct Translation {
    map: Arc<AddressMap>,
    directory: Option<Arc<DirectoryMapping>>,
    toward: Toward,
    inner: BoxSipService,
}

impl Translation {
    pub(super) fn new(
        map: Arc<AddressMap>,
        directory: Option<Arc<DirectoryMapping>>,
        toward: Toward,
        inner: BoxSipService,
    ) -> Translation {
        Translation {
            map,
            directory,
            toward,
            inner,
        }
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
        // The clone takes the place of the service that was polled ready.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let (map, directory, toward) = (self.map.clone(), self.directory.clone(), self.toward);
        Box::pin(async move {
            let resolved = match resolve(&directory, &request.message, toward).await {
                Ok(resolved) => resolved,
                Err(unavailable) => return Ok(unavailable.answer(&request)),
            };
            let sent_from = request.message.headers.first(HeaderKind::From).cloned();
            let sent_to = request.message.headers.first(HeaderKind::To).cloned();
            let SipRequest { message, context } = &mut request;
            let view = RequestView::attached(context, message);
            // What the sender wrote in To, parsed, to give back with the answerer's tag.
            let sent_to_parsed = view.to.clone();
            let local_before = local_address(view, toward);
            map.map_request(message, view, toward, &resolved);
            let local_after = local_address(view, toward);
            let local_user = MappedLocalUser::from_mapping(local_before, local_after, toward);
            if let Some(local_user) = &local_user {
                request.context.insert(local_user.clone());
            }
            let mut response = inner.call(request).await?;
            if let Some(local_user) = local_user {
                response.context.insert(local_user);
            }
            restore_parties(&mut response.message, sent_from, sent_to, sent_to_parsed);
            let back = toward.reverse();
            // A failed lookup on the way back leaves the rules to map the response.
            let resolved = resolve(&directory, &response.message, back)
                .await
                .unwrap_or_default();
            map.map_response(&mut response.message, back, &resolved);
            Ok(response)
        })
    }
}

struct Unavailable(String);

impl Unavailable {
    fn answer(&self, request: &SipRequest) -> SipResponse {
        let mut response = SipResponse::local(request, NAME, 503, "Service Unavailable", &self.0);
        response
            .message
            .headers
            .push(Header::new(HeaderKind::RetryAfter, RETRY_AFTER_SECONDS));
        response
    }
}

async fn resolve(
    directory: &Option<Arc<DirectoryMapping>>,
    message: &Message,
    toward: Toward,
) -> Result<Resolved, Unavailable> {
    let Some(directory) = directory else {
        return Ok(Resolved::new());
    };
    directory
        .resolve(&user_addresses(message), toward)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "address mapping directory unavailable");
            Unavailable("address mapping unavailable".into())
        })
}

/// A response carries the From and To its request's sender wrote (RFC 3261 §8.2.6.2), with
/// the To tag the answerer added.
fn restore_parties(
    response: &mut Message,
    from: Option<Bytes>,
    to: Option<Bytes>,
    to_parsed: Option<NameAddr>,
) {
    if let Some(from) = from {
        response.headers.set(HeaderKind::From, from);
    }
    let Some(to) = to else { return };
    // Validation parsed the answer's To; only its tag is needed here.
    let answered_tag = response
        .headers
        .first(HeaderKind::To)
        .and_then(|to| NameAddr::tag_in(to))
        .map(str::to_string);
    let restored: Bytes = match (answered_tag, to_parsed) {
        // The usual case, a request outside a dialog: the sender's own To, the tag appended.
        (Some(tag), Some(original)) if original.tag().is_none() => {
            [to.trim_ascii_end(), b";tag=", tag.as_bytes()]
                .concat()
                .into()
        }
        (Some(tag), Some(mut original)) if original.tag() != Some(tag.as_str()) => {
            original.set_param("tag", Some(&tag));
            original.to_string().into()
        }
        _ => to,
    };
    response.headers.set(HeaderKind::To, restored);
}
