//! Message bodies in records, for partners whose config asks for them: redacted, then capped.

use regex::Regex;

/// What replaces each redacted match.
pub const REDACTED: &str = "[redacted]";

#[derive(Debug, Clone)]
pub(crate) struct BodyCapture {
    max_bytes: usize,
    redact: Vec<Regex>,
}

impl BodyCapture {
    pub fn new(max_bytes: usize, redact: Vec<Regex>) -> BodyCapture {
        BodyCapture { max_bytes, redact }
    }

    /// The body as recorded: text (invalid UTF-8 replaced), every match of every pattern
    /// replaced by `[redacted]`, then cut to `max_bytes` at a character boundary. `None` for an
    /// empty body.
    pub fn capture(&self, body: &[u8]) -> Option<String> {
        if body.is_empty() {
            return None;
        }
        let mut text = String::from_utf8_lossy(body).into_owned();
        for pattern in &self.redact {
            if let std::borrow::Cow::Owned(replaced) = pattern.replace_all(&text, REDACTED) {
                text = replaced;
            }
        }
        if text.len() > self.max_bytes {
            let mut end = self.max_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Some(text)
    }
}
