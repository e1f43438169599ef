//! What a stream reader hands its caller, one item at a time.

use minidom::Element;

use crate::header::StreamHeader;

/// One step of a stream, in the order the peer sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The stream opened (or reopened after [`crate::StreamReader::restart`]).
    Header(StreamHeader),
    /// A complete top-level child: a stanza (`message`, `presence`, `iq`) or a stream-level
    /// element (`stream:features`, `starttls`, `db:result`, `stream:error`, ...). `bytes` is its
    /// size as received.
    Element { element: Element, bytes: usize },
    /// Whitespace between top-level children: a keepalive, which counts as traffic for idle
    /// detection but carries nothing.
    Whitespace { bytes: usize },
    /// The peer closed its stream (`</stream:stream>`).
    End,
}
