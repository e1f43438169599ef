//! The query of `GET /v1/snapshot`.

/// `node` and `version` (0 when absent) of `node=<id>&version=<v>`; `Err` says what is wrong.
pub fn snapshot_query(query: Option<&str>) -> Result<(String, u64), &'static str> {
    let mut node = None;
    let mut version = 0;
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "node" => node = Some(percent_decode(value).ok_or("`node` is not valid UTF-8")?),
            "version" => version = value.parse().map_err(|_| "`version` is not a number")?,
            _ => {}
        }
    }
    let node = node.ok_or("`node` is missing")?;
    Ok((node, version))
}

/// `%XX` escapes and `+` as a space; `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| byte == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                index += 3;
            }
            None => {
                out.push(if byte == b'+' { b' ' } else { byte });
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_and_version_are_read() {
        assert_eq!(
            snapshot_query(Some("node=edge%2D1&version=42")),
            Ok(("edge-1".into(), 42))
        );
        assert_eq!(snapshot_query(Some("node=a")), Ok(("a".into(), 0)));
    }

    #[test]
    fn bad_queries_are_refused() {
        assert!(snapshot_query(None).is_err());
        assert!(snapshot_query(Some("version=1")).is_err());
        assert!(snapshot_query(Some("node=a&version=-1")).is_err());
        assert!(snapshot_query(Some("node=%ff")).is_err());
        // A lone or cut escape is kept as written.
        assert_eq!(snapshot_query(Some("node=a%2")), Ok(("a%2".into(), 0)));
    }
}
