//! SIP message layer: framing, lazy parsing, validation and serialisation.
//!
//! The listeners hand raw bytes to this crate: a UDP datagram goes straight to
//! [`parse_message`], a TCP/TLS stream goes through [`StreamFramer`] first. A parsed
//! [`Message`] keeps the received buffer and holds its header values as slices of it; only the
//! headers the proxy actually reads (Via, From, To, CSeq, ...) are parsed further, on demand,
//! through the accessors on [`Message`]. Before forwarding, the proxy runs
//! [`validate_request`] (a failure carries the SIP status to answer with) or
//! [`validate_response`] (a failure means drop). When [`parse_message`] itself refuses a
//! request, [`parse_head`] salvages enough of it (Via, From, To, Call-ID, CSeq) to answer.
//! [`Message::to_bytes`] writes a message back out with a correct Content-Length.
//!
//! The grammar follows RFC 3261 and the behaviour RFC 4475 asks of a robust element; the
//! torture corpus under `tests/torture/` exercises both and is shared with the proxy's
//! end-to-end tests.

#![forbid(unsafe_code)]

mod concat;
mod cseq;
mod error;
mod framer;
mod grammar;
mod head;
mod header;
mod header_kind;
mod headers;
mod host;
mod limits;
mod message;
mod method;
mod name_addr;
mod params;
mod parse;
mod random;
mod start_line;
mod uri;
mod validate;
mod via;
mod write;

pub use concat::{concat, ip_text, push_decimal};
pub use cseq::CSeq;
pub use error::ParseError;
pub use framer::{Frame, FramingError, Progress, StreamFramer};
pub use header::Header;
pub use header_kind::HeaderKind;
pub use headers::Headers;
pub use limits::Limits;
pub use message::Message;
pub use method::Method;
pub use name_addr::NameAddr;
pub use parse::{parse_head, parse_message};
pub use random::{generate_branch, generate_tag, hex, BRANCH_MAGIC_COOKIE};
pub use start_line::{RequestLine, StartLine, StatusLine};
pub use uri::Uri;
pub use validate::{control_character_in, validate_request, validate_response, Escapes, Validated};
pub use via::Via;

/// Text parsed out of a message (a host, a user, a parameter): most of it is short enough to be
/// kept inline, so parsing an address or a Via allocates nothing for it.
pub type Text = compact_str::CompactString;
