//! The first line of a message: a Request-Line (`Method SP Request-URI SP SIP-Version`) or a
//! Status-Line (`SIP-Version SP Status-Code SP Reason-Phrase`), RFC 3261 §7.1 and §7.2.

use bytes::Bytes;

use crate::error::{snippet, ParseError};
use crate::method::Method;

/// The start line of a request. The Request-URI is kept as received; validation parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLine {
    pub method: Method,
    pub uri: Bytes,
    pub version: Bytes,
}

/// The start line of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub version: Bytes,
    pub code: u16,
    pub reason: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    Request(RequestLine),
    Response(StatusLine),
}

fn malformed(detail: &'static str) -> ParseError {
    ParseError::MalformedStartLine { detail }
}

/// Parses a start line (without its line ending).
pub(crate) fn parse_start_line(line: Bytes) -> Result<StartLine, ParseError> {
    // A method is a token and `/` is not a token character, so a line opening with `SIP/` can
    // only be a status line.
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        parse_status_line(line).map(StartLine::Response)
    } else {
        parse_request_line(line).map(StartLine::Request)
    }
}

fn parse_request_line(line: Bytes) -> Result<RequestLine, ParseError> {
    // Exactly one SP between the three elements: doubled or trailing spaces, and white space
    // inside the Request-URI, make the line malformed (RFC 4475 §3.1.2.8-10).
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "request line must be three elements separated by single spaces",
        ));
    };
    if method.is_empty() || uri.is_empty() || version.is_empty() {
        return Err(malformed(
            "request line must be three elements separated by single spaces",
        ));
    }
    check_version(version)?;
    let method = Method::parse(method)?;
    let uri_start = method.as_str().len() + 1;
    let uri_end = uri_start + uri.len();
    Ok(RequestLine {
        method,
        uri: line.slice(uri_start..uri_end),
        version: line.slice(uri_end + 1..),
    })
}

fn parse_status_line(line: Bytes) -> Result<StatusLine, ParseError> {
    let sp =
        memchr::memchr(b' ', &line).ok_or_else(|| malformed("status line without status code"))?;
    let version = line.slice(..sp);
    check_version(&version)?;
    let rest = line.get(sp + 1..).unwrap_or_default();
    let code_text = rest
        .iter()
        .position(|&b| b == b' ')
        .map_or(rest, |end| rest.get(..end).unwrap_or_default());
    let code = match code_text {
        [a, b, c] if code_text.iter().all(u8::is_ascii_digit) => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => {
            return Err(ParseError::InvalidStatusCode {
                code: snippet(code_text),
            })
        }
    };
    // The reason phrase may be empty, with or without the SP before it (RFC 4475 §3.1.1.13).
    let reason_start = (sp + 1 + 3 + 1).min(line.len());
    Ok(StatusLine {
        version,
        code,
        reason: line.slice(reason_start..),
    })
}

/// `"SIP" "/" 1*DIGIT "." 1*DIGIT`; whether the version is supported is validation's call.
fn check_version(version: &[u8]) -> Result<(), ParseError> {
    let malformed = || ParseError::MalformedVersion {
        version: snippet(version),
    };
    let numbers = match version.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case(b"SIP/") => {
            version.get(4..).unwrap_or_default()
        }
        _ => return Err(malformed()),
    };
    let mut parts = numbers.split(|&b| b == b'.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(major), Some(minor), None)
            if !major.is_empty()
                && !minor.is_empty()
                && major.iter().chain(minor).all(u8::is_ascii_digit) =>
        {
            Ok(())
        }
        _ => Err(malformed()),
    }
}

/// Makes what can be made of a malformed request line, so that the request can still be
/// answered: the method comes from the first token, or else from the CSeq; the rest is kept
/// raw. `None` for anything that looks like a status line, since responses are never answered.
pub(crate) fn salvage_request_line(
    line: Bytes,
    cseq_method: Option<Method>,
) -> Option<RequestLine> {
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        return None;
    }
    let first_sp = memchr::memchr(b' ', &line);
    let token = line.get(..first_sp.unwrap_or(line.len()))?;
    let method = Method::parse(token).ok().or(cseq_method)?;
    let (uri, version) = match (first_sp, memchr::memrchr(b' ', &line)) {
        (Some(first), Some(last)) if last > first => {
            (line.slice(first + 1..last), line.slice(last + 1..))
        }
        (Some(first), _) => (line.slice(first + 1..), Bytes::new()),
        _ => (Bytes::new(), Bytes::new()),
    };
    Some(RequestLine {
        method,
        uri,
        version,
    })
}

/// Whether the version is the one this proxy speaks.
pub(crate) fn is_sip_2_0(version: &[u8]) -> bool {
    version.eq_ignore_ascii_case(b"SIP/2.0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<StartLine, ParseError> {
        parse_start_line(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn request_line() -> Result<(), ParseError> {
        let StartLine::Request(line) = parse("INVITE sip:bob@example.com SIP/2.0")? else {
            return Err(malformed("expected a request"));
        };
        assert_eq!(line.method, Method::Invite);
        assert_eq!(line.uri, "sip:bob@example.com");
        assert_eq!(line.version, "SIP/2.0");
        let StartLine::Request(odd) = parse("NEWMETHOD nobodyKnowsThisScheme:opaque SIP/7.0")?
        else {
            return Err(malformed("expected a request"));
        };
        assert_eq!(odd.method, Method::Extension("NEWMETHOD".into()));
        assert_eq!(odd.version, "SIP/7.0");
        Ok(())
    }

    #[test]
    fn status_line() -> Result<(), ParseError> {
        let StartLine::Response(ok) = parse("SIP/2.0 200 OK")? else {
            return Err(malformed("expected a response"));
        };
        assert_eq!((ok.code, &ok.reason[..]), (200, &b"OK"[..]));
        let StartLine::Response(spaced) = parse("SIP/2.0 486 Busy  Here ")? else {
            return Err(malformed("expected a response"));
        };
        assert_eq!(spaced.reason, "Busy  Here ");
        for empty in ["SIP/2.0 100 ", "SIP/2.0 100"] {
            let StartLine::Response(line) = parse(empty)? else {
                return Err(malformed("expected a response"));
            };
            assert_eq!((line.code, line.reason.len()), (100, 0));
        }
        Ok(())
    }

    #[test]
    fn malformed_lines() {
        for bad in [
            "",
            "INVITE",
            "INVITE sip:bob@example.com",
            "INVITE  sip:bob@example.com SIP/2.0",
            "INVITE sip:bob@example.com  SIP/2.0",
            "INVITE sip:bob@example.com SIP/2.0 ",
            "INVITE sip:bob@example.com; lr SIP/2.0",
            "INVITE sip:bob@example.com SIP/2.0x",
            "INVITE sip:bob@example.com HTTP/1.1",
            "INVITE sip:bob@example.com SIP/.0",
            "IN<VITE sip:bob@example.com SIP/2.0",
            "INVITE\tsip:bob@example.com\tSIP/2.0",
            "SIP/2.0",
            "SIP/2.0 4294967301 better not break the receiver",
            "SIP/2.0 20 OK",
            "SIP/2.0 2x0 OK",
            "SIP/2.0  200 OK",
            "SIP/2 200 OK",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn salvage() {
        let line = |s: &'static str| Bytes::from_static(s.as_bytes());
        let salvaged = salvage_request_line(line("INVITE  sip:a@example.com  SIP/2.0"), None);
        assert_eq!(salvaged.map(|l| l.method), Some(Method::Invite));
        let from_cseq = salvage_request_line(line("<bad> x"), Some(Method::Options));
        assert_eq!(from_cseq.map(|l| l.method), Some(Method::Options));
        assert!(salvage_request_line(line("<bad> x"), None).is_none());
        assert!(salvage_request_line(line("SIP/2.0 99999 x"), Some(Method::Invite)).is_none());
        let bare = salvage_request_line(line("OPTIONS"), None);
        assert_eq!(bare.map(|l| (l.uri.len(), l.version.len())), Some((0, 0)));
    }

    #[test]
    fn version_support() {
        assert!(is_sip_2_0(b"SIP/2.0"));
        assert!(is_sip_2_0(b"sip/2.0"));
        assert!(!is_sip_2_0(b"SIP/7.0"));
    }
}
