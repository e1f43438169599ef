//! The per-request side, as a hook: search the body, then refuse, tag, or pass it on (with the
//! disclaimer).

use bytes::{BufMut, BytesMut};
use legate_filters_api::metrics::IntCounterVec;
use legate_filters_api::{Hook, Refusal, SipRequest, Verdict};
use legate_sip::{Header, HeaderKind, Message, Method};

use super::config::{Action, Compiled};
use super::{ENCODED_BODY_RULE, NAME};

pub struct Dlp {
    compiled: Compiled,
    /// `example_dlp_matches_total{rule}`: requests that matched, by the first rule matched.
    matches: IntCounterVec,
}

impl Dlp {
    pub(crate) fn new(compiled: Compiled, matches: IntCounterVec) -> Dlp {
        Dlp { compiled, matches }
    }
}

impl Hook for Dlp {
    async fn on_request(&self, request: &mut SipRequest) -> Verdict {
        let compiled = &self.compiled;
        let searched = request
            .message
            .method()
            .is_some_and(|method| compiled.methods.contains(method));
        if !searched {
            return Verdict::Continue;
        }
        if compiled.action == Action::Tag {
            // Only this filter's tag may reach the next hop, never one the sender wrote.
            request.message.headers.remove_by_name(&compiled.tag_header);
        }
        let matched = matching_rules(compiled, &request.message);
        if let Some(first) = matched.first() {
            self.matches.with_label_values(&[first]).inc();
            match compiled.action {
                Action::Deny => {
                    tracing::info!(filter = NAME, rule = %first, "request refused");
                    // The rule id only: the matched text is what must not travel.
                    let refusal = Refusal::new(NAME, 403, "content not permitted")
                        .warning(format!("content not permitted (rule {first})"))
                        .rule(*first);
                    return Verdict::Refuse(refusal);
                }
                Action::Tag => {
                    let header = Header::other(&compiled.tag_header, matched.join(", "));
                    request.message.headers.push(header);
                }
            }
        }
        if let Some(disclaimer) = &compiled.disclaimer {
            if is_plain_text_message(&request.message) {
                append_line(&mut request.message, disclaimer);
            }
        }
        Verdict::Continue
    }
}

/// The ids of the rules the body matches, in config order.
fn matching_rules<'a>(compiled: &'a Compiled, message: &Message) -> Vec<&'a str> {
    if is_encoded(message) {
        return vec![ENCODED_BODY_RULE];
    }
    compiled
        .patterns
        .matches(&message.body)
        .iter()
        .filter_map(|index| compiled.rule_ids.get(index).map(String::as_str))
        .collect()
}

/// A body with a Content-Encoding (compressed) cannot be searched as it is.
fn is_encoded(message: &Message) -> bool {
    if message.body.is_empty() {
        return false;
    }
    let long = message.headers.by_name("Content-Encoding");
    let compact = message.headers.by_name("e");
    long.chain(compact).any(|header| {
        header
            .value
            .split(|b| *b == b',')
            .any(|coding| !coding.trim_ascii().eq_ignore_ascii_case(b"identity"))
    })
}

fn is_plain_text_message(message: &Message) -> bool {
    let is_message = message.method() == Some(&Method::Message);
    let plain_text = message
        .headers
        .first(HeaderKind::ContentType)
        .is_some_and(|value| {
            let media_type = value.split(|b| *b == b';').next().unwrap_or_default();
            media_type.trim_ascii().eq_ignore_ascii_case(b"text/plain")
        });
    is_message && plain_text && !is_encoded(message)
}

/// Appends `line` on a line of its own; the Content-Length follows when the message is written.
fn append_line(message: &mut Message, line: &[u8]) {
    let mut body = BytesMut::with_capacity(message.body.len() + 2 + line.len());
    body.put_slice(&message.body);
    if !body.is_empty() && !body.ends_with(b"\n") {
        body.put_slice(b"\r\n");
    }
    body.put_slice(line);
    message.body = body.freeze();
}
