//! Size limits applied while parsing and framing, so that a hostile peer cannot make the proxy
//! buffer or scan without bound.

/// Bounds on what the parser and the stream framer accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message (header section and body), in bytes.
    pub max_message_bytes: usize,
    /// Largest number of header field lines (a folded field counts once).
    pub max_headers: usize,
    /// Longest start line or header field (continuation lines included), in bytes.
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 65_535 is the largest UDP payload; nothing legitimate on a stream is bigger.
        Limits {
            max_message_bytes: 65_535,
            max_headers: 128,
            max_line_bytes: 8_192,
        }
    }
}
