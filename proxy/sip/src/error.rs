//! The one error type of parsing and validation, and the SIP status each failure maps to.
//!
//! The proxy turns a [`ParseError`] on a request into a response with
//! [`ParseError::status_code`] and [`ParseError::reason_phrase`], and puts the error's text in a
//! Warning header; a failure on a response means the response is dropped.

/// Why a message, or one of its parts, is not acceptable.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    #[error("message is empty")]
    Empty,
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge { size: usize, limit: usize },
    #[error("line {line} is longer than {limit} bytes")]
    LineTooLong { line: usize, limit: usize },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    #[error("header section is not terminated by an empty line")]
    UnterminatedHeaders,
    #[error("bare carriage return on line {line}")]
    BareCarriageReturn { line: usize },
    #[error("malformed start line: {detail}")]
    MalformedStartLine { detail: &'static str },
    #[error("invalid method {method:?}")]
    InvalidMethod { method: String },
    #[error("malformed sip version {version:?}")]
    MalformedVersion { version: String },
    #[error("unsupported sip version {version:?}")]
    UnsupportedVersion { version: String },
    #[error("invalid status code {code:?}")]
    InvalidStatusCode { code: String },
    #[error("status code {code} is outside 100..=699")]
    StatusOutOfRange { code: u16 },
    #[error("continuation line {line} has no header field to continue")]
    OrphanContinuation { line: usize },
    #[error("line {line} is not a header field (no colon)")]
    MissingColon { line: usize },
    #[error("invalid header name on line {line}")]
    InvalidHeaderName { line: usize },
    #[error("missing {header} header")]
    MissingHeader { header: &'static str },
    #[error("{header} header appears {count} times but is allowed once")]
    DuplicateHeader { header: &'static str, count: usize },
    #[error("invalid content-length {value:?}")]
    InvalidContentLength { value: String },
    #[error("content-length {declared} exceeds the {available} body bytes received")]
    ContentLengthExceedsBody { declared: usize, available: usize },
    #[error("invalid {header} header: {cause}")]
    InvalidHeader {
        header: &'static str,
        cause: Box<ParseError>,
    },
    #[error("invalid request-uri: {cause}")]
    InvalidRequestUri { cause: Box<ParseError> },
    #[error("unsupported uri scheme {scheme:?}")]
    UnsupportedUriScheme { scheme: String },
    #[error("invalid uri: {detail}")]
    InvalidUri { detail: &'static str },
    #[error("invalid name-addr: {detail}")]
    InvalidNameAddr { detail: &'static str },
    #[error("invalid via: {detail}")]
    InvalidVia { detail: &'static str },
    #[error("invalid parameter: {detail}")]
    InvalidParameter { detail: &'static str },
    #[error("invalid cseq: {detail}")]
    InvalidCSeq { detail: &'static str },
    #[error("cseq method {cseq} does not match request method {method}")]
    CSeqMethodMismatch { cseq: String, method: String },
    #[error("invalid max-forwards {value:?}")]
    InvalidMaxForwards { value: String },
    #[error("{header} header contains a control character")]
    ControlCharacter { header: String },
    #[error("{header} header is not valid utf-8")]
    InvalidUtf8 { header: String },
    #[error("invalid call-id")]
    InvalidCallId,
    #[error("expected a request")]
    NotARequest,
    #[error("expected a response")]
    NotAResponse,
}

impl ParseError {
    /// The SIP status code to answer a request that failed with this error.
    pub fn status_code(&self) -> u16 {
        match self {
            ParseError::UnsupportedVersion { .. } => 505,
            ParseError::UnsupportedUriScheme { .. } => 416,
            // RFC 3261 §21.5.14: 513 is SIP's "Message Too Large" (413 is about the body alone).
            ParseError::MessageTooLarge { .. } => 513,
            _ => 400,
        }
    }

    /// The reason phrase that goes with [`ParseError::status_code`].
    pub fn reason_phrase(&self) -> &'static str {
        reason_phrase_for(self.status_code())
    }

    /// Wraps an error found inside a header so the message names the header.
    pub(crate) fn in_header(self, header: &'static str) -> ParseError {
        ParseError::InvalidHeader {
            header,
            cause: Box::new(self),
        }
    }
}

/// Reason phrases for the statuses this crate produces.
pub(crate) fn reason_phrase_for(code: u16) -> &'static str {
    match code {
        505 => "Version Not Supported",
        416 => "Unsupported URI Scheme",
        513 => "Message Too Large",
        _ => "Bad Request",
    }
}

/// A short, printable excerpt of offending input for an error message: errors end up in logs
/// and Warning headers, so a hostile 8 KiB value must not travel with them.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let cut = bytes.get(..MAX).unwrap_or(bytes);
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > MAX {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_reasons() {
        let version = ParseError::UnsupportedVersion {
            version: "SIP/7.0".into(),
        };
        assert_eq!(version.status_code(), 505);
        assert_eq!(version.reason_phrase(), "Version Not Supported");
        let scheme = ParseError::UnsupportedUriScheme {
            scheme: "im".into(),
        };
        assert_eq!(scheme.status_code(), 416);
        assert_eq!(scheme.reason_phrase(), "Unsupported URI Scheme");
        let large = ParseError::MessageTooLarge {
            size: 70_000,
            limit: 65_535,
        };
        assert_eq!(large.status_code(), 513);
        assert_eq!(large.reason_phrase(), "Message Too Large");
        let bad = ParseError::InvalidCallId.in_header("Call-ID");
        assert_eq!(bad.status_code(), 400);
        assert_eq!(bad.reason_phrase(), "Bad Request");
        assert_eq!(bad.to_string(), "invalid Call-ID header: invalid call-id");
    }

    #[test]
    fn snippet_is_bounded() {
        let long = vec![b'a'; 1000];
        assert_eq!(snippet(&long).len(), 67);
        assert_eq!(snippet(b"short"), "short");
    }
}
