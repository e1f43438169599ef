//! The per-request side: apply the compiled rules to the request, then to the final response.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use legate_sip::{Header, HeaderKind, Headers};
use tower::Service;

use super::config::{Compiled, CompiledRules};
use legate_filters_api::{BoxSipService, FilterError, SipRequest, SipResponse};

#[derive(Clone)]
pub struct HeaderMutation {
    compiled: Arc<Compiled>,
    inner: BoxSipService,
}

impl HeaderMutation {
    pub(crate) fn new(compiled: Arc<Compiled>, inner: BoxSipService) -> HeaderMutation {
        HeaderMutation { compiled, inner }
    }
}

impl Service<SipRequest> for HeaderMutation {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: SipRequest) -> Self::Future {
        apply(&self.compiled.request, &mut request.message.headers);
        let compiled = self.compiled.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            if !compiled.response.is_empty() {
                apply(&compiled.response, &mut response.message.headers);
            }
            Ok(response)
        })
    }
}

/// Applies `rules` in a fixed order: remove, rewrite, set, add. Also used by `ext_authz` for
/// the changes its service asks for.
pub(crate) fn apply(rules: &CompiledRules, headers: &mut Headers) {
    for name in &rules.remove {
        headers.remove_by_name(name);
    }
    for (name, regex, replacement) in &rules.rewrite {
        rewrite(headers, name, regex, replacement);
    }
    for (name, value) in &rules.set {
        headers.remove_by_name(name);
        headers.push(header(name, value));
    }
    for (name, value) in &rules.add {
        headers.push(header(name, value));
    }
}

fn header(name: &str, value: &str) -> Header {
    match HeaderKind::from_name(name.as_bytes()) {
        HeaderKind::Other => Header::other(name, value.to_string()),
        kind => Header::new(kind, value.to_string()),
    }
}

fn rewrite(headers: &mut Headers, name: &str, regex: &regex::Regex, replacement: &str) {
    let mut rewritten = Headers::default();
    for existing in headers.iter() {
        let mut header = existing.clone();
        if header_matches(existing, name) {
            let text = String::from_utf8_lossy(&existing.value);
            // A replacement cannot smuggle a new header line in.
            let value = regex
                .replace_all(&text, replacement)
                .replace(['\r', '\n'], " ");
            header.value = Bytes::from(value);
        }
        rewritten.push(header);
    }
    *headers = rewritten;
}

fn header_matches(header: &Header, name: &str) -> bool {
    let kind = HeaderKind::from_name(name.as_bytes());
    if kind != HeaderKind::Other {
        return header.kind == kind;
    }
    header.kind == HeaderKind::Other && header.name.eq_ignore_ascii_case(name.as_bytes())
}
