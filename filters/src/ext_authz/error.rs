//! Why the authorization service gave no usable answer. Every one of these is handled by
//! `failure_mode`; the text goes to the log, never to the SIP peer.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum AuthzError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the service: {0}")]
    Unreachable(String),
    #[error("the service answered HTTP {0}")]
    HttpStatus(u16),
    #[error("cannot read the answer: {0}")]
    Body(String),
    #[error("the answer is not a valid check result: {0}")]
    Malformed(String),
    #[error("the answer denies with status {0}, which is not 400-699")]
    BadStatus(u16),
    #[error("the answer changes `{0}`, which the proxy manages")]
    ProtectedHeader(String),
    #[error("the answer sets an invalid header: {0}")]
    BadHeader(String),
    #[error("the check request cannot be written: {0}")]
    Request(String),
}

impl AuthzError {
    /// A short label for logs.
    pub fn label(&self) -> &'static str {
        match self {
            AuthzError::Timeout(_) => "timeout",
            AuthzError::Unreachable(_) => "unreachable",
            AuthzError::HttpStatus(_) => "http_status",
            AuthzError::Body(_) => "body",
            AuthzError::Malformed(_) => "malformed",
            AuthzError::BadStatus(_) => "bad_status",
            AuthzError::ProtectedHeader(_) => "protected_header",
            AuthzError::BadHeader(_) => "bad_header",
            AuthzError::Request(_) => "request",
        }
    }
}

/// An error and its sources on one line: the HTTP client's own messages are terse ("client
/// error (Connect)") and the useful part ("Connection refused") is a source further down.
pub(crate) fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
