//! A SIP message and the on-demand accessors the proxy reads it through: each accessor parses
//! only the header it needs, when asked.

use bytes::Bytes;

use crate::cseq::CSeq;
use crate::error::{snippet, ParseError};
use crate::grammar::split_list;
use crate::header::Header;
use crate::header_kind::HeaderKind;
use crate::headers::Headers;
use crate::method::Method;
use crate::name_addr::NameAddr;
use crate::start_line::{StartLine, StatusLine};
use crate::via::Via;

/// A request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub headers: Headers,
    /// Exactly the body octets (Content-Length of them, when the header was present).
    pub body: Bytes,
}

impl Message {
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request(_))
    }

    /// The request method; `None` for a response.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request(line) => Some(&line.method),
            StartLine::Response(_) => None,
        }
    }

    /// The response status code; `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response(line) => Some(line.code),
            StartLine::Request(_) => None,
        }
    }

    /// The raw Request-URI; `None` for a response.
    pub fn request_uri(&self) -> Option<&Bytes> {
        match &self.start {
            StartLine::Request(line) => Some(&line.uri),
            StartLine::Response(_) => None,
        }
    }

    /// Replaces the Request-URI; does nothing on a response.
    pub fn set_request_uri(&mut self, uri: impl Into<Bytes>) {
        if let StartLine::Request(line) = &mut self.start {
            // A Request-URI cannot contain white space; keep the start line one line.
            line.uri = crate::header::single_line(uri.into());
        }
    }

    pub fn call_id(&self) -> Option<&Bytes> {
        self.headers.first(HeaderKind::CallId)
    }

    /// The CSeq header, parsed.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let value = required(&self.headers, HeaderKind::CSeq)?;
        CSeq::parse(value).map_err(|e| e.in_header(HeaderKind::CSeq.canonical_name()))
    }

    /// The Max-Forwards value; `None` when the header is absent. Values above 255 are errors.
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        let Some(value) = self.headers.first(HeaderKind::MaxForwards) else {
            return Ok(None);
        };
        let invalid = || ParseError::InvalidMaxForwards {
            value: snippet(value),
        };
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(invalid());
        }
        // Leading zeros are legal ("0068"), so compare the number, not the length.
        let number = value
            .iter()
            .try_fold(0u32, |n, &d| {
                let n = n * 10 + u32::from(d - b'0');
                (n <= 255).then_some(n)
            })
            .ok_or_else(invalid)?;
        Ok(Some(number))
    }

    /// The topmost Via value, parsed.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let value = required(&self.headers, HeaderKind::Via)?;
        let first = split_list(value)
            .find(|r| !r.is_empty())
            .and_then(|r| value.get(r))
            .unwrap_or_default();
        Via::parse(first).map_err(|e| e.in_header(HeaderKind::Via.canonical_name()))
    }

    /// The From header, parsed.
    pub fn from_header(&self) -> Result<NameAddr, ParseError> {
        name_addr(&self.headers, HeaderKind::From)
    }

    /// The To header, parsed.
    pub fn to_header(&self) -> Result<NameAddr, ParseError> {
        name_addr(&self.headers, HeaderKind::To)
    }

    /// Serialises the message: the start line, each header as `name: value` in order under
    /// the name it was received with, the Content-Length rewritten (or added) to the body's
    /// length, an empty line, and the body.
    pub fn to_bytes(&self) -> Bytes {
        crate::write::write_message(self)
    }

    /// The length of [`Message::to_bytes`], without serialising.
    pub fn encoded_len(&self) -> usize {
        crate::write::encoded_len(self)
    }

    /// A response to `request` as RFC 3261 §8.2.6 builds it: every Via in order, then From,
    /// To, Call-ID and CSeq copied, and an empty body. No To tag is added; the caller sets one
    /// through [`NameAddr`] when the response needs it.
    pub fn response_to(request: &Message, code: u16, reason: &str) -> Message {
        let mut headers = Headers::with_capacity(request.headers.count(HeaderKind::Via) + 5);
        for via in request.headers.iter().filter(|h| h.kind == HeaderKind::Via) {
            headers.push(via.clone());
        }
        for kind in [
            HeaderKind::From,
            HeaderKind::To,
            HeaderKind::CallId,
            HeaderKind::CSeq,
        ] {
            if let Some(header) = request.headers.iter().find(|h| h.kind == kind) {
                headers.push(header.clone());
            }
        }
        headers.push(Header::new(HeaderKind::ContentLength, "0"));
        Message {
            start: StartLine::Response(StatusLine {
                version: Bytes::from_static(b"SIP/2.0"),
                code,
                reason: crate::header::single_line(Bytes::copy_from_slice(reason.as_bytes())),
            }),
            headers,
            body: Bytes::new(),
        }
    }
}

fn required(headers: &Headers, kind: HeaderKind) -> Result<&Bytes, ParseError> {
    headers
        .first(kind)
        .ok_or_else(|| ParseError::MissingHeader {
            header: kind.canonical_name(),
        })
}

fn name_addr(headers: &Headers, kind: HeaderKind) -> Result<NameAddr, ParseError> {
    let value = required(headers, kind)?;
    NameAddr::parse(value).map_err(|e| e.in_header(kind.canonical_name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::parse::parse_message;

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP a.example.net;branch=z9hG4bKinv1, SIP/2.0/TCP b.example.net;branch=z9hG4bKinv0\r\n\
        Via: SIP/2.0/UDP c.example.net;branch=z9hG4bKold\r\n\
        Max-Forwards: 0068\r\n\
        To: Bob <sip:bob@example.com>\r\n\
        f: \"Alice\" <sip:alice@example.net>;tag=a1\r\n\
        i: inv1@example.net\r\n\
        CSeq: 7 INVITE\r\n\
        Subject: hi\r\n\
        l: 5\r\n\
        \r\n\
        hello";

    fn invite() -> Result<Message, ParseError> {
        parse_message(Bytes::from_static(INVITE.as_bytes()), &Limits::default())
    }

    #[test]
    fn accessors() -> Result<(), ParseError> {
        let message = invite()?;
        assert!(message.is_request());
        assert_eq!(message.method(), Some(&Method::Invite));
        assert_eq!(message.status(), None);
        assert_eq!(
            message.request_uri().map(|u| &u[..]),
            Some(&b"sip:bob@example.com"[..])
        );
        assert_eq!(
            message.call_id().map(|c| &c[..]),
            Some(&b"inv1@example.net"[..])
        );
        assert_eq!(
            message.cseq()?,
            CSeq {
                seq: 7,
                method: Method::Invite
            }
        );
        assert_eq!(message.max_forwards()?, Some(68));
        assert_eq!(message.top_via()?.branch(), Some("z9hG4bKinv1"));
        assert_eq!(message.from_header()?.tag(), Some("a1"));
        assert_eq!(message.to_header()?.display.as_deref(), Some("Bob"));
        Ok(())
    }

    #[test]
    fn accessor_errors_name_the_header() -> Result<(), ParseError> {
        let mut message = invite()?;
        message.headers.set(HeaderKind::CSeq, "x INVITE");
        assert!(matches!(
            message.cseq(),
            Err(ParseError::InvalidHeader { header: "CSeq", .. })
        ));
        message.headers.set(HeaderKind::MaxForwards, "256");
        assert!(message.max_forwards().is_err());
        message
            .headers
            .set(HeaderKind::MaxForwards, "99999999999999999999");
        assert!(message.max_forwards().is_err());
        message.headers.remove_all(HeaderKind::MaxForwards);
        assert_eq!(message.max_forwards()?, None);
        message.headers.remove_all(HeaderKind::Via);
        assert_eq!(
            message.top_via().err(),
            Some(ParseError::MissingHeader { header: "Via" })
        );
        Ok(())
    }

    #[test]
    fn request_uri_edit() -> Result<(), ParseError> {
        let mut message = invite()?;
        message.set_request_uri("sip:bob@192.0.2.4:5070");
        assert_eq!(
            message.request_uri().map(|u| &u[..]),
            Some(&b"sip:bob@192.0.2.4:5070"[..])
        );
        let mut response = Message::response_to(&message, 200, "OK");
        response.set_request_uri("sip:ignored@example.com");
        assert_eq!(response.request_uri(), None);
        Ok(())
    }

    #[test]
    fn response_copies_the_right_headers() -> Result<(), ParseError> {
        let request = invite()?;
        let response = Message::response_to(&request, 486, "Busy Here");
        assert_eq!(response.status(), Some(486));
        let names: Vec<&[u8]> = response.headers.iter().map(|h| &h.name[..]).collect();
        assert_eq!(
            names,
            vec![
                &b"v"[..],
                b"Via",
                b"f",
                b"To",
                b"i",
                b"CSeq",
                b"Content-Length"
            ]
        );
        assert_eq!(response.headers.values(HeaderKind::Via).len(), 3);
        assert_eq!(response.to_header()?.tag(), None);
        assert!(response.body.is_empty());
        let wire = response.to_bytes();
        assert!(wire.starts_with(b"SIP/2.0 486 Busy Here\r\nv: SIP/2.0/UDP a.example.net"));
        Ok(())
    }
}
