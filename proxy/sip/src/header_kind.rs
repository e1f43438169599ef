//! Header field names the proxy cares about, recognised case-insensitively and in their compact
//! forms (RFC 3261 §7.3.3), so that the rest of the code can match on a small enum instead of
//! comparing strings.

/// The kind of a header field, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    Via,
    From,
    To,
    CallId,
    CSeq,
    MaxForwards,
    ContentLength,
    ContentType,
    Contact,
    Route,
    RecordRoute,
    Expires,
    Event,
    SubscriptionState,
    Require,
    ProxyRequire,
    Supported,
    Unsupported,
    Allow,
    Warning,
    RetryAfter,
    UserAgent,
    Server,
    /// Any header the proxy does not interpret; its name is kept as received.
    Other,
}

/// Longest name worth lowering for lookup; anything longer is `Other`.
const MAX_KNOWN_NAME: usize = 24;

impl HeaderKind {
    /// Recognises a header name, ignoring case and accepting compact forms.
    pub fn from_name(name: &[u8]) -> HeaderKind {
        let mut lower = [0u8; MAX_KNOWN_NAME];
        let Some(slot) = lower.get_mut(..name.len()) else {
            return HeaderKind::Other;
        };
        slot.copy_from_slice(name);
        slot.make_ascii_lowercase();
        match &*slot {
            b"via" | b"v" => HeaderKind::Via,
            b"from" | b"f" => HeaderKind::From,
            b"to" | b"t" => HeaderKind::To,
            b"call-id" | b"i" => HeaderKind::CallId,
            b"cseq" => HeaderKind::CSeq,
            b"max-forwards" => HeaderKind::MaxForwards,
            b"content-length" | b"l" => HeaderKind::ContentLength,
            b"content-type" | b"c" => HeaderKind::ContentType,
            b"contact" | b"m" => HeaderKind::Contact,
            b"route" => HeaderKind::Route,
            b"record-route" => HeaderKind::RecordRoute,
            b"expires" => HeaderKind::Expires,
            b"event" | b"o" => HeaderKind::Event,
            b"subscription-state" => HeaderKind::SubscriptionState,
            b"require" => HeaderKind::Require,
            b"proxy-require" => HeaderKind::ProxyRequire,
            b"supported" | b"k" => HeaderKind::Supported,
            b"unsupported" => HeaderKind::Unsupported,
            b"allow" => HeaderKind::Allow,
            b"warning" => HeaderKind::Warning,
            b"retry-after" => HeaderKind::RetryAfter,
            b"user-agent" => HeaderKind::UserAgent,
            b"server" => HeaderKind::Server,
            _ => HeaderKind::Other,
        }
    }

    /// The conventional spelling of the name; empty for `Other`.
    pub fn canonical_name(&self) -> &'static str {
        match self {
            HeaderKind::Via => "Via",
            HeaderKind::From => "From",
            HeaderKind::To => "To",
            HeaderKind::CallId => "Call-ID",
            HeaderKind::CSeq => "CSeq",
            HeaderKind::MaxForwards => "Max-Forwards",
            HeaderKind::ContentLength => "Content-Length",
            HeaderKind::ContentType => "Content-Type",
            HeaderKind::Contact => "Contact",
            HeaderKind::Route => "Route",
            HeaderKind::RecordRoute => "Record-Route",
            HeaderKind::Expires => "Expires",
            HeaderKind::Event => "Event",
            HeaderKind::SubscriptionState => "Subscription-State",
            HeaderKind::Require => "Require",
            HeaderKind::ProxyRequire => "Proxy-Require",
            HeaderKind::Supported => "Supported",
            HeaderKind::Unsupported => "Unsupported",
            HeaderKind::Allow => "Allow",
            HeaderKind::Warning => "Warning",
            HeaderKind::RetryAfter => "Retry-After",
            HeaderKind::UserAgent => "User-Agent",
            HeaderKind::Server => "Server",
            HeaderKind::Other => "",
        }
    }

    /// Whether the header's grammar is a comma-separated list, so that one line may carry
    /// several values.
    pub(crate) fn is_list(&self) -> bool {
        matches!(
            self,
            HeaderKind::Via
                | HeaderKind::Contact
                | HeaderKind::Route
                | HeaderKind::RecordRoute
                | HeaderKind::Require
                | HeaderKind::ProxyRequire
                | HeaderKind::Supported
                | HeaderKind::Unsupported
                | HeaderKind::Allow
                | HeaderKind::Warning
        )
    }
}

/// Compact forms of headers the proxy does not interpret (RFC 3261 §7.3.3 and later RFCs), so
/// that name lookups for them still match the long form.
fn expand_other_compact(name: &[u8]) -> &[u8] {
    match name {
        [b] => match b.to_ascii_lowercase() {
            b'e' => b"content-encoding",
            b's' => b"subject",
            b'r' => b"refer-to",
            b'b' => b"referred-by",
            b'x' => b"session-expires",
            b'u' => b"allow-events",
            b'a' => b"accept-contact",
            b'j' => b"reject-contact",
            b'd' => b"request-disposition",
            b'y' => b"identity",
            b'n' => b"identity-info",
            _ => name,
        },
        _ => name,
    }
}

/// Whether two header names denote the same header: case-insensitive, compact forms equal to
/// their long forms.
pub(crate) fn same_header_name(a: &[u8], b: &[u8]) -> bool {
    let (kind_a, kind_b) = (HeaderKind::from_name(a), HeaderKind::from_name(b));
    if kind_a != HeaderKind::Other || kind_b != HeaderKind::Other {
        return kind_a == kind_b;
    }
    expand_other_compact(a).eq_ignore_ascii_case(expand_other_compact(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_compact_forms() {
        for (names, kind) in [
            (&["Via", "VIA", "v", "V"][..], HeaderKind::Via),
            (&["Call-ID", "call-id", "i"], HeaderKind::CallId),
            (&["Content-Length", "l", "L"], HeaderKind::ContentLength),
            (&["From", "f"], HeaderKind::From),
            (&["To", "t"], HeaderKind::To),
            (&["MaX-fOrWaRdS"], HeaderKind::MaxForwards),
            (&["Contact", "m"], HeaderKind::Contact),
            (&["Content-Type", "c"], HeaderKind::ContentType),
            (&["Supported", "k"], HeaderKind::Supported),
            (&["Event", "o"], HeaderKind::Event),
            (&["e", "s", "Subject", "X-Custom", ""], HeaderKind::Other),
        ] {
            for name in names {
                assert_eq!(HeaderKind::from_name(name.as_bytes()), kind, "{name}");
            }
        }
    }

    #[test]
    fn long_names_are_other() {
        assert_eq!(HeaderKind::from_name(&[b'a'; 200]), HeaderKind::Other);
    }

    #[test]
    fn canonical_names_map_back() {
        for kind in [
            HeaderKind::Via,
            HeaderKind::CallId,
            HeaderKind::CSeq,
            HeaderKind::MaxForwards,
            HeaderKind::RecordRoute,
            HeaderKind::SubscriptionState,
            HeaderKind::RetryAfter,
            HeaderKind::UserAgent,
        ] {
            assert_eq!(
                HeaderKind::from_name(kind.canonical_name().as_bytes()),
                kind
            );
        }
        assert_eq!(HeaderKind::Other.canonical_name(), "");
    }

    #[test]
    fn name_equivalence() {
        assert!(same_header_name(b"v", b"Via"));
        assert!(same_header_name(b"s", b"SUBJECT"));
        assert!(same_header_name(b"X-Thing", b"x-thing"));
        assert!(!same_header_name(b"x", b"X-Thing"));
        assert!(!same_header_name(b"Via", b"Route"));
    }
}
