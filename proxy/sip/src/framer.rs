//! Stream framing for TCP and TLS (RFC 3261 §18.3): cuts a byte stream into messages using
//! Content-Length, which is mandatory on streams, and reports RFC 5626 keep-alive pings.
//!
//! A connection task reads into [`StreamFramer::buffer_mut`] (or calls
//! [`StreamFramer::extend`]) and then drains [`StreamFramer::next_frame`] until it returns
//! `Ok(None)`. Each [`Frame::Message`] goes to [`crate::parse_message`]; a malformed message
//! whose framing is still clear fails there, and the stream goes on. A [`FramingError`] means
//! the stream cannot be resynchronised: answer if the error's head allows it (see
//! [`crate::parse_head`]), then close the connection.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{reason_phrase_for, snippet};
use crate::grammar::{is_ws, trim};
use crate::head::{parse_content_length, Fields};
use crate::header_kind::HeaderKind;
use crate::limits::Limits;

/// What the framer found at the front of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// One whole message, header section and body.
    Message(Bytes),
    /// A CRLFCRLF ping (RFC 5626 §3.5.1); the caller answers with a CRLF pong.
    KeepAlive,
}

/// Why a stream cannot be framed any further.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FramingError {
    #[error("message on a stream has no content-length")]
    MissingContentLength { head: Bytes },
    #[error("invalid content-length {value:?}")]
    InvalidContentLength { value: String, head: Bytes },
    #[error("message on a stream has {count} content-length headers")]
    DuplicateContentLength { count: usize, head: Bytes },
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        size: usize,
        limit: usize,
        head: Bytes,
    },
    #[error("header section exceeds the limit of {limit} bytes")]
    HeadTooLarge { limit: usize, head: Option<Bytes> },
    #[error("line {line} is longer than {limit} bytes")]
    LineTooLong {
        line: usize,
        limit: usize,
        head: Option<Bytes>,
    },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize, head: Option<Bytes> },
}

impl FramingError {
    /// The header section of the failed message, ending in an empty line and with its
    /// Content-Length lines left out, so that [`crate::parse_message`] (or
    /// [`crate::parse_head`]) reads it as a message without a body and the caller can answer
    /// it. When the section itself was too large it is cut after the last complete line that
    /// fit; `None` when not even the start line was complete.
    pub fn head(&self) -> Option<Bytes> {
        match self {
            FramingError::MissingContentLength { head }
            | FramingError::InvalidContentLength { head, .. }
            | FramingError::DuplicateContentLength { head, .. }
            | FramingError::MessageTooLarge { head, .. } => Some(head.clone()),
            FramingError::HeadTooLarge { head, .. }
            | FramingError::LineTooLong { head, .. }
            | FramingError::TooManyHeaders { head, .. } => head.clone(),
        }
    }

    /// The status to answer with: 513 for size limits, 400 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            FramingError::MessageTooLarge { .. } | FramingError::HeadTooLarge { .. } => 513,
            _ => 400,
        }
    }

    pub fn reason_phrase(&self) -> &'static str {
        reason_phrase_for(self.status_code())
    }
}

/// How far the search for the end of the current message's header section has got, so that
/// bytes arriving one at a time are scanned once, not again on every call.
#[derive(Debug, Default)]
struct Scan {
    /// Where to resume looking for a line end.
    pos: usize,
    /// Start of the line not yet ended.
    line_start: usize,
    /// Complete lines so far, the start line included.
    lines: usize,
    /// Header field lines so far (continuation lines excluded).
    fields: usize,
    /// Length of the whole message, once its header section is complete.
    frame_len: Option<usize>,
}

/// Where a stream stands between reads, for the deadlines of a message in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// No message started (nothing buffered, or line ends that may become a ping).
    Between,
    /// A message's header section has begun and has not ended.
    Head,
    /// The header section has ended; the body is not complete.
    Body,
}

/// Cuts a byte stream into messages.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
    scan: Scan,
    failed: Option<FramingError>,
}

const PING: &[u8] = b"\r\n\r\n";

impl StreamFramer {
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            buf: BytesMut::with_capacity(4096),
            limits,
            scan: Scan::default(),
            failed: None,
        }
    }

    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The receive buffer, for reading straight into it. Only append to it.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Where the stream stands, once [`StreamFramer::next_frame`] has returned `Ok(None)`.
    pub fn progress(&self) -> Progress {
        if self.scan.frame_len.is_some() {
            Progress::Body
        } else if matches!(self.buf.first(), None | Some(b'\r' | b'\n')) {
            Progress::Between
        } else {
            Progress::Head
        }
    }

    /// The next frame: `Ok(None)` when more bytes are needed. After an error the stream is
    /// beyond repair and every later call returns the same error.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.advance();
        if let Err(error) = &result {
            self.failed = Some(error.clone());
            self.buf.clear();
        }
        result
    }

    fn advance(&mut self) -> Result<Option<Frame>, FramingError> {
        if self.scan.pos == 0 && self.scan.frame_len.is_none() {
            if let Some(frame) = self.skip_line_ends() {
                return Ok(frame);
            }
        }
        let frame_len = match self.scan.frame_len {
            Some(len) => len,
            None => match self.find_head_end()? {
                Some(head_end) => {
                    let len = self.frame_len(head_end)?;
                    self.scan.frame_len = Some(len);
                    len
                }
                None => return Ok(None),
            },
        };
        if self.buf.len() < frame_len {
            return Ok(None);
        }
        self.scan = Scan::default();
        Ok(Some(Frame::Message(self.buf.split_to(frame_len).freeze())))
    }

    /// Handles what may precede a message: a CRLFCRLF ping is reported, other line ends are
    /// dropped (RFC 3261 §7.5). `Some(None)` means wait: the bytes so far may be the start of
    /// a ping.
    fn skip_line_ends(&mut self) -> Option<Option<Frame>> {
        loop {
            if self.buf.starts_with(PING) {
                self.buf.advance(PING.len());
                return Some(Some(Frame::KeepAlive));
            }
            match self.buf.first() {
                None => return Some(None),
                Some(b'\r' | b'\n') if PING.starts_with(&self.buf) => return Some(None),
                Some(b'\r') if self.buf.get(1) == Some(&b'\n') => self.buf.advance(2),
                Some(b'\r' | b'\n') => self.buf.advance(1),
                Some(_) => return None,
            }
        }
    }

    /// Scans new bytes for the empty line that ends the header section, enforcing the limits
    /// as lines complete. Returns where the body starts.
    fn find_head_end(&mut self) -> Result<Option<usize>, FramingError> {
        let limits = self.limits;
        while let Some(offset) = self
            .buf
            .get(self.scan.pos..)
            .and_then(|rest| memchr::memchr(b'\n', rest))
        {
            let lf = self.scan.pos + offset;
            let start = self.scan.line_start;
            let mut end = lf;
            if end > start && self.buf.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            if end - start > limits.max_line_bytes {
                return Err(FramingError::LineTooLong {
                    line: self.scan.lines + 1,
                    limit: limits.max_line_bytes,
                    head: self.partial_head(),
                });
            }
            if end == start {
                return Ok(Some(lf + 1));
            }
            let continuation = self.buf.get(start).is_some_and(|&b| is_ws(b));
            if self.scan.lines > 0 && !continuation {
                self.scan.fields += 1;
                if self.scan.fields > limits.max_headers {
                    return Err(FramingError::TooManyHeaders {
                        limit: limits.max_headers,
                        head: self.partial_head(),
                    });
                }
            }
            self.scan.lines += 1;
            self.scan.pos = lf + 1;
            self.scan.line_start = lf + 1;
        }
        self.scan.pos = self.buf.len();
        if self.buf.len().saturating_sub(self.scan.line_start) > limits.max_line_bytes {
            return Err(FramingError::LineTooLong {
                line: self.scan.lines + 1,
                limit: limits.max_line_bytes,
                head: self.partial_head(),
            });
        }
        if self.buf.len() > limits.max_message_bytes {
            return Err(FramingError::HeadTooLarge {
                limit: limits.max_message_bytes,
                head: self.partial_head(),
            });
        }
        Ok(None)
    }

    /// The complete lines scanned so far, closed with an empty line; `None` before the start
    /// line is complete.
    fn partial_head(&self) -> Option<Bytes> {
        if self.scan.lines == 0 {
            return None;
        }
        let lines = self.buf.get(..self.scan.line_start)?;
        let mut head = BytesMut::from(&without_content_length(lines)[..]);
        head.extend_from_slice(b"\r\n");
        Some(head.freeze())
    }

    /// The length of the message whose header section ends at `head_end`, from its
    /// Content-Length. Header lines too malformed to read are skipped here; parsing the frame
    /// reports them, and the stream stays in step.
    fn frame_len(&mut self, head_end: usize) -> Result<usize, FramingError> {
        let head = self.buf.get(..head_end).unwrap_or_default();
        let after_start_line = memchr::memchr(b'\n', head).map_or(head.len(), |lf| lf + 1);
        let mut values = Fields::new(head, after_start_line)
            .flatten()
            .filter(|field| field.kind == HeaderKind::ContentLength)
            .map(|field| field.value(head).into_owned());
        let (first, extra) = (values.next(), values.count());
        let head_bytes = || without_content_length(head);
        let Some(value) = first else {
            return Err(FramingError::MissingContentLength { head: head_bytes() });
        };
        if extra > 0 {
            return Err(FramingError::DuplicateContentLength {
                count: extra + 1,
                head: head_bytes(),
            });
        }
        let Some(length) = parse_content_length(&value) else {
            return Err(FramingError::InvalidContentLength {
                value: snippet(&value),
                head: head_bytes(),
            });
        };
        let size = head_end.saturating_add(length);
        if size > self.limits.max_message_bytes {
            return Err(FramingError::MessageTooLarge {
                size,
                limit: self.limits.max_message_bytes,
                head: head_bytes(),
            });
        }
        Ok(size)
    }
}

/// A copy of a header section without its Content-Length fields (continuation lines
/// included): the framing they describe is the one that failed, and without them the section
/// parses as a message with no body.
fn without_content_length(head: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(head.len());
    let mut skipping = false;
    for (index, line) in head.split_inclusive(|&b| b == b'\n').enumerate() {
        let continuation = line.first().is_some_and(|&b| is_ws(b));
        if !continuation {
            skipping = index > 0
                && memchr::memchr(b':', line)
                    .and_then(|colon| line.get(..colon))
                    .is_some_and(|name| {
                        HeaderKind::from_name(trim(name)) == HeaderKind::ContentLength
                    });
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParseError;
    use crate::parse::{parse_head, parse_message};

    fn message(call_id: &str, body: &str) -> String {
        format!(
            "MESSAGE sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/TCP a.example.net;branch=z9hG4bK{call_id}\r\n\
             To: <sip:bob@example.com>\r\n\
             From: <sip:alice@example.net>;tag=a\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Length: {}\r\n\
             \r\n{body}",
            body.len()
        )
    }

    fn drain(framer: &mut StreamFramer) -> Result<Vec<Frame>, FramingError> {
        let mut frames = Vec::new();
        while let Some(frame) = framer.next_frame()? {
            frames.push(frame);
        }
        Ok(frames)
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn two_messages_in_one_read() -> TestResult {
        let (a, b) = (message("one", "hello"), message("two", ""));
        let mut framer = StreamFramer::new(Limits::default());
        framer.extend(format!("{a}{b}").as_bytes());
        let frames = drain(&mut framer)?;
        assert_eq!(
            frames,
            vec![
                Frame::Message(Bytes::from(a.clone())),
                Frame::Message(Bytes::from(b))
            ]
        );
        let Some(Frame::Message(first)) = frames.first() else {
            return Err("no frame".into());
        };
        let parsed = parse_message(first.clone(), &Limits::default())?;
        assert_eq!(parsed.body, "hello");
        Ok(())
    }

    #[test]
    fn split_byte_by_byte() -> TestResult {
        let text = format!("{}{}", message("one", "x\r\n\r\ny"), message("two", "z"));
        let mut framer = StreamFramer::new(Limits::default());
        let mut frames = Vec::new();
        for byte in text.as_bytes() {
            framer.buffer_mut().extend_from_slice(&[*byte]);
            frames.extend(drain(&mut framer)?);
        }
        assert_eq!(frames.len(), 2);
        let bodies: Vec<Bytes> = frames
            .into_iter()
            .filter_map(|f| match f {
                Frame::Message(bytes) => parse_message(bytes, &Limits::default()).ok(),
                Frame::KeepAlive => None,
            })
            .map(|m| m.body)
            .collect();
        assert_eq!(
            bodies,
            vec![Bytes::from_static(b"x\r\n\r\ny"), Bytes::from_static(b"z")]
        );
        Ok(())
    }

    #[test]
    fn progress_follows_a_message_byte_by_byte() -> TestResult {
        let text = message("one", "body");
        let head_end = text.find("\r\n\r\n").map_or(0, |at| at + 4);
        let mut framer = StreamFramer::new(Limits::default());
        framer.extend(b"\r\n");
        drain(&mut framer)?;
        assert_eq!(
            framer.progress(),
            Progress::Between,
            "line ends, maybe a ping"
        );
        for (at, byte) in text.bytes().enumerate() {
            framer.extend(&[byte]);
            let frames = drain(&mut framer)?;
            let expected = if at + 1 == text.len() {
                assert_eq!(frames.len(), 1);
                Progress::Between
            } else if at + 1 >= head_end {
                Progress::Body
            } else {
                Progress::Head
            };
            assert_eq!(framer.progress(), expected, "after byte {at}");
        }
        Ok(())
    }

    #[test]
    fn keep_alives() -> TestResult {
        let mut framer = StreamFramer::new(Limits::default());
        framer.extend(b"\r\n\r\n\r\n\r\n\r\n");
        assert_eq!(
            drain(&mut framer)?,
            vec![Frame::KeepAlive, Frame::KeepAlive]
        );
        // A lone CRLF (a pong) may be the start of a ping: wait for more.
        assert_eq!(framer.next_frame()?, None);
        framer.extend(message("one", "").as_bytes());
        let frames = drain(&mut framer)?;
        assert!(matches!(frames.as_slice(), [Frame::Message(_)]));
        framer.extend(b"\r\n\r");
        assert_eq!(framer.next_frame()?, None);
        framer.extend(b"\n");
        assert_eq!(framer.next_frame()?, Some(Frame::KeepAlive));
        Ok(())
    }

    #[test]
    fn missing_content_length_is_fatal() -> TestResult {
        let text = message("one", "").replace("Content-Length: 0\r\n", "");
        let mut framer = StreamFramer::new(Limits::default());
        framer.extend(text.as_bytes());
        let error = framer.next_frame().err().ok_or("expected an error")?;
        assert!(matches!(error, FramingError::MissingContentLength { .. }));
        assert_eq!(error.status_code(), 400);
        // The head is enough to build the 400.
        let head = error.head().ok_or("no head")?;
        let request = parse_message(head, &Limits::default())?;
        assert_eq!(request.call_id().map(|c| &c[..]), Some(&b"one"[..]));
        // The stream stays failed.
        framer.extend(message("two", "").as_bytes());
        assert!(framer.next_frame().is_err());
        Ok(())
    }

    #[test]
    fn bad_content_lengths_are_fatal_but_answerable() -> TestResult {
        for (from, to) in [
            ("Content-Length: 0", "Content-Length: -1"),
            ("Content-Length: 0", "Content-Length:\r\n -1"),
            ("Content-Length: 0", "Content-Length: 0\r\nl: 0"),
        ] {
            let text = message("one", "").replace(from, to);
            let mut framer = StreamFramer::new(Limits::default());
            framer.extend(text.as_bytes());
            let error = framer.next_frame().err().ok_or("expected an error")?;
            assert_eq!(error.status_code(), 400);
            let head = error.head().ok_or("no head")?;
            let request = parse_message(head, &Limits::default())?;
            assert_eq!(request.headers.len(), 5, "{to}");
        }
        Ok(())
    }

    #[test]
    fn malformed_header_keeps_framing() -> TestResult {
        let bad = message("one", "abc").replace("CSeq: 1 MESSAGE\r\n", "CSeq 1 MESSAGE\r\n");
        let mut framer = StreamFramer::new(Limits::default());
        framer.extend(format!("{bad}{}", message("two", "")).as_bytes());
        let frames = drain(&mut framer)?;
        assert_eq!(frames.len(), 2);
        let Some(Frame::Message(first)) = frames.first() else {
            return Err("no frame".into());
        };
        assert!(matches!(
            parse_message(first.clone(), &Limits::default()),
            Err(ParseError::MissingColon { .. })
        ));
        Ok(())
    }

    #[test]
    fn oversize_body() -> TestResult {
        let limits = Limits {
            max_message_bytes: 1000,
            ..Limits::default()
        };
        let mut framer = StreamFramer::new(limits);
        framer.extend(message("one", &"x".repeat(1000)).as_bytes());
        let error = framer.next_frame().err().ok_or("expected an error")?;
        assert!(matches!(error, FramingError::MessageTooLarge { .. }));
        assert_eq!(
            (error.status_code(), error.reason_phrase()),
            (513, "Message Too Large")
        );
        let head = error.head().ok_or("no head")?;
        let request = parse_message(head, &Limits::default())?;
        assert_eq!(request.headers.count(HeaderKind::ContentLength), 0);
        assert_eq!(request.call_id().map(|c| &c[..]), Some(&b"one"[..]));
        Ok(())
    }

    #[test]
    fn oversize_head() -> TestResult {
        let limits = Limits {
            max_message_bytes: 2000,
            ..Limits::default()
        };
        let mut framer = StreamFramer::new(limits);
        let mut text = message("one", "");
        text.truncate(text.len() - 4);
        framer.extend(text.as_bytes());
        for i in 0..100 {
            framer.extend(format!("\r\nX-Filler-{i}: abcdefghijklmnopqrstuvwxyz").as_bytes());
            if let Err(error) = framer.next_frame() {
                assert!(matches!(error, FramingError::HeadTooLarge { .. }));
                let head = error.head().ok_or("no head")?;
                assert!(head.len() <= 2002);
                let request = parse_head(head, &limits)?;
                assert_eq!(request.call_id().map(|c| &c[..]), Some(&b"one"[..]));
                return Ok(());
            }
        }
        Err("no error".into())
    }

    #[test]
    fn long_line_and_many_headers() -> TestResult {
        let limits = Limits {
            max_line_bytes: 100,
            max_headers: 10,
            ..Limits::default()
        };
        let mut framer = StreamFramer::new(limits);
        framer.extend(b"OPTIONS sip:bob@example.com SIP/2.0\r\nX: ");
        framer.extend(&[b'a'; 200]);
        assert!(matches!(
            framer.next_frame(),
            Err(FramingError::LineTooLong { line: 2, .. })
        ));

        let mut framer = StreamFramer::new(limits);
        framer.extend(b"OPTIONS sip:bob@example.com SIP/2.0\r\n");
        for i in 0..11 {
            framer.extend(format!("X-{i}: {i}\r\n").as_bytes());
        }
        let error = framer.next_frame().err().ok_or("expected an error")?;
        assert!(matches!(
            error,
            FramingError::TooManyHeaders { limit: 10, .. }
        ));
        let head = error.head().ok_or("no head")?;
        assert_eq!(parse_head(head, &limits)?.headers.len(), 10);
        Ok(())
    }
}
