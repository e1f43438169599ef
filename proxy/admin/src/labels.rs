//! Label values derived from wire input, bounded so a peer cannot grow the metric set.
//!
//! Methods and status codes come from messages anyone can send; an unbounded label would let
//! a peer create a new time series per request and exhaust memory.

/// The methods Legate counts by name; anything else is counted as `other`.
const KNOWN_METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

/// The label for a SIP method: its own name when it is a standard method, else `other`.
pub(crate) fn method(method: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// A status code as label text, formatted into `buf` to avoid an allocation per count.
/// Codes outside the SIP range 100..=699 become `other`.
pub(crate) fn status(status: u16, buf: &mut [u8; 3]) -> &str {
    if !(100..=699).contains(&status) {
        return "other";
    }
    // Each digit is below 10, so the narrowing cannot lose anything.
    let digit = |n: u16| b'0' + (n % 10) as u8;
    *buf = [digit(status / 100), digit(status / 10), digit(status)];
    std::str::from_utf8(buf).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name() {
        assert_eq!(method("INVITE"), "INVITE");
        assert_eq!(method("MESSAGE"), "MESSAGE");
        assert_eq!(method("invite"), "other");
        assert_eq!(method("X-CUSTOM-123"), "other");
    }

    #[test]
    fn status_codes_render_as_digits() {
        let mut buf = [0; 3];
        assert_eq!(status(200, &mut buf), "200");
        assert_eq!(status(100, &mut buf), "100");
        assert_eq!(status(699, &mut buf), "699");
        assert_eq!(status(99, &mut buf), "other");
        assert_eq!(status(700, &mut buf), "other");
        assert_eq!(status(u16::MAX, &mut buf), "other");
    }
}
