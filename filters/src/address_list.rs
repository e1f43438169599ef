//! Header values that hold a list of addresses (P-Asserted-Identity and its kin), split at the
//! commas outside quotes and `<>`.

/// The comma-separated addresses of one header line, not splitting inside quotes or `<>`.
pub(crate) fn split_addresses(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut bracketed, mut escaped) = (0, false, false, false);
    for (i, &b) in value.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if quoted => escaped = true,
            b'"' if !bracketed => quoted = !quoted,
            b'<' if !quoted => bracketed = true,
            b'>' if !quoted => bracketed = false,
            b',' if !quoted && !bracketed => {
                parts.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default());
    // An empty element (`a, ,b`) asserts nothing; a header that is empty altogether is refused
    // by NameAddr::parse, as nothing can be bound to the sender.
    let only_one = parts.len() == 1;
    parts
        .into_iter()
        .filter(move |part| only_one || !part.trim_ascii().is_empty())
}
