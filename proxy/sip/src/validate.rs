//! The checks a proxy makes on a parsed message before forwarding it (RFC 3261 §16.3 and the
//! RFC 4475 expectations): a request that fails gets the error's status as its answer, a
//! response that fails is dropped.
//!
//! Headers a proxy does not act on (Date, Expires, Content-Type, ...) are not checked, so that
//! messages with odd values in them are forwarded rather than refused.

use crate::error::ParseError;
use crate::grammar::split_list;
use crate::header_kind::HeaderKind;
use crate::headers::Headers;
use crate::message::Message;
use crate::name_addr::NameAddr;
use crate::start_line::{is_sip_2_0, StartLine};
use crate::uri::Uri;
use crate::via::Via;

/// What validation parsed on its way, for the caller to use instead of parsing it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// A request's Request-URI; `None` for a response.
    pub request_uri: Option<Uri>,
    pub from: NameAddr,
    pub to: NameAddr,
    /// The first element of the first Via header.
    pub top_via: Via,
}

/// Validates a request: version SIP/2.0 (else 505), a Request-URI that parses with a sip,
/// sips or tel scheme (else 416), the mandatory headers exactly once (at least one Via), every
/// Via, From, To, Contact, Route and Record-Route value well-formed, a CSeq whose method is
/// the request's and whose number fits, and a Max-Forwards of at most 255.
pub fn validate_request(message: &Message) -> Result<Validated, ParseError> {
    let StartLine::Request(line) = &message.start else {
        return Err(ParseError::NotARequest);
    };
    check_version(&line.version)?;
    let uri = Uri::parse(&line.uri).map_err(|cause| ParseError::InvalidRequestUri {
        cause: Box::new(cause),
    })?;
    if !uri.is_supported_scheme() {
        return Err(ParseError::UnsupportedUriScheme {
            scheme: uri.scheme.into(),
        });
    }
    let mut validated = check_common(message)?;
    let cseq = message.cseq()?;
    if cseq.method != line.method {
        return Err(ParseError::CSeqMethodMismatch {
            cseq: cseq.method.to_string(),
            method: line.method.to_string(),
        });
    }
    at_most_once(&message.headers, HeaderKind::MaxForwards)?;
    message.max_forwards()?;
    for kind in [HeaderKind::Route, HeaderKind::RecordRoute] {
        each_element(&message.headers, kind, |value| {
            NameAddr::parse(value).map(drop)
        })?;
    }
    each_element(&message.headers, HeaderKind::Contact, |value| {
        if value == b"*" {
            Ok(())
        } else {
            NameAddr::parse(value).map(drop)
        }
    })?;
    validated.request_uri = Some(uri);
    Ok(validated)
}

/// Validates a response: status 100..=699, version SIP/2.0, and Via, From, To, Call-ID and
/// CSeq present (once, except Via) and well-formed.
pub fn validate_response(message: &Message) -> Result<Validated, ParseError> {
    let StartLine::Response(line) = &message.start else {
        return Err(ParseError::NotAResponse);
    };
    if !(100..=699).contains(&line.code) {
        return Err(ParseError::StatusOutOfRange { code: line.code });
    }
    check_version(&line.version)?;
    let validated = check_common(message)?;
    message.cseq()?;
    Ok(validated)
}

fn check_version(version: &[u8]) -> Result<(), ParseError> {
    if is_sip_2_0(version) {
        Ok(())
    } else {
        Err(ParseError::UnsupportedVersion {
            version: crate::error::snippet(version),
        })
    }
}

/// What requests and responses share: the dialog-identifying headers and the Via stack.
fn check_common(message: &Message) -> Result<Validated, ParseError> {
    let headers = &message.headers;
    check_header_text(headers)?;
    for kind in [
        HeaderKind::To,
        HeaderKind::From,
        HeaderKind::CallId,
        HeaderKind::CSeq,
    ] {
        exactly_once(headers, kind)?;
    }
    let to = message.to_header()?;
    let from = message.from_header()?;
    check_call_id(headers)?;
    let mut top_via = None;
    each_element(headers, HeaderKind::Via, |value| {
        let via = Via::parse(value)?;
        top_via.get_or_insert(via);
        Ok(())
    })?;
    let top_via = top_via.ok_or_else(|| ParseError::MissingHeader {
        header: HeaderKind::Via.canonical_name(),
    })?;
    Ok(Validated {
        request_uri: None,
        from,
        to,
        top_via,
    })
}

/// Every header value is text as RFC 3261's grammar has it: no control character but HTAB
/// (folded lines were joined by the parser) except escaped in a `quoted-pair` (RFC 4475's
/// `intmeth` has `\NUL` in a display name), and any non-ASCII byte part of a UTF-8 sequence
/// (`UTF8-NONASCII`). A value that is neither matches no production, so it is refused rather
/// than passed on to the internal servers.
fn check_header_text(headers: &Headers) -> Result<(), ParseError> {
    if let Some(header) = control_character_in(headers, Escapes::Allowed) {
        return Err(ParseError::ControlCharacter {
            header: crate::error::snippet(&header.name),
        });
    }
    for header in headers.iter() {
        let value = &header.value;
        if !value.is_ascii() && std::str::from_utf8(value).is_err() {
            return Err(ParseError::InvalidUtf8 {
                header: crate::error::snippet(&header.name),
            });
        }
    }
    Ok(())
}

/// Whether a control character escaped by a backslash (`quoted-pair`) counts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Escapes {
    /// As RFC 3261's grammar has it: `\` followed by any byte but CR and LF is text.
    Allowed,
    /// Stricter, for the edge: no control character at all reaches the inside.
    Refused,
}

/// The first header whose value holds a control character other than HTAB.
pub fn control_character_in(headers: &Headers, escapes: Escapes) -> Option<&crate::Header> {
    let is_control = |b: u8| (b < 0x20 && b != b'\t') || b == 0x7f;
    headers.iter().find(|header| {
        // Nearly every value holds none: one pass without early exit (which the compiler can
        // run many bytes at a time) clears those; only the rest is read escape by escape.
        let holds_any = header
            .value
            .iter()
            .fold(false, |found, &b| found | is_control(b));
        if !holds_any {
            return false;
        }
        let mut bytes = header.value.iter();
        while let Some(&b) = bytes.next() {
            if b == b'\\' && escapes == Escapes::Allowed {
                bytes.next();
            } else if is_control(b) {
                return true;
            }
        }
        false
    })
}

/// `callid = word [ "@" word ]`: one word of visible ASCII characters.
fn check_call_id(headers: &Headers) -> Result<(), ParseError> {
    let value = headers
        .first(HeaderKind::CallId)
        .ok_or_else(|| ParseError::MissingHeader {
            header: HeaderKind::CallId.canonical_name(),
        })?;
    if value.is_empty() || value.iter().any(|&b| !(0x21..=0x7e).contains(&b)) {
        return Err(ParseError::InvalidCallId.in_header(HeaderKind::CallId.canonical_name()));
    }
    Ok(())
}

fn exactly_once(headers: &Headers, kind: HeaderKind) -> Result<(), ParseError> {
    match headers.count(kind) {
        0 => Err(ParseError::MissingHeader {
            header: kind.canonical_name(),
        }),
        _ => at_most_once(headers, kind),
    }
}

fn at_most_once(headers: &Headers, kind: HeaderKind) -> Result<(), ParseError> {
    match headers.count(kind) {
        0 | 1 => Ok(()),
        count => Err(ParseError::DuplicateHeader {
            header: kind.canonical_name(),
            count,
        }),
    }
}

/// Runs `check` on every list element of every header of `kind`; an empty element (`a,,b`)
/// is an error, as the list grammars do not allow it.
fn each_element(
    headers: &Headers,
    kind: HeaderKind,
    mut check: impl FnMut(&[u8]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let name = kind.canonical_name();
    for header in headers.iter().filter(|h| h.kind == kind) {
        for range in split_list(&header.value) {
            let element = header.value.get(range).unwrap_or_default();
            if element.is_empty() {
                return Err(ParseError::InvalidParameter {
                    detail: "empty list element",
                }
                .in_header(name));
            }
            check(element).map_err(|e| e.in_header(name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::parse::parse_message;
    use bytes::Bytes;

    const HEAD: &str = "INVITE sip:bob@example.com SIP/2.0\r\n";
    const HEADERS: &str = "Via: SIP/2.0/UDP a.example.net;branch=z9hG4bK1\r\n\
        Max-Forwards: 70\r\n\
        To: <sip:bob@example.com>\r\n\
        From: <sip:alice@example.net>;tag=a1\r\n\
        Call-ID: v1@example.net\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:alice@192.0.2.5>\r\n";

    fn check(text: &str) -> Result<(), ParseError> {
        let message = parse_message(Bytes::copy_from_slice(text.as_bytes()), &Limits::default())?;
        if message.is_request() {
            validate_request(&message).map(drop)
        } else {
            validate_response(&message).map(drop)
        }
    }

    fn status(text: &str) -> Option<u16> {
        check(text).err().map(|e| e.status_code())
    }

    #[test]
    fn good_request() -> Result<(), ParseError> {
        check(&format!("{HEAD}{HEADERS}Content-Length: 0\r\n\r\n"))
    }

    #[test]
    fn version_and_scheme() {
        assert_eq!(
            status(&format!(
                "INVITE sip:bob@example.com SIP/7.0\r\n{HEADERS}\r\n"
            )),
            Some(505)
        );
        assert_eq!(
            status(&format!(
                "INVITE im:bob@example.com SIP/2.0\r\n{HEADERS}\r\n"
            )),
            Some(416)
        );
        assert_eq!(
            status(&format!(
                "INVITE <sip:bob@example.com> SIP/2.0\r\n{HEADERS}\r\n"
            )),
            Some(400)
        );
        assert_eq!(
            status(&format!(
                "INVITE tel:+1-201-555-0123 SIP/2.0\r\n{HEADERS}\r\n"
            )),
            None
        );
    }

    #[test]
    fn mandatory_headers() {
        for kind in ["To", "From", "Call-ID", "CSeq", "Via"] {
            let without: String = HEADERS
                .split_inclusive("\r\n")
                .filter(|l| !l.starts_with(&format!("{kind}:")))
                .collect();
            assert_eq!(
                check(&format!("{HEAD}{without}\r\n")).err(),
                Some(ParseError::MissingHeader {
                    header: HeaderKind::from_name(kind.as_bytes()).canonical_name()
                }),
                "{kind}"
            );
        }
        assert!(matches!(
            check(&format!(
                "{HEAD}{HEADERS}t: <sip:carol@example.com>\r\n\r\n"
            )),
            Err(ParseError::DuplicateHeader {
                header: "To",
                count: 2
            })
        ));
        assert!(matches!(
            check(&format!("{HEAD}{HEADERS}Max-Forwards: 70\r\n\r\n")),
            Err(ParseError::DuplicateHeader {
                header: "Max-Forwards",
                ..
            })
        ));
    }

    #[test]
    fn cseq_rules() {
        let mismatch = HEADERS.replace("1 INVITE", "1 OPTIONS");
        assert!(matches!(
            check(&format!("{HEAD}{mismatch}\r\n")),
            Err(ParseError::CSeqMethodMismatch { .. })
        ));
        let large = HEADERS.replace("1 INVITE", "2147483648 INVITE");
        assert_eq!(status(&format!("{HEAD}{large}\r\n")), Some(400));
    }

    #[test]
    fn element_checks() {
        for (from, to) in [
            ("Max-Forwards: 70", "Max-Forwards: 300"),
            ("branch=z9hG4bK1", "branch=z9hG4bK1;;,;,,"),
            ("Call-ID: v1@example.net", "Call-ID: v1 @example.net"),
            ("<sip:alice@192.0.2.5>", "\"Alice <sip:alice@192.0.2.5>"),
            (
                "To: <sip:bob@example.com>",
                "To: Bob, Jr <sip:bob@example.com>",
            ),
            (
                "Contact: <sip:alice@192.0.2.5>",
                "Contact: sip:alice@192.0.2.5?Subject=x",
            ),
        ] {
            let headers = HEADERS.replace(from, to);
            assert_eq!(status(&format!("{HEAD}{headers}\r\n")), Some(400), "{to}");
        }
        let star = HEADERS.replace("<sip:alice@192.0.2.5>", "*");
        assert_eq!(status(&format!("{HEAD}{star}\r\n")), None);
        let route = format!(
            "{HEAD}{HEADERS}Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\r\n"
        );
        assert_eq!(status(&route), None);
        let bad_route = format!("{HEAD}{HEADERS}Route: <sip:p1.example.com;lr>,,\r\n\r\n");
        assert_eq!(status(&bad_route), Some(400));
    }

    #[test]
    fn header_text_is_utf8_without_control_characters() {
        let check_bytes = |bytes: Vec<u8>| {
            let message = parse_message(Bytes::from(bytes), &Limits::default())?;
            validate_request(&message).map(drop)
        };
        let with = |extra: &[u8]| {
            let mut bytes = format!("{HEAD}{HEADERS}").into_bytes();
            bytes.extend_from_slice(extra);
            bytes.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
            bytes
        };
        for control in [
            &b"Subject: a\0b"[..],
            b"Subject: a\x01b",
            b"Subject: a\x7fb",
            // An escaped backslash escapes nothing after it.
            b"Subject: \"a\\\\\x01\"",
        ] {
            assert_eq!(
                check_bytes(with(control)),
                Err(ParseError::ControlCharacter {
                    header: "Subject".into()
                })
            );
        }
        assert_eq!(
            check_bytes(with(b"Subject: caf\xe9")),
            Err(ParseError::InvalidUtf8 {
                header: "Subject".into()
            })
        );
        assert_eq!(
            check_bytes(with("Subject: café\tau lait".as_bytes())),
            Ok(())
        );
        // Escaped in a quoted-pair a control character is text; the edge refuses it all the same.
        let escaped = parse_message(
            Bytes::from(with(b"Subject: \"a\\\0b\"")),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(validate_request(&escaped).is_ok());
        let refused = control_character_in(&escaped.headers, Escapes::Refused);
        assert_eq!(
            refused.map(|h| h.name.clone()),
            Some(Bytes::from("Subject"))
        );
        let display_name = HEADERS.replace("<sip:alice", "\"Zoë\" <sip:alice");
        assert_eq!(status(&format!("{HEAD}{display_name}\r\n")), None);
        for call_id in ["v1\u{e9}@example.net", "v1\u{1}@example.net"] {
            let headers = HEADERS.replace("v1@example.net", call_id);
            assert_eq!(
                status(&format!("{HEAD}{headers}\r\n")),
                Some(400),
                "{call_id}"
            );
        }
    }

    #[test]
    fn responses() {
        let ok = format!("SIP/2.0 200 OK\r\n{HEADERS}\r\n");
        assert_eq!(check(&ok), Ok(()));
        assert!(matches!(
            check(&ok.replace("200 OK", "099 Odd")),
            Err(ParseError::StatusOutOfRange { code: 99 })
        ));
        assert!(check(&ok.replace("200 OK", "700 Odd")).is_err());
        assert!(
            check(&ok.replace("CSeq: 1 INVITE", "CSeq: 9292394834772304023312 OPTIONS")).is_err()
        );
        let message = parse_message(Bytes::from(ok), &Limits::default());
        assert_eq!(
            message.map(|m| validate_request(&m).map(drop)).ok(),
            Some(Err(ParseError::NotARequest))
        );
    }
}
