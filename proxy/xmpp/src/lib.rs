//! Reading one direction of an XMPP stream (RFC 6120): bytes in, as they arrive from a TCP or
//! TLS socket in chunks of any size, and stream events out — the header, each top-level
//! element as a `minidom` [`Element`], keepalive whitespace, and the end.
//!
//! The reader is the first thing an XMPP connector puts between a federated peer and the rest
//! of the gateway, so it assumes hostile input: every refusal is a [`StreamError`] carrying the
//! RFC 6120 §4.9.3 condition to send back, and the [`Limits`] bound what a peer can make it
//! hold in memory.
//!
//! [`StreamWriter`] is the other direction: the header, elements in the stream's namespace
//! scope, stream errors, keepalives and the close, as bytes the reader reads back unchanged.
//!
//! Beside the reader, the RFC 7247 mappings the SIP ↔ XMPP translation uses: [`address`] turns
//! a JID into a SIP URI and back (§6), refusing what cannot be mapped exactly, and
//! [`stanza_errors`] maps stanza error conditions to SIP response codes and back (§7).
//!
//! ```
//! use legate_xmpp::{Event, Limits, StreamReader};
//!
//! let mut reader = StreamReader::new(Limits::default());
//! reader.feed(b"<stream:stream xmlns='jabber:server' \
//!     xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='example.org'>")?;
//! let Some(Event::Header(header)) = reader.next_event()? else { panic!() };
//! assert_eq!(header.to.as_deref(), Some("example.org"));
//!
//! reader.feed(b"<message to='a@example.org'><body>hi</body></message> ")?;
//! let Some(Event::Element { element, .. }) = reader.next_event()? else { panic!() };
//! assert!(element.is("message", "jabber:server"));
//! assert!(matches!(reader.next_event()?, Some(Event::Whitespace { bytes: 1 })));
//! assert_eq!(reader.next_event()?, None);
//! # Ok::<(), legate_xmpp::StreamError>(())
//! ```

#![forbid(unsafe_code)]

pub mod address;
mod error;
mod event;
mod header;
mod limits;
mod namespaces;
mod reader;
pub mod stanza_errors;
mod writer;

#[cfg(test)]
mod tests;

pub use address::{jid_for_sip_uri, sip_uri_for_jid, AddressError, ResourceMapping};
pub use error::{StreamError, StreamErrorCondition, STREAM_ERRORS_NAMESPACE};
pub use event::Event;
pub use header::{
    ContentNamespace, StreamHeader, Version, CLIENT_NAMESPACE, DIALBACK_NAMESPACE,
    SERVER_NAMESPACE, STREAMS_NAMESPACE,
};
pub use jid::Jid;
pub use limits::Limits;
pub use minidom::Element;
pub use reader::StreamReader;
pub use stanza_errors::{
    other_conditions_for, sip_status_for, sip_status_in, stanza_error_for, ErrorContext,
    StanzaErrorCondition, StanzaErrorType, STANZA_ERRORS_NAMESPACE,
};
pub use writer::{StreamWriter, WriteError};
