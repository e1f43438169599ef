//! `;name[=value]` parameter lists: the header-field form (`generic-param`, with white space
//! allowed around `;` and `=`, and quoted values) used after a name-addr and in Via, plus the
//! lookup, update and display helpers every parameterised type shares.

use crate::error::ParseError;
use crate::grammar::{is_token_char, owned_text, quoted_end, Cursor};
use crate::Text;

/// Parameters in order, names as written; a value-less parameter has `None`. Quoted values
/// keep their quotes so that they are written back unchanged.
pub(crate) type Params = Vec<(Text, Option<Text>)>;

fn invalid(detail: &'static str) -> ParseError {
    ParseError::InvalidParameter { detail }
}

/// Parses `*( SEMI generic-param )` to the end of `s`; anything else left over is an error.
pub(crate) fn parse_header_params(s: &[u8]) -> Result<Params, ParseError> {
    let mut cursor = Cursor::new(s);
    let mut params = Params::new();
    loop {
        cursor.skip_ws();
        if cursor.at_end() {
            return Ok(params);
        }
        if !cursor.eat(b';') {
            return Err(invalid("expected ';' before a parameter"));
        }
        cursor.skip_ws();
        let name = cursor.take_while(is_token_char);
        if name.is_empty() {
            return Err(invalid("empty parameter name"));
        }
        cursor.skip_ws();
        let value = if cursor.eat(b'=') {
            cursor.skip_ws();
            Some(read_value(&mut cursor)?)
        } else {
            None
        };
        params.push((ascii(name), value));
    }
}

/// `gen-value = token / host / quoted-string`.
fn read_value(cursor: &mut Cursor<'_>) -> Result<Text, ParseError> {
    if cursor.peek() == Some(b'"') {
        let rest = cursor.rest();
        let end =
            quoted_end(rest, 0).ok_or_else(|| invalid("unterminated quoted parameter value"))?;
        let value = owned_text(rest.get(..end).unwrap_or_default());
        cursor.advance(end);
        return Ok(value);
    }
    // Token characters plus what an IPv6 host adds.
    let value = cursor.take_while(|b| is_token_char(b) || matches!(b, b'[' | b']' | b':'));
    if value.is_empty() {
        return Err(invalid("empty parameter value"));
    }
    Ok(ascii(value))
}

/// Bytes already checked to be ASCII, as a String.
pub(crate) fn ascii(bytes: &[u8]) -> Text {
    owned_text(bytes)
}

/// Looks a parameter up by name, ignoring case.
pub(crate) fn find<'a>(params: &'a Params, name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Replaces the value of a parameter (matched ignoring case) or appends it.
pub(crate) fn set(params: &mut Params, name: &str, value: Option<&str>) {
    let value = value.map(Text::new);
    match params
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(slot) => slot.1 = value,
        None => params.push((Text::new(name), value)),
    }
}

/// Appends `;name[=value]` for each parameter.
pub(crate) fn push(text: &mut String, params: &Params) {
    for (name, value) in params {
        text.push(';');
        text.push_str(name);
        if let Some(value) = value {
            text.push('=');
            text.push_str(value);
        }
    }
}

/// The bytes [`push`] appends.
pub(crate) fn text_len(params: &Params) -> usize {
    params
        .iter()
        .map(|(name, value)| 2 + name.len() + value.as_ref().map_or(0, Text::len))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: Option<&str>) -> (Text, Option<Text>) {
        (Text::new(name), value.map(Text::new))
    }

    #[test]
    fn header_params_with_white_space() -> Result<(), ParseError> {
        let params =
            parse_header_params(b" ;   tag    = 1918181833n ; lr;maddr=[2001:db8::1] ; q = 0.33")?;
        assert_eq!(
            params,
            vec![
                p("tag", Some("1918181833n")),
                p("lr", None),
                p("maddr", Some("[2001:db8::1]")),
                p("q", Some("0.33")),
            ]
        );
        assert_eq!(parse_header_params(b"")?, vec![]);
        Ok(())
    }

    #[test]
    fn quoted_values_keep_quotes() -> Result<(), ParseError> {
        let params = parse_header_params(b";x=\"a;b \\\" c\";y")?;
        assert_eq!(params, vec![p("x", Some("\"a;b \\\" c\"")), p("y", None)]);
        Ok(())
    }

    #[test]
    fn bad_params() {
        for bad in [
            &b";;"[..],
            b";",
            b";a=",
            b";a=\"open",
            b"x",
            b";a b",
            b";a=b c",
            b";a=<b>",
        ] {
            assert!(
                parse_header_params(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn find_and_set() {
        let mut params = vec![p("Tag", Some("1")), p("lr", None)];
        assert_eq!(find(&params, "tag"), Some(Some("1")));
        assert_eq!(find(&params, "LR"), Some(None));
        assert_eq!(find(&params, "x"), None);
        set(&mut params, "TAG", Some("2"));
        set(&mut params, "received", Some("192.0.2.1"));
        set(&mut params, "lr", None);
        assert_eq!(
            params,
            vec![
                p("Tag", Some("2")),
                p("lr", None),
                p("received", Some("192.0.2.1"))
            ]
        );
    }
}
