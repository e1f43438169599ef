//! The per-request side: search the body, then refuse, tag, or pass it on (with the disclaimer).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::{BufMut, BytesMut};
use legate_filters::{BoxSipService, FilterError, SipRequest, SipResponse};
use legate_sip::{Header, HeaderKind, Message, Method};
use tower::Service;

use crate::config::{Action, Compiled};
use crate::{ENCODED_BODY_RULE, NAME};

type ResponseFuture = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

#[derive(Clone)]
pub struct Dlp {
    compiled: Arc<Compiled>,
    inner: BoxSipService,
}

impl Dlp {
    pub(crate) fn new(compiled: Arc<Compiled>, inner: BoxSipService) -> Dlp {
        Dlp { compiled, inner }
    }
}

impl Service<SipRequest> for Dlp {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: SipRequest) -> ResponseFuture {
        let compiled = &self.compiled;
        let searched = request
            .message
            .method()
            .is_some_and(|method| compiled.methods.contains(method));
        if !searched {
            return self.inner.call(request);
        }
        if compiled.action == Action::Tag {
            // Only this filter's tag may reach the next hop, never one the sender wrote.
            request.message.headers.remove_by_name(&compiled.tag_header);
        }
        let matched = matching_rules(compiled, &request.message);
        if let Some(first) = matched.first() {
            match compiled.action {
                Action::Deny => {
                    tracing::info!(filter = NAME, rule = %first, "request refused");
                    // The rule id only: the matched text is what must not travel.
                    let response = SipResponse::local(
                        &request,
                        NAME,
                        403,
                        "content not permitted",
                        &format!("content not permitted (rule {first})"),
                    );
                    return Box::pin(std::future::ready(Ok(response)));
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
        self.inner.call(request)
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
