//! Local answers: the one place a status decided by Legate becomes a SIP response.

use std::borrow::Cow;

use legate_filters_api::Side;
use legate_sip::Message;

/// A response to `request` built by Legate itself: the filter API's one builder of local
/// answers, which filters use too.
pub use legate_filters_api::{local_answer, with_to_tag};

/// The one place an infrastructure failure becomes a SIP response (a rejection by a filter is
/// already a response and never comes here).
pub fn error_response(
    request: &Message,
    error: &legate_filters_api::FilterError,
    side: Side,
) -> Message {
    let (code, reason) = error.status();
    tracing::warn!(%error, code, "request failed");
    let detail = error.to_string();
    local_answer(
        request,
        code,
        reason,
        Some(&sender_warning(side, code, &detail)),
    )
}

/// The Warning text an answer about routing or infrastructure may carry to the sender of a
/// request that arrived on a listener of `side`. The organisation's own systems get the
/// detail. On an external listener the sender learns only what the status means: no next-hop
/// address, OS error or route table entry; the detail goes to the log.
pub fn sender_warning(side: Side, code: u16, detail: &str) -> Cow<'_, str> {
    if side == Side::Internal {
        return Cow::Borrowed(detail);
    }
    tracing::debug!(
        code,
        detail,
        "answer to an external sender without its detail"
    );
    Cow::Borrowed(match code {
        404 => "not found",
        408 => "no answer",
        416 => "request-uri not routable",
        487 => "cancelled",
        500..=599 => "service unavailable",
        _ => "request not served",
    })
}
