//! The ordered header fields of a message, with the lookups and edits a proxy makes: read the
//! first of a kind, split list headers, push a Via, pop the top Route, put Record-Route on top.

use bytes::Bytes;

use crate::grammar::split_list;
use crate::header::{single_line, Header};
use crate::header_kind::{same_header_name, HeaderKind};

/// Header fields in the order they were received or added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub(crate) fn with_capacity(capacity: usize) -> Headers {
        Headers(Vec::with_capacity(capacity))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of the first header of `kind`.
    pub fn first(&self, kind: HeaderKind) -> Option<&Bytes> {
        self.0.iter().find(|h| h.kind == kind).map(|h| &h.value)
    }

    /// Headers whose name matches `name`, ignoring case; compact forms match long forms.
    pub fn by_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        let kind = HeaderKind::from_name(name.as_bytes());
        // Known kinds compare as enums; only other names compare as text.
        self.0.iter().filter(move |h| match kind {
            HeaderKind::Other => {
                h.kind == HeaderKind::Other && same_header_name(&h.name, name.as_bytes())
            }
            kind => h.kind == kind,
        })
    }

    /// Every value of `kind`, in order. Lines of list headers (Via, Route, Contact, ...) are
    /// split at the commas between elements (not those inside quotes or `<>`); empty elements
    /// are skipped. The values are slices of the received buffer.
    pub fn values(&self, kind: HeaderKind) -> Vec<Bytes> {
        let mut out = Vec::new();
        for header in self.0.iter().filter(|h| h.kind == kind) {
            if kind.is_list() {
                out.extend(
                    split_list(&header.value)
                        .filter(|r| !r.is_empty())
                        .map(|r| header.value.slice(r)),
                );
            } else {
                out.push(header.value.clone());
            }
        }
        out
    }

    /// Number of header lines of `kind` (not of list elements).
    pub fn count(&self, kind: HeaderKind) -> usize {
        self.0.iter().filter(|h| h.kind == kind).count()
    }

    pub fn push(&mut self, header: Header) {
        self.0.push(header);
    }

    /// Inserts before all other headers (where a proxy puts its Via).
    pub fn push_front(&mut self, header: Header) {
        self.0.insert(0, header);
    }

    /// Inserts just before the first header of `kind_anchor`, or at the front if there is none
    /// (where a proxy puts its Record-Route).
    pub fn insert_before_first(&mut self, kind_anchor: HeaderKind, header: Header) {
        let index = self
            .0
            .iter()
            .position(|h| h.kind == kind_anchor)
            .unwrap_or(0);
        self.0.insert(index, header);
    }

    /// Replaces the value of the first header of `kind` (keeping its name as received) and
    /// removes the others of that kind, or appends a new header when there is none.
    pub fn set(&mut self, kind: HeaderKind, value: impl Into<Bytes>) {
        let value = single_line(value.into());
        let mut seen = false;
        let mut slot = Some(value);
        self.0.retain_mut(|h| {
            if h.kind != kind {
                return true;
            }
            if seen {
                return false;
            }
            seen = true;
            if let Some(value) = slot.take() {
                h.value = value;
            }
            true
        });
        if let Some(value) = slot {
            self.0.push(Header::new(kind, value));
        }
    }

    /// Removes every header of `kind`; returns how many were removed.
    pub fn remove_all(&mut self, kind: HeaderKind) -> usize {
        let before = self.0.len();
        self.0.retain(|h| h.kind != kind);
        before - self.0.len()
    }

    /// Removes every header named `name` (as [`Headers::by_name`] matches); returns how many.
    pub fn remove_by_name(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0
            .retain(|h| !same_header_name(&h.name, name.as_bytes()));
        before - self.0.len()
    }

    /// Removes and returns the first value of `kind`: the first list element of the first
    /// header line of that kind, dropping the line once it is empty. Pops the top Via or Route.
    pub fn pop_first_value(&mut self, kind: HeaderKind) -> Option<Bytes> {
        loop {
            let index = self.0.iter().position(|h| h.kind == kind)?;
            let value = self.0.get(index)?.value.clone();
            if !kind.is_list() {
                self.0.remove(index);
                return Some(value);
            }
            let mut elements = split_list(&value).filter(|r| !r.is_empty());
            let Some(first) = elements.next() else {
                // A line with no elements at all carries nothing to pop; drop it and look on.
                self.0.remove(index);
                continue;
            };
            match (elements.next(), elements.last()) {
                (Some(second), last) => {
                    let end = last.map_or(second.end, |r| r.end);
                    if let Some(header) = self.0.get_mut(index) {
                        header.value = value.slice(second.start..end);
                    }
                }
                (None, _) => {
                    self.0.remove(index);
                }
            }
            return Some(value.slice(first));
        }
    }

    /// Replaces the first value of `kind` where it stands (the first element of the first line
    /// of that kind), keeping the other elements and every line's position. Used to mark the
    /// top Via with `received`/`rport`. False when there is no such header.
    pub fn replace_first_value(&mut self, kind: HeaderKind, value: impl Into<Bytes>) -> bool {
        let Some(header) = self.0.iter_mut().find(|h| h.kind == kind) else {
            return false;
        };
        let value: Bytes = value.into();
        if !kind.is_list() {
            header.value = value;
            return true;
        }
        let old = header.value.clone();
        let mut elements = split_list(&old).filter(|r| !r.is_empty());
        let rest_start = elements.nth(1).map(|r| r.start);
        header.value = match rest_start {
            Some(start) => {
                let mut joined = Vec::with_capacity(value.len() + old.len() - start + 2);
                joined.extend_from_slice(&value);
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(&old[start..]);
                Bytes::from(joined)
            }
            None => value,
        };
        true
    }

    pub fn retain(&mut self, f: impl FnMut(&Header) -> bool) {
        self.0.retain(f);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Self {
        Headers(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        [
            Header::other("v", "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2"),
            Header::other("Via", "SIP/2.0/UDP c.example.com;branch=z9hG4bK3"),
            Header::other("Route", "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>"),
            Header::other("To", "\"Bob, Jr\" <sip:bob@example.com>"),
            Header::other("Subject", "hello, world"),
            Header::other("X-Custom", "1"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn lookups() {
        let headers = sample();
        assert_eq!(headers.len(), 6);
        assert!(!headers.is_empty());
        assert_eq!(
            headers.first(HeaderKind::Via).map(|v| &v[..11]),
            Some(&b"SIP/2.0/UDP"[..])
        );
        assert_eq!(headers.count(HeaderKind::Via), 2);
        assert_eq!(headers.values(HeaderKind::Via).len(), 3);
        assert_eq!(
            headers.values(HeaderKind::To),
            vec![Bytes::from_static(b"\"Bob, Jr\" <sip:bob@example.com>")]
        );
        assert_eq!(headers.values(HeaderKind::Other).len(), 2);
        assert_eq!(headers.by_name("VIA").count(), 2);
        assert_eq!(headers.by_name("s").count(), 1);
        assert_eq!(headers.by_name("x-custom").count(), 1);
        assert_eq!(headers.by_name("Contact").count(), 0);
    }

    #[test]
    fn pop_values() {
        let mut headers = sample();
        let popped: Vec<Bytes> =
            std::iter::from_fn(|| headers.pop_first_value(HeaderKind::Via)).collect();
        assert_eq!(
            popped,
            vec![
                Bytes::from_static(b"SIP/2.0/UDP a.example.com;branch=z9hG4bK1"),
                Bytes::from_static(b"SIP/2.0/TCP b.example.com;branch=z9hG4bK2"),
                Bytes::from_static(b"SIP/2.0/UDP c.example.com;branch=z9hG4bK3"),
            ]
        );
        assert_eq!(headers.count(HeaderKind::Via), 0);
        assert_eq!(
            headers.pop_first_value(HeaderKind::Route),
            Some(Bytes::from_static(b"<sip:p1.example.com;lr>"))
        );
        assert_eq!(
            headers.first(HeaderKind::Route),
            Some(&Bytes::from_static(b"<sip:p2.example.com;lr>"))
        );
        assert!(headers.pop_first_value(HeaderKind::Route).is_some());
        assert_eq!(headers.pop_first_value(HeaderKind::Route), None);
        assert_eq!(
            headers.pop_first_value(HeaderKind::To),
            Some(Bytes::from_static(b"\"Bob, Jr\" <sip:bob@example.com>"))
        );
    }

    #[test]
    fn pop_skips_empty_lines() {
        let mut headers: Headers = [
            Header::other("Route", " , "),
            Header::other("Route", "<sip:a.example.com;lr>,,<sip:b.example.com>"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            headers.pop_first_value(HeaderKind::Route),
            Some(Bytes::from_static(b"<sip:a.example.com;lr>"))
        );
        assert_eq!(
            headers.first(HeaderKind::Route),
            Some(&Bytes::from_static(b"<sip:b.example.com>"))
        );
    }

    #[test]
    fn edits() {
        let mut headers = sample();
        headers.push_front(Header::new(
            HeaderKind::Via,
            "SIP/2.0/TLS proxy.example.net;branch=z9hG4bKx",
        ));
        assert_eq!(
            headers.iter().next().map(|h| h.name.clone()),
            Some(Bytes::from_static(b"Via"))
        );

        headers.insert_before_first(
            HeaderKind::Route,
            Header::new(HeaderKind::Route, "<sip:new.example.net;lr>"),
        );
        assert_eq!(
            headers.first(HeaderKind::Route),
            Some(&Bytes::from_static(b"<sip:new.example.net;lr>"))
        );
        headers.insert_before_first(
            HeaderKind::RecordRoute,
            Header::new(HeaderKind::RecordRoute, "<sip:rr.example.net;lr>"),
        );
        assert_eq!(
            headers.iter().next().map(|h| h.kind),
            Some(HeaderKind::RecordRoute)
        );

        headers.set(HeaderKind::Via, "SIP/2.0/UDP only.example.net");
        assert_eq!(headers.count(HeaderKind::Via), 1);
        headers.set(HeaderKind::MaxForwards, "69");
        assert_eq!(
            headers.first(HeaderKind::MaxForwards),
            Some(&Bytes::from_static(b"69"))
        );

        assert_eq!(headers.remove_all(HeaderKind::Route), 2);
        assert_eq!(headers.remove_by_name("subject"), 1);
        headers.retain(|h| h.kind != HeaderKind::Other);
        assert_eq!(headers.by_name("X-Custom").count(), 0);
    }
}
