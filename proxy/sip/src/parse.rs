//! Turning bytes into a [`Message`]: [`parse_message`] for a datagram or a framed stream
//! message, [`parse_head`] for the header section alone, which is what the proxy answers when
//! the body or the size was the problem.
//!
//! Only the start line and the header field boundaries are parsed here; header values stay
//! slices of the input until the proxy asks for one.

use bytes::Bytes;

use crate::cseq::CSeq;
use crate::error::{snippet, ParseError};
use crate::head::{
    parse_content_length, scan_head, scan_head_lenient, skip_leading_line_ends, RawField, RawHead,
};
use crate::header::Header;
use crate::header_kind::HeaderKind;
use crate::headers::Headers;
use crate::limits::Limits;
use crate::message::Message;
use crate::start_line::{parse_start_line, salvage_request_line, StartLine};

/// Parses one complete message (a UDP datagram or a framed stream message).
///
/// The body is what Content-Length says; octets after it are ignored, as RFC 3261 §18.3 asks
/// for datagrams. Without Content-Length the body runs to the end of the bytes. A
/// Content-Length larger than the bytes present, or one that is not a plain number, is an
/// error. When it fails that way (or the message is too large), [`parse_head`] on the same
/// bytes still reads the header section, so the request can be answered with the error's
/// status.
pub fn parse_message(bytes: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(ParseError::MessageTooLarge {
            size: bytes.len(),
            limit: limits.max_message_bytes,
        });
    }
    let (head, mut message) = parse_parts(&bytes, limits)?;
    let available = bytes.len() - head.body_start.min(bytes.len());
    let body_len = match content_length(&bytes, &head.fields)? {
        Some(declared) if declared > available => {
            return Err(ParseError::ContentLengthExceedsBody {
                declared,
                available,
            })
        }
        Some(declared) => declared,
        None => available,
    };
    message.body = bytes.slice(head.body_start..head.body_start + body_len);
    Ok(message)
}

/// Reads as much of a refused message as answering it needs, and nothing more: a message
/// from here is for building a response (Via, From, To, Call-ID, CSeq), never for forwarding.
///
/// The body is left empty and Content-Length and the total size are ignored; malformed or
/// over-long header lines are skipped and lines past the header limit dropped; a section with
/// no empty line ends at the end of the bytes; a malformed request line is salvaged (method
/// from its first token or from CSeq). It fails when there is nothing to answer: no bytes, or
/// a start line that is a status line or has no usable method.
///
/// Use it on the bytes [`parse_message`] refused, and on `FramingError::head`.
pub fn parse_head(head: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    let from = skip_leading_line_ends(&head);
    if from == head.len() {
        return Err(ParseError::Empty);
    }
    let raw = scan_head_lenient(&head, from, limits);
    let headers = build_headers(&head, &raw.fields);
    let line = head.slice(raw.start_line.clone());
    let start = match parse_start_line(line.clone()) {
        Ok(start) => start,
        Err(error) => {
            let cseq_method = headers
                .first(HeaderKind::CSeq)
                .and_then(|value| CSeq::parse(value).ok())
                .map(|cseq| cseq.method);
            StartLine::Request(salvage_request_line(line, cseq_method).ok_or(error)?)
        }
    };
    Ok(Message {
        start,
        headers,
        body: Bytes::new(),
    })
}

fn parse_parts(bytes: &Bytes, limits: &Limits) -> Result<(RawHead, Message), ParseError> {
    let from = skip_leading_line_ends(bytes);
    if from == bytes.len() {
        return Err(ParseError::Empty);
    }
    let head = scan_head(bytes, from, limits)?.ok_or(ParseError::UnterminatedHeaders)?;
    let start = parse_start_line(bytes.slice(head.start_line.clone()))?;
    let message = Message {
        start,
        headers: build_headers(bytes, &head.fields),
        body: Bytes::new(),
    };
    Ok((head, message))
}

/// Header values are slices of the received bytes; only folded ones are copied, to unfold.
fn build_headers(bytes: &Bytes, fields: &[RawField]) -> Headers {
    let mut headers = Headers::with_capacity(fields.len());
    for field in fields {
        headers.push(Header {
            name: bytes.slice(field.name.clone()),
            kind: field.kind,
            value: if field.folded {
                Bytes::from(field.value(bytes).into_owned())
            } else {
                bytes.slice(field.value.clone())
            },
        });
    }
    headers
}

/// The Content-Length of a header section, if it has one. More than one Content-Length is an
/// error even when they agree: two framings of one message are how smuggling starts.
pub(crate) fn content_length(buf: &[u8], fields: &[RawField]) -> Result<Option<usize>, ParseError> {
    let mut found = None;
    let mut count = 0;
    for field in fields
        .iter()
        .filter(|f| f.kind == HeaderKind::ContentLength)
    {
        count += 1;
        let value = field.value(buf);
        found =
            Some(
                parse_content_length(&value).ok_or_else(|| ParseError::InvalidContentLength {
                    value: snippet(&value),
                })?,
            );
    }
    if count > 1 {
        return Err(ParseError::DuplicateHeader {
            header: HeaderKind::ContentLength.canonical_name(),
            count,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::method::Method;
    use crate::start_line::StartLine;

    const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP a.example.net;branch=z9hG4bKopt1\r\n\
        To: <sip:bob@example.com>\r\n\
        From: <sip:alice@example.net>;tag=a1\r\n\
        Call-ID: opt1@example.net\r\n\
        CSeq: 1 OPTIONS\r\n\
        Max-Forwards: 70\r\n";

    fn parse(s: &str) -> Result<Message, ParseError> {
        parse_message(Bytes::copy_from_slice(s.as_bytes()), &Limits::default())
    }

    #[test]
    fn headers_are_slices_of_the_input() -> Result<(), ParseError> {
        let bytes = Bytes::from(format!("{OPTIONS}Content-Length: 4\r\n\r\nbody"));
        let message = parse_message(bytes.clone(), &Limits::default())?;
        let call_id = message
            .call_id()
            .ok_or(ParseError::MissingHeader { header: "Call-ID" })?;
        let inside = bytes.as_ptr_range();
        assert!(inside.contains(&call_id.as_ptr()));
        assert!(inside.contains(&message.body.as_ptr()));
        assert_eq!(message.body, "body");
        assert_eq!(message.method(), Some(&Method::Options));
        Ok(())
    }

    #[test]
    fn body_rules() -> Result<(), ParseError> {
        assert_eq!(
            parse(&format!("{OPTIONS}Content-Length: 2\r\n\r\nabcd"))?.body,
            "ab"
        );
        assert_eq!(parse(&format!("{OPTIONS}\r\nabcd"))?.body, "abcd");
        assert_eq!(parse(&format!("{OPTIONS}l:0\r\n\r\n"))?.body, "");
        assert_eq!(
            parse(&format!("{OPTIONS}Content-Length: 5\r\n\r\nabcd")).err(),
            Some(ParseError::ContentLengthExceedsBody {
                declared: 5,
                available: 4
            })
        );
        assert_eq!(
            parse(&format!("{OPTIONS}Content-Length: -999\r\n\r\n")).err(),
            Some(ParseError::InvalidContentLength {
                value: "-999".into()
            })
        );
        assert!(matches!(
            parse(&format!("{OPTIONS}Content-Length: 0\r\nl: 0\r\n\r\n")),
            Err(ParseError::DuplicateHeader { count: 2, .. })
        ));
        Ok(())
    }

    #[test]
    fn leading_line_ends_and_bare_lf() -> Result<(), ParseError> {
        let message = parse(&format!("\r\n\r\n{}\r\n", OPTIONS.replace("\r\n", "\n")))?;
        assert!(message.is_request());
        assert_eq!(message.headers.len(), 6);
        Ok(())
    }

    #[test]
    fn structural_errors() {
        for (text, expected) in [
            ("", ParseError::Empty),
            ("\r\n\r\n", ParseError::Empty),
            (OPTIONS, ParseError::UnterminatedHeaders),
        ] {
            assert_eq!(parse(text).err(), Some(expected));
        }
        assert!(matches!(
            parse(&format!("{OPTIONS}Bad Header: x\r\n\r\n")),
            Err(ParseError::InvalidHeaderName { line: 8 })
        ));
        assert!(matches!(
            parse("OPTIONS  sip:bob@example.com SIP/2.0\r\n\r\n"),
            Err(ParseError::MalformedStartLine { .. })
        ));
    }

    #[test]
    fn limits_apply() {
        let bytes = Bytes::from(format!("{OPTIONS}\r\n{}", "x".repeat(100)));
        let small = Limits {
            max_message_bytes: 100,
            ..Limits::default()
        };
        assert!(matches!(
            parse_message(bytes, &small),
            Err(ParseError::MessageTooLarge { limit: 100, .. })
        ));
    }

    #[test]
    fn head_of_a_refused_message_is_readable() -> Result<(), ParseError> {
        let limits = Limits {
            max_message_bytes: 300,
            ..Limits::default()
        };
        for text in [
            format!("{OPTIONS}Content-Length: -999\r\n\r\n"),
            format!("{OPTIONS}Content-Length: 9\r\n\r\nabc"),
            format!("{OPTIONS}Content-Length: 0\r\nl: 1\r\n\r\nx"),
            format!("{OPTIONS}\r\n{}", "x".repeat(300)),
        ] {
            let bytes = Bytes::from(text);
            assert!(parse_message(bytes.clone(), &limits).is_err());
            let head = parse_head(bytes, &limits)?;
            assert_eq!(
                head.call_id().map(|c| &c[..]),
                Some(&b"opt1@example.net"[..])
            );
            assert!(head.body.is_empty());
        }
        Ok(())
    }

    #[test]
    fn head_salvages_malformed_requests_only() -> Result<(), ParseError> {
        let limits = Limits::default();
        let head = |s: String| parse_head(Bytes::from(s), &limits);
        let broken_line = OPTIONS.replacen("OPTIONS sip", "OPTIONS  sip", 1);
        assert_eq!(head(broken_line)?.method(), Some(&Method::Options));
        let bad_field = format!("{OPTIONS}No colon here\r\nA: b\rc\r\n\r\n");
        assert_eq!(head(bad_field)?.headers.len(), 6);
        let unterminated = head(OPTIONS.to_owned())?;
        assert_eq!(unterminated.headers.len(), 6);
        let response = "SIP/2.0 99999 Odd\r\nCall-ID: x\r\n\r\n".to_owned();
        assert!(head(response).is_err());
        assert_eq!(head("\r\n".to_owned()).err(), Some(ParseError::Empty));
        let few = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        let capped = parse_head(Bytes::from_static(OPTIONS.as_bytes()), &few)?;
        assert_eq!(capped.headers.len(), 2);
        Ok(())
    }

    #[test]
    fn head_alone() -> Result<(), ParseError> {
        let head = Bytes::from(format!("{OPTIONS}Content-Length: 500\r\n\r\n"));
        let message = parse_head(head, &Limits::default())?;
        assert!(matches!(message.start, StartLine::Request(_)));
        assert!(message.body.is_empty());
        Ok(())
    }
}
