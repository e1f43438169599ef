//! Serialising a [`Message`]: the start line, every header as `name: value` CRLF in order
//! under the name it was received with, an empty line, and the body. The Content-Length is
//! always rewritten to the real body length (added when missing, extra copies dropped), so a
//! forwarded message can never carry a framing that disagrees with its body.

use bytes::{BufMut, Bytes, BytesMut};

use crate::header_kind::HeaderKind;
use crate::message::Message;
use crate::start_line::StartLine;

/// How many bytes [`write_message`] writes for `message`, without writing them.
pub(crate) fn encoded_len(message: &Message) -> usize {
    let start = match &message.start {
        StartLine::Request(line) => {
            line.method.as_str().len() + line.uri.len() + line.version.len() + 2
        }
        StartLine::Response(line) => {
            line.version.len() + decimal_len(usize::from(line.code)) + line.reason.len() + 2
        }
    };
    let length_value = decimal_len(message.body.len());
    let mut wrote_length = false;
    let mut headers = 0;
    for header in &message.headers {
        let value = if header.kind == HeaderKind::ContentLength {
            if wrote_length {
                continue;
            }
            wrote_length = true;
            length_value
        } else {
            header.value.len()
        };
        headers += header.name.len() + 2 + value + 2;
    }
    if !wrote_length {
        headers += "Content-Length: ".len() + length_value + 2;
    }
    start + 2 + headers + 2 + message.body.len()
}

fn decimal_len(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

pub(crate) fn write_message(message: &Message) -> Bytes {
    let mut out = BytesMut::with_capacity(encoded_len(message));

    match &message.start {
        StartLine::Request(line) => {
            out.put_slice(line.method.as_str().as_bytes());
            out.put_u8(b' ');
            out.put_slice(&line.uri);
            out.put_u8(b' ');
            out.put_slice(&line.version);
        }
        StartLine::Response(line) => {
            out.put_slice(&line.version);
            out.put_u8(b' ');
            put_decimal(&mut out, usize::from(line.code));
            out.put_u8(b' ');
            out.put_slice(&line.reason);
        }
    }
    out.put_slice(b"\r\n");

    let mut wrote_length = false;
    for header in &message.headers {
        if header.kind == HeaderKind::ContentLength {
            if wrote_length {
                continue;
            }
            wrote_length = true;
            out.put_slice(&header.name);
            out.put_slice(b": ");
            put_decimal(&mut out, message.body.len());
        } else {
            out.put_slice(&header.name);
            out.put_slice(b": ");
            out.put_slice(&header.value);
        }
        out.put_slice(b"\r\n");
    }
    if !wrote_length {
        out.put_slice(b"Content-Length: ");
        put_decimal(&mut out, message.body.len());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    out.put_slice(&message.body);
    out.freeze()
}

/// Writes `n` in decimal without going through a formatter.
fn put_decimal(out: &mut BytesMut, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            // `n % 10` is below 10, so the cast cannot truncate.
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    out.put_slice(digits.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParseError;
    use crate::header::Header;
    use crate::limits::Limits;
    use crate::parse::parse_message;

    fn parse(s: &str) -> Result<Message, ParseError> {
        parse_message(Bytes::copy_from_slice(s.as_bytes()), &Limits::default())
    }

    #[test]
    fn decimal() {
        for n in [0usize, 7, 10, 65_535, usize::MAX] {
            let mut out = BytesMut::new();
            put_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
            assert_eq!(decimal_len(n), n.to_string().len());
        }
    }

    #[test]
    fn encoded_len_is_what_is_written() -> Result<(), ParseError> {
        let request =
            "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
                       Content-Length: 5\r\n\r\nhello";
        let without_length = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n";
        let mut twice = parse(request)?;
        // A second Content-Length is dropped on the way out, a wrong one rewritten.
        twice
            .headers
            .push(Header::new(HeaderKind::ContentLength, "12345"));
        for message in [parse(request)?, parse(without_length)?, twice] {
            assert_eq!(message.encoded_len(), message.to_bytes().len());
        }
        Ok(())
    }

    #[test]
    fn writes_original_names_and_fixes_length() -> Result<(), ParseError> {
        let message = parse(
            "MESSAGE sip:bob@example.com SIP/2.0\r\n\
             v:SIP/2.0/UDP a.example.net;branch=z9hG4bK1\r\n\
             Subject:\r\n  folded\r\n  value\r\n\
             l:   3\r\n\
             \r\n\
             hi!trailing",
        )?;
        assert_eq!(
            message.to_bytes(),
            "MESSAGE sip:bob@example.com SIP/2.0\r\n\
             v: SIP/2.0/UDP a.example.net;branch=z9hG4bK1\r\n\
             Subject: folded value\r\n\
             l: 3\r\n\
             \r\n\
             hi!"
        );
        Ok(())
    }

    #[test]
    fn adds_missing_length_and_tracks_body_edits() -> Result<(), ParseError> {
        let mut message = parse("SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\nbody")?;
        assert_eq!(
            message.to_bytes(),
            "SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 4\r\n\r\nbody"
        );
        message.body = Bytes::from_static(b"longer body");
        message
            .headers
            .push(Header::new(HeaderKind::ContentLength, "4"));
        message
            .headers
            .push(Header::new(HeaderKind::ContentLength, "9"));
        assert_eq!(
            message.to_bytes(),
            "SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 11\r\n\r\nlonger body"
        );
        Ok(())
    }

    #[test]
    fn empty_reason_round_trips() -> Result<(), ParseError> {
        let message = parse("SIP/2.0 100 \r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n")?;
        let again = parse_message(message.to_bytes(), &Limits::default())?;
        assert_eq!(again.start, message.start);
        Ok(())
    }
}
