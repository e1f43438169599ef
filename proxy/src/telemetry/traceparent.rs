//! W3C Trace Context (`traceparent`, `tracestate`) carried as SIP headers: read from a request
//! whose side accepts it, written on requests forwarded toward a side that propagates it.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// A caller's span, as its `traceparent` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub sampled: bool,
}

/// `tracestate` longer than this is dropped rather than passed on (the W3C limit is 32 entries
/// of at most 256 bytes each; 512 is what vendors are told to expect to survive).
const MAX_TRACESTATE: usize = 512;

/// Parses `version-traceid-parentid-flags`. Version `ff` and all-zero ids are invalid; a later
/// version is read by its first four fields, as the spec asks.
pub fn parse(value: &[u8]) -> Option<Parent> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let mut fields = value.split('-');
    let version = fields.next()?;
    let trace_id = fields.next()?;
    let span_id = fields.next()?;
    let flags = fields.next()?;
    let known_version = version == "00";
    if version.len() != 2 || version == "ff" || !is_lower_hex(version) {
        return None;
    }
    if known_version && fields.next().is_some() {
        return None;
    }
    if trace_id.len() != 32 || span_id.len() != 16 || flags.len() != 2 {
        return None;
    }
    if !(is_lower_hex(trace_id) && is_lower_hex(span_id) && is_lower_hex(flags)) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace_id).ok()?;
    let span_id = SpanId::from_hex(span_id).ok()?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(Parent {
        trace_id,
        span_id,
        sampled: flags & TraceFlags::SAMPLED.to_u8() != 0,
    })
}

/// The `traceparent` naming `span_id` of `trace_id`.
pub fn format(trace_id: TraceId, span_id: SpanId, sampled: bool) -> String {
    legate_sip::concat(&[
        "00-",
        &trace_id.to_string(),
        "-",
        &span_id.to_string(),
        if sampled { "-01" } else { "-00" },
    ])
}

/// A `tracestate` worth passing on: printable ASCII, not too long.
pub fn usable_tracestate(value: &[u8]) -> Option<String> {
    let value = std::str::from_utf8(value).ok()?.trim();
    (!value.is_empty()
        && value.len() <= MAX_TRACESTATE
        && value.bytes().all(|b| (0x20..0x7f).contains(&b)))
    .then(|| value.to_string())
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_and_writes_the_w3c_example() {
        let parent = parse(EXAMPLE.as_bytes());
        let Some(parent) = parent else {
            panic!("the W3C example parses");
        };
        assert!(parent.sampled);
        assert_eq!(
            parent.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format(parent.trace_id, parent.span_id, true), EXAMPLE);
        let unsampled = parse(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        assert_eq!(unsampled.map(|p| p.sampled), Some(false));
    }

    #[test]
    fn a_later_version_is_read_by_its_first_fields() {
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
        assert!(parse(later.as_bytes()).is_some());
    }

    #[test]
    fn malformed_values_are_ignored() {
        for bad in [
            "",
            "00",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn tracestate_is_passed_on_only_when_sane() {
        assert_eq!(
            usable_tracestate(b"congo=t61rcWkgMzE"),
            Some("congo=t61rcWkgMzE".into())
        );
        assert_eq!(usable_tracestate(&[b'a'; 600]), None);
        assert_eq!(usable_tracestate(b"a=\x01"), None);
    }
}
