//! Character classes and small scanners from the RFC 3261 grammar (§25.1), shared by every
//! parser in this crate: tokens, linear white space, quoted strings and comma-separated lists.

use crate::Text;
use std::ops::Range;

/// `token` characters: alphanumerics and `-.!%*_+`'~`.
pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

/// [`is_token_char`] for every byte, computed once: parameters are scanned byte by byte, and a
/// table lookup is one load where the comparisons were a dozen branches.
static TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        b += 1;
    }
    table
};

/// `bytes` as an owned string: copied as is when they are UTF-8 (the fast path, and for what
/// the grammar already limited to ASCII, the only one), with U+FFFD for what is not.
pub(crate) fn owned_text(bytes: &[u8]) -> Text {
    match std::str::from_utf8(bytes) {
        Ok(text) => Text::new(text),
        Err(_) => Text::from(String::from_utf8_lossy(bytes)),
    }
}

/// A non-empty run of token characters.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token_char(b))
}

/// `unreserved` URI characters: alphanumerics and `-_.!~*'()`.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Space or horizontal tab, the only white space left once lines are unfolded.
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The range of `s` without leading and trailing white space.
pub(crate) fn trim_range(s: &[u8]) -> Range<usize> {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ws(b)).map_or(start, |i| i + 1);
    start..end
}

/// `s` without leading and trailing white space.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    s.get(trim_range(s)).unwrap_or_default()
}

/// Checks that every `%` in `s` starts a `%HH` escape.
pub(crate) fn escapes_are_valid(s: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            let hex = |j: usize| s.get(j).is_some_and(|c| c.is_ascii_hexdigit());
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// Given `s[start] == b'"'`, the index just past the closing quote, honouring `\` escapes;
/// `None` when the quoted string is not terminated.
pub(crate) fn quoted_end(s: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Removes the quotes and `\` escapes of a quoted string (given with its quotes).
pub(crate) fn unquote(s: &[u8]) -> Vec<u8> {
    let inner = s.get(1..s.len().saturating_sub(1)).unwrap_or_default();
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' {
            if let Some(&escaped) = bytes.next() {
                out.push(escaped);
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// Splits a header value at the commas that separate list elements, skipping commas inside
/// quoted strings and `<...>`. Yields the trimmed range of every element, empty ones included,
/// so that callers can decide whether `a,,b` is an error.
pub(crate) fn split_list(s: &[u8]) -> ListSplit<'_> {
    ListSplit {
        s,
        pos: 0,
        done: false,
    }
}

pub(crate) struct ListSplit<'a> {
    s: &'a [u8],
    pos: usize,
    done: bool,
}

impl Iterator for ListSplit<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let mut i = start;
        let mut in_angle = false;
        // Only quotes, angle brackets and (outside `<...>`) commas matter: jump between them.
        let end = loop {
            let rest = self.s.get(i..).unwrap_or_default();
            let next = match in_angle {
                true => memchr::memchr2(b'"', b'>', rest),
                false => memchr::memchr3(b'"', b'<', b',', rest),
            };
            let Some(offset) = next else {
                self.done = true;
                break i.max(self.s.len());
            };
            i += offset;
            match self.s.get(i) {
                Some(b'"') => {
                    // An unterminated quote swallows the rest; the element parser reports it.
                    i = quoted_end(self.s, i).unwrap_or(self.s.len());
                }
                Some(b'<') => {
                    in_angle = true;
                    i += 1;
                }
                Some(b'>') => {
                    in_angle = false;
                    i += 1;
                }
                _ => {
                    self.pos = i + 1;
                    break i;
                }
            }
        };
        let element = self.s.get(start..end).unwrap_or_default();
        let trimmed = trim_range(element);
        Some(start + trimmed.start..start + trimmed.end)
    }
}

/// A read position over bytes, for the hand-written recursive-descent parsers.
pub(crate) struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    #[cfg(test)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.s.len());
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips white space and reports whether there was any.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes the longest run of bytes matching `f`.
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let taken = rest.iter().position(|&b| !f(b)).unwrap_or(rest.len());
        self.pos += taken;
        rest.get(..taken).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(s: &str) -> Vec<&str> {
        split_list(s.as_bytes())
            .map(|r| s.get(r).unwrap_or("?"))
            .collect()
    }

    #[test]
    fn tokens() {
        assert!(is_token(b"INVITE"));
        assert!(is_token(b"!interesting-Method0123456789_*+`.%indeed'~"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a,b"));
    }

    #[test]
    fn trimming() {
        assert_eq!(trim(b" \t a b \t"), b"a b");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim(b""), b"");
    }

    #[test]
    fn escapes() {
        assert!(escapes_are_valid(b"a%20b%00"));
        assert!(!escapes_are_valid(b"a%2"));
        assert!(!escapes_are_valid(b"%ZZ"));
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted_end(br#""a\"b" rest"#, 0), Some(6));
        assert_eq!(quoted_end(br#""unterminated"#, 0), None);
        assert_eq!(quoted_end(br#""ends in escape\"#, 0), None);
        assert_eq!(
            unquote(br#""J Rosenberg \\\"""#),
            br#"J Rosenberg \""#.to_vec()
        );
    }

    #[test]
    fn lists_respect_quotes_and_angles() {
        assert_eq!(
            elements(r#" "a, b" <sip:x@y;p=1,2> , <sip:z> ,, last "#),
            vec![r#""a, b" <sip:x@y;p=1,2>"#, "<sip:z>", "", "last"]
        );
        assert_eq!(elements(""), vec![""]);
        assert_eq!(elements(r#"a, "open"#), vec!["a", r#""open"#]);
    }

    #[test]
    fn cursor() {
        let mut c = Cursor::new(b"  abc;d");
        assert!(c.skip_ws());
        assert_eq!(c.take_while(|b| b.is_ascii_alphabetic()), b"abc");
        assert!(c.eat(b';'));
        assert!(!c.eat(b';'));
        assert_eq!(c.rest(), b"d");
        c.advance(10);
        assert!(c.at_end());
        assert_eq!(c.peek(), None);
    }
}
