//! `name-addr / addr-spec` followed by header parameters: the value of From, To, Contact,
//! Route and Record-Route (RFC 3261 §20.10, §25.1).

use std::fmt;

use crate::error::ParseError;
use crate::grammar::{is_token_char, is_ws, owned_text, quoted_end, trim, unquote};
use crate::params::{self, parse_header_params};
use crate::uri::Uri;
use crate::Text;

/// An address with an optional display name and header parameters (`tag`, `expires`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name with quotes and escapes removed.
    pub display: Option<Text>,
    pub uri: Uri,
    pub params: Vec<(Text, Option<Text>)>,
}

fn invalid(detail: &'static str) -> ParseError {
    ParseError::InvalidNameAddr { detail }
}

impl NameAddr {
    /// Parses either `[display] <uri> *(;param)` or the bare `uri *(;param)` form.
    pub fn parse(text: &[u8]) -> Result<NameAddr, ParseError> {
        let s = trim(text);
        if s.is_empty() {
            return Err(invalid("empty address"));
        }
        if s.first() == Some(&b'"') {
            let end =
                quoted_end(s, 0).ok_or_else(|| invalid("unterminated quoted display name"))?;
            let display = owned_text(&unquote(s.get(..end).unwrap_or_default()));
            let rest = s.get(end..).unwrap_or_default();
            let rest = rest.get(rest.iter().take_while(|&&b| is_ws(b)).count()..);
            return match rest {
                Some([b'<', ..]) => bracketed(Some(display), rest.unwrap_or_default()),
                _ => Err(invalid("expected '<' after the display name")),
            };
        }
        match memchr::memchr(b'<', s) {
            Some(open) => {
                let display = trim(s.get(..open).unwrap_or_default());
                // Unquoted display names are `*(token LWS)`; octets above ASCII are let through
                // for peers that send raw UTF-8 names, as they cannot be mistaken for syntax.
                if !display
                    .iter()
                    .all(|&b| is_token_char(b) || is_ws(b) || b >= 0x80)
                {
                    return Err(invalid(
                        "display name with non-token characters must be quoted",
                    ));
                }
                let display = (!display.is_empty()).then(|| owned_text(display));
                bracketed(display, s.get(open..).unwrap_or_default())
            }
            None => bare(s),
        }
    }

    /// The `tag` parameter of an address header's value (From, To) that validation has
    /// accepted, found without parsing the address: the header's parameters are what follows
    /// the address outside quotes and `<>`.
    pub fn tag_in(value: &[u8]) -> Option<&str> {
        let mut i = 0;
        let mut params_start = None;
        let mut in_brackets = false;
        while let Some(&b) = value.get(i) {
            match b {
                b'"' if !in_brackets => {
                    i = quoted_end(value, i)?;
                    continue;
                }
                b'<' => in_brackets = true,
                b'>' => in_brackets = false,
                b';' if !in_brackets => {
                    params_start = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let params = value.get(params_start?..)?;
        params.split(|&b| b == b';').find_map(|param| {
            let (name, tag) = std::str::from_utf8(param).ok()?.split_once('=')?;
            name.trim().eq_ignore_ascii_case("tag").then(|| tag.trim())
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// Looks a header parameter up by name, ignoring case.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        params::find(&self.params, name)
    }

    /// Sets a header parameter (replacing one of the same name), e.g. the To tag.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        params::set(&mut self.params, name, value);
    }
}

/// `<uri> *(;param)`, with `s` starting at the `<`.
fn bracketed(display: Option<Text>, s: &[u8]) -> Result<NameAddr, ParseError> {
    let close = memchr::memchr(b'>', s).ok_or_else(|| invalid("missing '>'"))?;
    let uri = Uri::parse(s.get(1..close).unwrap_or_default())?;
    let params = parse_header_params(s.get(close + 1..).unwrap_or_default())?;
    Ok(NameAddr {
        display,
        uri,
        params,
    })
}

/// `addr-spec *(;param)`: the URI ends at the first `;` or white space, so any `;` belongs to
/// the header; a URI with `?` or `,` must be enclosed in `<>` (RFC 3261 §20).
fn bare(s: &[u8]) -> Result<NameAddr, ParseError> {
    let end = s
        .iter()
        .position(|&b| b == b';' || is_ws(b))
        .unwrap_or(s.len());
    let uri_text = s.get(..end).unwrap_or_default();
    if uri_text.iter().any(|&b| b == b'?' || b == b',') {
        return Err(invalid("uri with '?' or ',' must be enclosed in '<>'"));
    }
    let uri = Uri::parse(uri_text)?;
    let params = parse_header_params(s.get(end..).unwrap_or_default())?;
    Ok(NameAddr {
        display: None,
        uri,
        params,
    })
}

impl NameAddr {
    /// The address as header text, built without the formatter: always the bracketed form,
    /// which is correct whatever the URI and parameters hold.
    pub fn to_text(&self) -> String {
        let display = self.display.as_ref().map_or(0, |d| d.len() + 4);
        let size = display + self.uri.text_len() + 2 + params::text_len(&self.params);
        let mut text = String::with_capacity(size);
        if let Some(display) = &self.display {
            text.push('"');
            for c in display.chars() {
                match c {
                    // Line breaks cannot be escaped inside a quoted string.
                    '\r' | '\n' => text.push(' '),
                    '"' | '\\' => {
                        text.push('\\');
                        text.push(c);
                    }
                    c if c.is_ascii_control() && c != '\t' => {
                        text.push('\\');
                        text.push(c);
                    }
                    c => text.push(c),
                }
            }
            text.push_str("\" ");
        }
        text.push('<');
        self.uri.push_to(&mut text);
        text.push('>');
        params::push(&mut text, &self.params);
        text
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<NameAddr, ParseError> {
        NameAddr::parse(s.as_bytes())
    }

    #[test]
    fn quoted_display_with_escapes() -> Result<(), ParseError> {
        let addr = parse(r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#)?;
        assert_eq!(addr.display.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(addr.uri.user.as_deref(), Some("jdrosen"));
        assert_eq!(addr.tag(), Some("98asjd8"));
        assert_eq!(
            addr.to_string(),
            r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
        );
        assert_eq!(NameAddr::parse(addr.to_string().as_bytes())?, addr);
        Ok(())
    }

    #[test]
    fn unquoted_display_and_no_space() -> Result<(), ParseError> {
        let addr = parse("caller<sip:caller@example.com>;tag=323")?;
        assert_eq!(addr.display.as_deref(), Some("caller"));
        let tokens = parse("token1~` token2'+_ token3*%!.- <sip:x@example.com>")?;
        assert_eq!(
            tokens.display.as_deref(),
            Some("token1~` token2'+_ token3*%!.-")
        );
        let quoted = parse("\"caller\"<sip:caller@example.com>")?;
        assert_eq!(quoted.display.as_deref(), Some("caller"));
        Ok(())
    }

    #[test]
    fn addr_spec_form() -> Result<(), ParseError> {
        let addr = parse("sip:vivekg@example.com ;   tag    = 1918181833n")?;
        assert_eq!(addr.display, None);
        assert_eq!(addr.uri.host, "example.com");
        assert!(addr.uri.params.is_empty());
        assert_eq!(addr.tag(), Some("1918181833n"));
        let params_go_to_header = parse("sip:bob@example.com;tag=x;lr")?;
        assert!(params_go_to_header.uri.params.is_empty());
        assert_eq!(params_go_to_header.params.len(), 2);
        assert_eq!(
            params_go_to_header.to_string(),
            "<sip:bob@example.com>;tag=x;lr"
        );
        let opaque = parse("isbn:2983792873")?;
        assert_eq!(opaque.uri.scheme, "isbn");
        Ok(())
    }

    #[test]
    fn control_characters_are_re_escaped() -> Result<(), ParseError> {
        let addr = parse("\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:odd@example.com>")?;
        assert_eq!(addr.display.as_deref(), Some("BEL:\x07 NUL:\x00 DEL:\x7f"));
        let again = NameAddr::parse(addr.to_string().as_bytes())?;
        assert_eq!(again, addr);
        Ok(())
    }

    #[test]
    fn the_tag_is_found_in_the_text_as_parsing_finds_it() -> Result<(), ParseError> {
        for value in [
            "<sip:bob@example.com>;tag=abc",
            "\"Bob;tag=fake\" <sip:bob@example.com;tag=uri> ; TAG = real ;lr",
            "sip:bob@example.com;tag=bare",
            "<sip:bob@example.com>",
            "\"A \\\" quote ;tag=no\" <sip:a@example.com>;expires=5;tag=t1",
            "Bob <sip:bob@example.com;transport=tcp>;lr",
        ] {
            let parsed = parse(value)?;
            assert_eq!(NameAddr::tag_in(value.as_bytes()), parsed.tag(), "{value}");
        }
        Ok(())
    }

    #[test]
    fn set_tag() -> Result<(), ParseError> {
        let mut addr = parse("Bob <sip:bob@example.com>")?;
        assert_eq!(addr.tag(), None);
        addr.set_param("tag", Some("abc"));
        assert_eq!(addr.to_string(), "\"Bob\" <sip:bob@example.com>;tag=abc");
        addr.set_param("tag", Some("def"));
        assert_eq!(addr.tag(), Some("def"));
        assert_eq!(addr.param("TAG"), Some(Some("def")));
        Ok(())
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "\"Mr. J. User <sip:j.user@example.com>",
            "Bell, Alexander <sip:a.g.bell@example.com>",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "<sip:user@example.com",
            "\"x\" sip:user@example.com",
            "sip:user@example.com?Route=%3Csip:example.net%3E",
            "sip:user@example.com <sip:other@example.com>",
            "<sip:user@example.com>;;",
            "<sip:user@example.com> junk",
            "<im>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
