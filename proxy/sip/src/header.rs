//! One header field: its name as received, its kind, and its (trimmed, unfolded) value.

use bytes::Bytes;

use crate::header_kind::HeaderKind;

/// A header field line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The name as received (`v`, `VIA`, ...), written back unchanged.
    pub name: Bytes,
    pub kind: HeaderKind,
    /// The value without surrounding white space; folded lines are joined by one space.
    pub value: Bytes,
}

impl Header {
    /// A header of a known kind under its canonical name. Use [`Header::other`] for headers
    /// of kind [`HeaderKind::Other`], which have no canonical name.
    pub fn new(kind: HeaderKind, value: impl Into<Bytes>) -> Header {
        Header {
            name: Bytes::from_static(kind.canonical_name().as_bytes()),
            kind,
            value: single_line(value.into()),
        }
    }

    /// A header by name; its kind is recognised from the name.
    pub fn other(name: &str, value: impl Into<Bytes>) -> Header {
        let name = single_line(Bytes::copy_from_slice(name.as_bytes()));
        Header {
            kind: HeaderKind::from_name(&name),
            name,
            value: single_line(value.into()),
        }
    }
}

/// Replaces line breaks in a value built by the proxy, so that no caller can smuggle an extra
/// header line (or end the header section) through a value.
pub(crate) fn single_line(value: Bytes) -> Bytes {
    if memchr::memchr2(b'\r', b'\n', &value).is_none() {
        return value;
    }
    value
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_uses_canonical_name() {
        let header = Header::new(HeaderKind::CallId, "abc@example.com");
        assert_eq!(header.name, "Call-ID");
        assert_eq!(header.kind, HeaderKind::CallId);
        assert_eq!(header.value, "abc@example.com");
    }

    #[test]
    fn other_recognises_kind() {
        assert_eq!(Header::other("X-Legate", "1").kind, HeaderKind::Other);
        assert_eq!(Header::other("v", "SIP/2.0/UDP h").kind, HeaderKind::Via);
    }

    #[test]
    fn line_breaks_cannot_be_injected() {
        let header = Header::new(HeaderKind::Server, "legate\r\nVia: SIP/2.0/UDP evil");
        assert_eq!(header.value, "legate  Via: SIP/2.0/UDP evil");
        let named = Header::other("X-A\r\nB", "v");
        assert_eq!(named.name, "X-A  B");
    }
}
