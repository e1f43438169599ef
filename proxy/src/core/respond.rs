//! Local answers: the one place a status decided by Legate becomes a SIP response.

use std::borrow::Cow;

use legate_filters::Side;
use legate_sip::{HeaderKind, Message};

/// A response to `request` built by Legate itself (RFC 3261 §8.2.6): Via, From, To, Call-ID and
/// CSeq copied, a To tag added for anything but 100, an optional Warning with the reason.
pub fn local_response(
    request: &Message,
    code: u16,
    reason: &str,
    warning: Option<&str>,
) -> Message {
    let mut response = Message::response_to(request, code, reason);
    if code > 100 {
        with_to_tag(&mut response);
    }
    if let Some(text) = warning {
        let text = text.replace(['"', '\\', '\r', '\n'], " ");
        response.headers.push(legate_sip::Header::new(
            HeaderKind::Warning,
            format!("399 legate \"{text}\""),
        ));
    }
    response
}

/// Adds a To tag if there is none (a local final answer creates Legate's side of no dialog, but
/// the tag lets the sender match the response, §8.2.6.2).
pub fn with_to_tag(response: &mut Message) {
    let Ok(mut to) = response.to_header() else {
        return;
    };
    if to.tag().is_none() {
        to.set_param("tag", Some(&legate_sip::generate_tag()));
        response.headers.set(HeaderKind::To, to.to_string());
    }
}

/// The one place an infrastructure failure becomes a SIP response (a rejection by a filter is
/// already a response and never comes here).
pub fn error_response(
    request: &Message,
    error: &legate_filters::FilterError,
    side: Side,
) -> Message {
    let (code, reason) = error.status();
    tracing::warn!(%error, code, "request failed");
    let detail = error.to_string();
    local_response(
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
