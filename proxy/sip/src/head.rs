//! The header-section tokenizer: splits the bytes before the body into the start line and
//! header fields, joining continuation lines, without copying. Both [`crate::parse_message`]
//! and the stream framer use it, so the two always agree on where fields and the body are.
//!
//! Lines end in CRLF; a bare LF is accepted as a line end too, as deployed stacks send it.
//! A bare CR anywhere else is rejected, since other parsers may treat it as a line end and so
//! disagree with this one about where headers are.

use std::borrow::Cow;
use std::ops::Range;

use crate::error::ParseError;
use crate::grammar::{is_token, is_ws, trim_range};
use crate::header_kind::HeaderKind;
use crate::limits::Limits;

/// One line: its content (without CR/LF) and where the next line starts.
struct Line {
    content: Range<usize>,
    next: usize,
    bare_cr: bool,
}

/// Reads the line starting at `pos`; `None` when no LF ends it yet.
fn read_line(buf: &[u8], pos: usize) -> Option<Line> {
    let rest = buf.get(pos..)?;
    let lf = memchr::memchr(b'\n', rest)?;
    let mut end = pos + lf;
    if end > pos && buf.get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    let bare_cr = buf
        .get(pos..end)
        .is_some_and(|content| memchr::memchr(b'\r', content).is_some());
    Some(Line {
        content: pos..end,
        next: pos + lf + 1,
        bare_cr,
    })
}

/// A header field as ranges into the buffer.
#[derive(Clone, Debug)]
pub(crate) struct RawField {
    /// Line number (1 is the start line) where the field begins, for error messages.
    pub line: usize,
    pub name: Range<usize>,
    pub kind: HeaderKind,
    /// From the first to the last non-white-space byte of the value, across continuation
    /// lines.
    pub value: Range<usize>,
    /// Whether `value` spans continuation lines and so must be unfolded.
    pub folded: bool,
    /// Bytes from the name to the end of the last continuation line.
    pub span: usize,
}

impl RawField {
    /// The value, unfolded if needed.
    pub fn value<'a>(&self, buf: &'a [u8]) -> Cow<'a, [u8]> {
        let raw = buf.get(self.value.clone()).unwrap_or_default();
        if self.folded {
            Cow::Owned(unfold(raw))
        } else {
            Cow::Borrowed(raw)
        }
    }
}

/// Joins continuation lines: each line break and the white space around it become one SP.
fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for piece in raw.split(|&b| b == b'\n') {
        let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
        let piece = piece.get(trim_range(piece)).unwrap_or_default();
        if piece.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(piece);
    }
    out
}

/// Iterates the header fields after the start line, up to the empty line. A malformed field
/// yields an error item and iteration goes on, so a lenient caller can skip it.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    line: usize,
    /// Set once the empty line is seen: where the body starts.
    body_start: Option<usize>,
    finished: bool,
    /// The line at `pos`, when looking for continuation lines already read it.
    peeked: Option<Line>,
}

impl<'a> Fields<'a> {
    /// Starts at `pos`, the beginning of the line after the start line.
    pub fn new(buf: &'a [u8], pos: usize) -> Self {
        Fields {
            buf,
            pos,
            line: 1,
            body_start: None,
            finished: false,
            peeked: None,
        }
    }

    /// Where the body starts; `None` until iteration has reached the empty line (and forever
    /// if the buffer has none).
    pub fn body_start(&self) -> Option<usize> {
        self.body_start
    }

    fn field(&self, content: Range<usize>, line: usize) -> Result<RawField, ParseError> {
        let text = self.buf.get(content.clone()).unwrap_or_default();
        if text.first().is_some_and(|&b| is_ws(b)) {
            return Err(ParseError::OrphanContinuation { line });
        }
        let colon = memchr::memchr(b':', text).ok_or(ParseError::MissingColon { line })?;
        let name_text = text.get(..colon).unwrap_or_default();
        let name_len = trim_range(name_text).end;
        let name = name_text.get(..name_len).unwrap_or_default();
        if !is_token(name) {
            return Err(ParseError::InvalidHeaderName { line });
        }
        let value_start = content.start + colon + 1;
        let value = trim_range(self.buf.get(value_start..content.end).unwrap_or_default());
        Ok(RawField {
            line,
            name: content.start..content.start + name_len,
            kind: HeaderKind::from_name(name),
            value: value_start + value.start..value_start + value.end,
            folded: false,
            span: content.end - content.start,
        })
    }
}

impl Iterator for Fields<'_> {
    type Item = Result<RawField, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let Some(first) = self.peeked.take().or_else(|| read_line(self.buf, self.pos)) else {
            self.finished = true;
            return None;
        };
        self.line += 1;
        if first.content.is_empty() {
            self.finished = true;
            self.body_start = Some(first.next);
            return None;
        }
        let line = self.line;
        let mut result = if first.bare_cr {
            Err(ParseError::BareCarriageReturn { line })
        } else {
            self.field(first.content.clone(), line)
        };
        let field_start = first.content.start;
        self.pos = first.next;
        // Absorb continuation lines (starting with SP or HTAB) into this field.
        while let Some(next) = read_line(self.buf, self.pos) {
            let starts_with_ws = self.buf.get(next.content.start).is_some_and(|&b| is_ws(b))
                && !next.content.is_empty();
            if !starts_with_ws {
                self.peeked = Some(next);
                break;
            }
            self.line += 1;
            self.pos = next.next;
            if next.bare_cr {
                result = Err(ParseError::BareCarriageReturn { line: self.line });
            }
            if let Ok(field) = &mut result {
                field.span = next.content.end - field_start;
                let piece = trim_range(self.buf.get(next.content.clone()).unwrap_or_default());
                if !piece.is_empty() {
                    let piece_end = next.content.start + piece.end;
                    if field.value.is_empty() {
                        // Nothing on the first line: the value is this line alone, no copy.
                        field.value = next.content.start + piece.start..piece_end;
                    } else {
                        field.value.end = piece_end;
                        field.folded = true;
                    }
                }
            }
        }
        Some(result)
    }
}

/// The header section of a message as ranges into its buffer.
pub(crate) struct RawHead {
    pub start_line: Range<usize>,
    pub fields: Vec<RawField>,
    pub body_start: usize,
}

/// Tokenizes the header section starting at `from` (the start line), enforcing `limits`.
/// `Ok(None)` means no empty line ends the section within `buf`.
pub(crate) fn scan_head(
    buf: &[u8],
    from: usize,
    limits: &Limits,
) -> Result<Option<RawHead>, ParseError> {
    let Some(start) = read_line(buf, from) else {
        return Ok(None);
    };
    if start.content.len() > limits.max_line_bytes {
        return Err(ParseError::LineTooLong {
            line: 1,
            limit: limits.max_line_bytes,
        });
    }
    if start.bare_cr {
        return Err(ParseError::BareCarriageReturn { line: 1 });
    }
    let mut fields = Fields::new(buf, start.next);
    let mut out = Vec::new();
    for field in fields.by_ref() {
        let field = field?;
        if field.span > limits.max_line_bytes {
            return Err(ParseError::LineTooLong {
                line: field.line,
                limit: limits.max_line_bytes,
            });
        }
        if out.len() >= limits.max_headers {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        out.push(field);
    }
    Ok(fields.body_start().map(|body_start| RawHead {
        start_line: start.content,
        fields: out,
        body_start,
    }))
}

/// Reads whatever header section there is, for answering a message the strict scan refused:
/// malformed and over-long fields are skipped, fields past the header limit are ignored, and
/// the end of the buffer ends a section that has no empty line.
pub(crate) fn scan_head_lenient(buf: &[u8], from: usize, limits: &Limits) -> RawHead {
    let Some(start) = read_line(buf, from) else {
        return RawHead {
            start_line: from.min(buf.len())..buf.len(),
            fields: Vec::new(),
            body_start: buf.len(),
        };
    };
    let mut fields = Fields::new(buf, start.next);
    let kept = fields
        .by_ref()
        .flatten()
        .filter(|field| field.span <= limits.max_line_bytes)
        .take(limits.max_headers)
        .collect();
    RawHead {
        start_line: start.content,
        fields: kept,
        body_start: fields.body_start().unwrap_or(buf.len()),
    }
}

/// Skips CRLFs before the start line (RFC 3261 §7.5 says to ignore them).
pub(crate) fn skip_leading_line_ends(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len())
}

/// Parses a Content-Length value: digits only (no sign, no white space inside).
pub(crate) fn parse_content_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Vec<Result<(String, String), ParseError>> {
        let start = read_line(buf, 0).map_or(0, |l| l.next);
        Fields::new(buf, start)
            .map(|f| {
                f.map(|f| {
                    (
                        String::from_utf8_lossy(buf.get(f.name.clone()).unwrap_or_default())
                            .into_owned(),
                        String::from_utf8_lossy(&f.value(buf)).into_owned(),
                    )
                })
            })
            .collect()
    }

    fn ok(name: &str, value: &str) -> Result<(String, String), ParseError> {
        Ok((name.to_owned(), value.to_owned()))
    }

    #[test]
    fn plain_and_folded_fields() {
        let buf = b"INVITE sip:x@example.com SIP/2.0\r\n\
            TO :\r\n sip:vivekg@example.com ;   tag    = 1918181833n\r\n\
            cseq: 0009\r\n  INVITE\r\n\
            NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n\
            s :\r\n\
            Via: SIP/2.0/UDP a.example.com\n\
            \r\nbody";
        assert_eq!(
            fields(buf),
            vec![
                ok("TO", "sip:vivekg@example.com ;   tag    = 1918181833n"),
                ok("cseq", "0009 INVITE"),
                ok(
                    "NewFangledHeader",
                    "newfangled value continued newfangled value"
                ),
                ok("s", ""),
                ok("Via", "SIP/2.0/UDP a.example.com"),
            ]
        );
    }

    #[test]
    fn malformed_fields_do_not_stop_iteration() {
        let buf = b"OPTIONS sip:x SIP/2.0\r\n no field\r\nNoColon\r\nBad Name: x\r\nA: b\rc\r\nOK: yes\r\n\r\n";
        let got = fields(buf);
        assert_eq!(got.len(), 5);
        assert_eq!(
            got.first(),
            Some(&Err(ParseError::OrphanContinuation { line: 2 }))
        );
        assert_eq!(got.get(1), Some(&Err(ParseError::MissingColon { line: 3 })));
        assert_eq!(
            got.get(2),
            Some(&Err(ParseError::InvalidHeaderName { line: 4 }))
        );
        assert_eq!(
            got.get(3),
            Some(&Err(ParseError::BareCarriageReturn { line: 5 }))
        );
        assert_eq!(got.get(4), Some(&ok("OK", "yes")));
    }

    #[test]
    fn scan_finds_body_and_enforces_limits() -> Result<(), ParseError> {
        let buf = b"\r\nOPTIONS sip:x SIP/2.0\r\nA: 1\r\nB: 2\r\n\r\nbody";
        let from = skip_leading_line_ends(buf);
        assert_eq!(from, 2);
        let head =
            scan_head(buf, from, &Limits::default())?.ok_or(ParseError::UnterminatedHeaders)?;
        assert_eq!(buf.get(head.body_start..), Some(&b"body"[..]));
        assert_eq!(head.fields.len(), 2);
        assert_eq!(head.start_line, 2..23);

        let two = Limits {
            max_headers: 1,
            ..Limits::default()
        };
        assert_eq!(
            scan_head(buf, from, &two).err(),
            Some(ParseError::TooManyHeaders { limit: 1 })
        );
        let short = Limits {
            max_line_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            scan_head(buf, from, &short).err(),
            Some(ParseError::LineTooLong { line: 1, limit: 10 })
        );
        assert!(scan_head(b"OPTIONS sip:x SIP/2.0\r\nA: 1\r\n", 0, &Limits::default())?.is_none());
        Ok(())
    }

    #[test]
    fn content_length_values() {
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b"00150"), Some(150));
        assert_eq!(parse_content_length(b"-999"), None);
        assert_eq!(parse_content_length(b"+1"), None);
        assert_eq!(parse_content_length(b"1 2"), None);
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(parse_content_length(b"99999999999999999999999999"), None);
    }
}
