//! `host [":" port]` as it appears in SIP URIs and in Via sent-by, shared by both parsers.

use crate::grammar::{owned_text, Cursor};
use crate::Text;

/// Why a host or port was rejected; the caller turns it into its own error variant.
pub(crate) type HostError = &'static str;

/// Reads a host at the cursor: an IPv6 reference in brackets (kept with its brackets), or a
/// hostname / IPv4 address. Underscores are accepted in hostnames because deployed peers use
/// them, even though RFC 3261 does not.
pub(crate) fn read_host(cursor: &mut Cursor<'_>) -> Result<Text, HostError> {
    if cursor.peek() == Some(b'[') {
        let rest = cursor.rest();
        let close = memchr::memchr(b']', rest).ok_or("unterminated ipv6 reference")?;
        let inner = rest.get(1..close).unwrap_or_default();
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err("invalid ipv6 reference");
        }
        let host = owned_text(rest.get(..=close).unwrap_or_default());
        cursor.advance(close + 1);
        return Ok(host);
    }
    let name = cursor.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if name.is_empty() {
        return Err("missing host");
    }
    Ok(owned_text(name))
}

/// Reads the digits of a port (the colon already consumed).
pub(crate) fn read_port(cursor: &mut Cursor<'_>) -> Result<u16, HostError> {
    let digits = cursor.take_while(|b| b.is_ascii_digit());
    if digits.is_empty() {
        return Err("missing port");
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u16>().ok())
        .ok_or("port out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> Result<(Text, usize), HostError> {
        let mut cursor = Cursor::new(s.as_bytes());
        let host = read_host(&mut cursor)?;
        Ok((host, cursor.pos()))
    }

    #[test]
    fn hosts() {
        assert_eq!(host("example.com;x"), Ok(("example.com".into(), 11)));
        assert_eq!(host("192.0.2.1:5060"), Ok(("192.0.2.1".into(), 9)));
        assert_eq!(
            host("[2001:db8::10]:5070"),
            Ok(("[2001:db8::10]".into(), 14))
        );
        assert_eq!(
            host("_sip._udp.example.com"),
            Ok(("_sip._udp.example.com".into(), 21))
        );
        assert!(host("[2001:db8::10").is_err());
        assert!(host("[]").is_err());
        assert!(host("[zz]").is_err());
        assert!(host(";x").is_err());
        assert!(host("").is_err());
    }

    #[test]
    fn ports() {
        let port = |s: &str| read_port(&mut Cursor::new(s.as_bytes()));
        assert_eq!(port("5060;lr"), Ok(5060));
        assert_eq!(port("0"), Ok(0));
        assert!(port("65536").is_err());
        assert!(port("99999999999999999999").is_err());
        assert!(port("x").is_err());
    }
}
