//! Group names from group DNs (`member_of`): the value of the first RDN when it is a `cn`.

/// `cn=Sales\, EMEA,ou=groups,dc=corp` -> `Sales, EMEA`. `None` when the DN does not start with
/// a `cn` (the name would be a guess) or is malformed.
pub(super) fn group_name(dn: &str) -> Option<String> {
    let (kind, rest) = dn.split_once('=')?;
    if !kind.trim().eq_ignore_ascii_case("cn") {
        return None;
    }
    let mut value = Vec::new();
    let mut bytes = rest.trim_start().bytes();
    while let Some(byte) = bytes.next() {
        match byte {
            // The first RDN ends at an unescaped `,` (or `+` for a multi-valued RDN).
            b',' | b'+' => break,
            b'\\' => {
                let first = bytes.next()?;
                match hex(first) {
                    Some(high) => {
                        let low = hex(bytes.next()?)?;
                        value.push(high * 16 + low);
                    }
                    None => value.push(first),
                }
            }
            other => value.push(other),
        }
    }
    let name = String::from_utf8(value).ok()?;
    let name = name.trim_end();
    (!name.is_empty()).then(|| name.to_string())
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}
