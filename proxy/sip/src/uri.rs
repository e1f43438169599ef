//! URIs: structured parsing for `sip:`, `sips:` (RFC 3261 §19.1) and `tel:` (RFC 3966);
//! any other scheme is kept as scheme plus opaque text, so that To/From may carry such URIs
//! and the proxy can answer 416 when one shows up as a Request-URI.

use std::fmt;

use crate::error::ParseError;
use crate::grammar::{escapes_are_valid, is_unreserved, Cursor};
use crate::host::{read_host, read_port};
use crate::params::{self, ascii, Params};
use crate::Text;

/// A parsed URI.
///
/// For `tel:` URIs the telephone number is in `host` (a tel URI has no host of its own). For
/// schemes other than sip, sips and tel, everything after the colon is in `host` verbatim and
/// the other fields are empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    /// Lower-cased scheme (`sip`, `sips`, `tel`, ...).
    pub scheme: Text,
    /// The userinfo (user and password) as written, escapes kept.
    pub user: Option<Text>,
    /// The host as written; an IPv6 reference keeps its brackets.
    pub host: Text,
    pub port: Option<u16>,
    pub params: Vec<(Text, Option<Text>)>,
    /// The text after `?`, as written.
    pub headers: Option<Text>,
}

fn invalid(detail: &'static str) -> ParseError {
    ParseError::InvalidUri { detail }
}

impl Uri {
    /// Parses a URI. White space, control characters and `<>"` anywhere are errors: a URI with
    /// them is malformed (RFC 4475 §3.1.2.6, §3.1.2.14).
    pub fn parse(text: &[u8]) -> Result<Uri, ParseError> {
        if text
            .iter()
            .any(|&b| b <= b' ' || b >= 0x7f || matches!(b, b'<' | b'>' | b'"'))
        {
            return Err(invalid("character that must be escaped"));
        }
        let colon = memchr::memchr(b':', text).ok_or_else(|| invalid("missing scheme"))?;
        let scheme = text.get(..colon).unwrap_or_default();
        let valid_scheme = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !valid_scheme {
            return Err(invalid("invalid scheme"));
        }
        let scheme = ascii(scheme).to_ascii_lowercase();
        let rest = text.get(colon + 1..).unwrap_or_default();
        if rest.is_empty() {
            return Err(invalid("nothing after the scheme"));
        }
        match scheme.as_str() {
            "sip" | "sips" => parse_sip(scheme, rest),
            "tel" => parse_tel(scheme, rest),
            _ => Ok(Uri {
                scheme,
                user: None,
                host: ascii(rest),
                port: None,
                params: Vec::new(),
                headers: None,
            }),
        }
    }

    /// Looks a URI parameter up by name, ignoring case.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        params::find(&self.params, name)
    }

    pub fn has_param(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    /// The user part without any password (`alice:secret` → `alice`), as written.
    pub fn user_name(&self) -> Option<&str> {
        let userinfo = self.user.as_deref()?;
        let user = userinfo.split(':').next().unwrap_or(userinfo);
        (!user.is_empty()).then_some(user)
    }

    /// `user@host` (the host lower-cased, any password left out), or the host alone when the
    /// URI names no user: the address audit, policy and traces write.
    pub fn address(&self) -> String {
        match self.user_name() {
            Some(user) => crate::concat(&[user, "@", &self.host_lowercase()]),
            None => self.host_lowercase().into(),
        }
    }

    /// The host lower-cased, for comparisons (host names are case-insensitive).
    pub fn host_lowercase(&self) -> Text {
        self.host.to_ascii_lowercase()
    }

    /// Whether this URI gets structured parsing (sip, sips or tel).
    pub fn is_supported_scheme(&self) -> bool {
        matches!(self.scheme.as_str(), "sip" | "sips" | "tel")
    }
}

/// `[ userinfo "@" ] hostport uri-parameters [ headers ]`.
fn parse_sip(scheme: Text, rest: &[u8]) -> Result<Uri, ParseError> {
    // Neither hostport, parameters nor headers may hold a raw '@', so the first one ends the
    // userinfo even when the user part is full of `;?/,`.
    let (user, hostport) = match memchr::memchr(b'@', rest) {
        Some(at) => {
            let user = rest.get(..at).unwrap_or_default();
            if user.is_empty() {
                return Err(invalid("empty user part"));
            }
            if !user.iter().all(|&b| is_user_char(b)) || !escapes_are_valid(user) {
                return Err(invalid("invalid character in user part"));
            }
            (Some(ascii(user)), rest.get(at + 1..).unwrap_or_default())
        }
        None => (None, rest),
    };
    let mut cursor = Cursor::new(hostport);
    let host = read_host(&mut cursor).map_err(invalid)?;
    let port = if cursor.eat(b':') {
        Some(read_port(&mut cursor).map_err(invalid)?)
    } else {
        None
    };
    let params = read_uri_params(&mut cursor)?;
    let headers = read_headers(&mut cursor)?;
    if !cursor.at_end() {
        return Err(invalid("unexpected character after host"));
    }
    Ok(Uri {
        scheme,
        user,
        host,
        port,
        params,
        headers,
    })
}

/// `telephone-subscriber` (the number, with visual separators) followed by parameters.
fn parse_tel(scheme: Text, rest: &[u8]) -> Result<Uri, ParseError> {
    let mut cursor = Cursor::new(rest);
    let number = cursor.take_while(|b| {
        b.is_ascii_hexdigit() || matches!(b, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#')
    });
    if number.is_empty() {
        return Err(invalid("empty telephone number"));
    }
    let params = read_uri_params(&mut cursor)?;
    if !cursor.at_end() {
        return Err(invalid("unexpected character in telephone number"));
    }
    Ok(Uri {
        scheme,
        user: None,
        host: ascii(number),
        port: None,
        params,
        headers: None,
    })
}

/// `user` / `password` characters: unreserved, escaped, and `&=+$,;?/:`.
fn is_user_char(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/' | b':'
        )
}

/// `paramchar`: unreserved, escaped, and `[]/:&+$`.
fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

/// `hnv-unreserved`, unreserved and escaped, plus the `=` and `&` that structure headers.
fn is_header_char(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$' | b'=' | b'&'
        )
}

/// `*( ";" pname [ "=" pvalue ] )`, no white space allowed.
fn read_uri_params(cursor: &mut Cursor<'_>) -> Result<Params, ParseError> {
    let mut params = Params::new();
    while cursor.eat(b';') {
        let name = cursor.take_while(is_param_char);
        if name.is_empty() || !escapes_are_valid(name) {
            return Err(invalid("invalid parameter name"));
        }
        let value = if cursor.eat(b'=') {
            let value = cursor.take_while(is_param_char);
            if value.is_empty() || !escapes_are_valid(value) {
                return Err(invalid("invalid parameter value"));
            }
            Some(ascii(value))
        } else {
            None
        };
        params.push((ascii(name), value));
    }
    Ok(params)
}

/// `"?" header *( "&" header )`, kept as written.
fn read_headers(cursor: &mut Cursor<'_>) -> Result<Option<Text>, ParseError> {
    if !cursor.eat(b'?') {
        return Ok(None);
    }
    let headers = cursor.take_while(is_header_char);
    if headers.is_empty() || !escapes_are_valid(headers) {
        return Err(invalid("invalid headers"));
    }
    Ok(Some(ascii(headers)))
}

impl Uri {
    /// The URI as text, built without the formatter (rewritten addresses are written for every
    /// request translation maps).
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(self.text_len());
        self.push_to(&mut text);
        text
    }

    pub(crate) fn text_len(&self) -> usize {
        self.scheme.len()
            + self.user.as_ref().map_or(0, |user| user.len() + 1)
            + self.host.len()
            + 7
            + params::text_len(&self.params)
            + self.headers.as_ref().map_or(0, |headers| headers.len() + 1)
    }

    pub(crate) fn push_to(&self, text: &mut String) {
        text.push_str(&self.scheme);
        text.push(':');
        if let Some(user) = &self.user {
            text.push_str(user);
            text.push('@');
        }
        text.push_str(&self.host);
        if let Some(port) = self.port {
            text.push(':');
            crate::push_decimal(text, u64::from(port));
        }
        params::push(text, &self.params);
        if let Some(headers) = &self.headers {
            text.push('?');
            text.push_str(headers);
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> Result<Uri, ParseError> {
        let uri = Uri::parse(text.as_bytes())?;
        assert_eq!(uri.to_string(), text);
        Ok(uri)
    }

    #[test]
    fn simple_sip() -> Result<(), ParseError> {
        let uri = round_trip("sip:alice@example.com:5070;transport=tcp;lr")?;
        assert_eq!(uri.scheme, "sip");
        assert_eq!(uri.user.as_deref(), Some("alice"));
        assert_eq!(uri.host, "example.com");
        assert_eq!(uri.port, Some(5070));
        assert_eq!(uri.param("TRANSPORT"), Some(Some("tcp")));
        assert!(uri.has_param("lr"));
        assert!(!uri.has_param("maddr"));
        assert!(uri.is_supported_scheme());
        Ok(())
    }

    #[test]
    fn scheme_is_lowered_host_kept() -> Result<(), ParseError> {
        let uri = Uri::parse(b"SIPS:Example.COM")?;
        assert_eq!(uri.scheme, "sips");
        assert_eq!(uri.host, "Example.COM");
        assert_eq!(uri.host_lowercase(), "example.com");
        assert_eq!(uri.user, None);
        Ok(())
    }

    #[test]
    fn ipv6() -> Result<(), ParseError> {
        let uri = round_trip("sip:[2001:db8::10]:5070;maddr=[2001:db8::1]")?;
        assert_eq!(uri.host, "[2001:db8::10]");
        assert_eq!(uri.port, Some(5070));
        Ok(())
    }

    #[test]
    fn unusual_userinfo() -> Result<(), ParseError> {
        let text =
            "sip:1_odd.user~(really!)&is+it$/so?,/;;*:&pass+word=1,yes!*$~_.(ok)@example.com";
        let uri = round_trip(text)?;
        assert_eq!(uri.host, "example.com");
        assert!(uri.params.is_empty());
        let semi = round_trip("sip:user;par=u%40example.net@example.com")?;
        assert_eq!(semi.user.as_deref(), Some("user;par=u%40example.net"));
        Ok(())
    }

    #[test]
    fn escapes_kept() -> Result<(), ParseError> {
        round_trip("sip:sips%3Auser%40example.com@example.net")?;
        round_trip("sip:%00@example.com")?;
        let uri = round_trip("sip:cal%6Cer@example.net;%6C%72;n%61me=v%61lue%25%34%31")?;
        assert_eq!(uri.params.len(), 2);
        Ok(())
    }

    #[test]
    fn headers_kept() -> Result<(), ParseError> {
        let uri = round_trip("sip:user@example.com?Route=%3Csip:example.net%3E&Subject=hi")?;
        assert_eq!(
            uri.headers.as_deref(),
            Some("Route=%3Csip:example.net%3E&Subject=hi")
        );
        Ok(())
    }

    #[test]
    fn tel() -> Result<(), ParseError> {
        let uri = round_trip("tel:+1-201-555-0123;phone-context=example.com")?;
        assert_eq!(uri.scheme, "tel");
        assert_eq!(uri.host, "+1-201-555-0123");
        assert_eq!(uri.param("phone-context"), Some(Some("example.com")));
        Ok(())
    }

    #[test]
    fn other_schemes_are_opaque() -> Result<(), ParseError> {
        let uri = round_trip("im:alice@example.com")?;
        assert_eq!(uri.scheme, "im");
        assert_eq!(uri.host, "alice@example.com");
        assert!(!uri.is_supported_scheme());
        round_trip("http://www.example.com/a;b?c=d")?;
        Ok(())
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "example.com",
            "<sip:user@example.com>",
            "sip:user@example.com; lr",
            "sip:user @example.com",
            "sip:",
            "1sip:x",
            "s p:x",
            "sip:@example.com",
            "sip:user@",
            "sip:user@example.com:",
            "sip:user@example.com:99999",
            "sip:user@example.com;",
            "sip:user@example.com;a=",
            "sip:user@example.com?",
            "sip:user@example.com;x=%zz",
            "sip:us%4gr@example.com",
            "sip:user@exa mple.com",
            "sip:user@example.com>",
            "sip:user@example.com\"",
            "tel:",
            "tel:+1 555",
            "tel:abc@def",
            "im:caf\u{e9}",
        ] {
            assert!(Uri::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
