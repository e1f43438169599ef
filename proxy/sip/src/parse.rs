//! Turning bytes into a [`Message`]: [`parse_message`] for a datagram or a framed stream
//! message, [`parse_head`] for a header section alone (what a framing error leaves to answer).
//!
//! Only the start line and the header field boundaries are parsed here; header values stay
//! slices of the input until the proxy asks for one.

use bytes::Bytes;

use crate::error::{snippet, ParseError};
use crate::head::{parse_content_length, scan_head, skip_leading_line_ends, RawField, RawHead};
use crate::header::Header;
use crate::header_kind::HeaderKind;
use crate::headers::Headers;
use crate::limits::Limits;
use crate::message::Message;
use crate::start_line::parse_start_line;

/// Parses one complete message (a UDP datagram or a framed stream message).
///
/// The body is what Content-Length says; octets after it are ignored, as RFC 3261 §18.3 asks
/// for datagrams. Without Content-Length the body runs to the end of the bytes. A
/// Content-Length larger than the bytes present, or one that is not a plain number, is an
/// error.
pub fn parse_message(bytes: Bytes, limits: &Limits) -> Result<Message, ParseError> {
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

/// Parses a header section without a body: Content-Length is neither required nor checked.
/// Used to answer a stream message whose framing failed (see `FramingError::head`).
pub fn parse_head(head: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    parse_parts(&head, limits).map(|(_, message)| message)
}

fn parse_parts(bytes: &Bytes, limits: &Limits) -> Result<(RawHead, Message), ParseError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(ParseError::MessageTooLarge {
            size: bytes.len(),
            limit: limits.max_message_bytes,
        });
    }
    let from = skip_leading_line_ends(bytes);
    if from == bytes.len() {
        return Err(ParseError::Empty);
    }
    let head = scan_head(bytes, from, limits)?.ok_or(ParseError::UnterminatedHeaders)?;
    let start = parse_start_line(bytes.slice(head.start_line.clone()))?;
    let mut headers = Headers::with_capacity(head.fields.len());
    for field in &head.fields {
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
    let message = Message {
        start,
        headers,
        body: Bytes::new(),
    };
    Ok((head, message))
}

/// The Content-Length of a header section, if it has one. More than one Content-Length is an
/// error even when they agree: two framings of one message are how smuggling starts.
pub(crate) fn content_length(buf: &[u8], fields: &[RawField]) -> Result<Option<usize>, ParseError> {
    let mut found = None;
    let mut count = 0;
    for field in fields.iter().filter(|f| f.kind == HeaderKind::ContentLength) {
        count += 1;
        let value = field.value(buf);
        found = Some(
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
        let call_id = message.call_id().ok_or(ParseError::MissingHeader { header: "Call-ID" })?;
        let inside = bytes.as_ptr_range();
        assert!(inside.contains(&call_id.as_ptr()));
        assert!(inside.contains(&message.body.as_ptr()));
        assert_eq!(message.body, "body");
        assert_eq!(message.method(), Some(&Method::Options));
        Ok(())
    }

    #[test]
    fn body_rules() -> Result<(), ParseError> {
        assert_eq!(parse(&format!("{OPTIONS}Content-Length: 2\r\n\r\nabcd"))?.body, "ab");
        assert_eq!(parse(&format!("{OPTIONS}\r\nabcd"))?.body, "abcd");
        assert_eq!(parse(&format!("{OPTIONS}l:0\r\n\r\n"))?.body, "");
        assert_eq!(
            parse(&format!("{OPTIONS}Content-Length: 5\r\n\r\nabcd")).err(),
            Some(ParseError::ContentLengthExceedsBody { declared: 5, available: 4 })
        );
        assert_eq!(
            parse(&format!("{OPTIONS}Content-Length: -999\r\n\r\n")).err(),
            Some(ParseError::InvalidContentLength { value: "-999".into() })
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
        let small = Limits { max_message_bytes: 100, ..Limits::default() };
        assert!(matches!(
            parse_message(bytes, &small),
            Err(ParseError::MessageTooLarge { limit: 100, .. })
        ));
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
