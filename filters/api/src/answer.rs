//! The one builder of answers Legate gives itself, whether a filter or the proxy core decided
//! them (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied from the request, a To tag
//! added to anything but 100, and the reason a human can act on in a `Warning`.

use legate_sip::{Header, HeaderKind, Message};

/// A response to `request` with `code` and `reason`; `warning`, when given, goes into a
/// `Warning: 399` (RFC 3261 §20.43) so the far side sees why, not only the status.
pub fn local_answer(request: &Message, code: u16, reason: &str, warning: Option<&str>) -> Message {
    let mut response = Message::response_to(request, code, reason);
    if code > 100 {
        with_to_tag(&mut response);
    }
    if let Some(text) = warning.filter(|text| !text.is_empty()) {
        let text = text.replace(['"', '\\', '\r', '\n'], " ");
        response.headers.push(Header::new(
            HeaderKind::Warning,
            format!("399 legate \"{text}\""),
        ));
    }
    response
}

/// Adds a To tag if there is none: a local final answer creates no dialog, but the tag lets the
/// sender match the response (RFC 3261 §8.2.6.2).
pub fn with_to_tag(response: &mut Message) {
    let Ok(mut to) = response.to_header() else {
        return;
    };
    if to.tag().is_none() {
        to.set_param("tag", Some(&legate_sip::generate_tag()));
        response.headers.set(HeaderKind::To, to.to_string());
    }
}
