//! The stream writer: the bytes Legate sends on one direction of an XMPP stream (RFC 6120),
//! the counterpart of [`crate::StreamReader`].
//!
//! A connector opens its side of a stream with [`StreamWriter::open`], which writes the
//! `<stream:stream>` header, then writes elements (stanzas it forwards, or stream-level elements
//! such as `db:result`) and keepalives, and ends with [`StreamWriter::close`] or
//! [`StreamWriter::error`]. After STARTTLS or SASL success it opens a new writer for the
//! restarted stream (RFC 6120 §4.3.3).
//!
//! Each write appends to the connector's output buffer, and appends nothing when it fails, so
//! an element that cannot be written never leaves half a tag on the wire.
//!
//! Elements are serialised as if inside the stream element: the namespaces the header declares
//! (the content namespace as default, `stream`, and `db` when dialback is offered) are in
//! scope, so a stanza in the stream's content namespace comes out as `<message ...>` with no
//! `xmlns` of its own, and a dialback element as `<db:result ...>`. An element the reader
//! handed out carries the header's declarations of the stream it was read from; they are not
//! copied, because any namespace the element needs is declared where it is used. The prefixes
//! an element was received with are not kept either: a namespace that is not in the stream
//! scope becomes the default namespace of the element using it (`<active
//! xmlns='http://jabber.org/protocol/chatstates'/>`), and a namespaced attribute other than
//! `xml:lang` gets a generated prefix. Prefixes carry no meaning in XML namespaces, so the peer
//! reads the same names.

use bytes::BytesMut;
use minidom::rxml::writer::{SimpleNamespaces, TrackNamespace};
use minidom::rxml::{Encoder, Item, Namespace, NcNameStr};
use minidom::{Element, Node};

use crate::error::{StreamError, STREAM_ERRORS_NAMESPACE};
use crate::header::{StreamHeader, DIALBACK_NAMESPACE, STREAMS_NAMESPACE};

/// RFC 6120 §11.5 makes the declaration optional; servers commonly send it, and it costs a few
/// bytes once per stream.
const XML_DECLARATION: &[u8] = b"<?xml version='1.0'?>";
/// A whitespace keepalive: the smallest traffic that keeps an idle stream alive (RFC 6120
/// §4.6, silent peers).
const KEEPALIVE: &[u8] = b" ";
const CLOSE: &[u8] = b"</stream:stream>";

/// Why something could not be written. Nothing was appended to the output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Dialback is always declared as `xmlns:db='jabber:server:dialback'`; another namespace
    /// on that prefix is a caller's mistake, and some would make the encoder panic.
    #[error("the db prefix must be bound to {DIALBACK_NAMESPACE}, not {namespace:?}")]
    DialbackNamespace { namespace: String },
    /// An element built by the caller (never one the reader produced) with a name XML does not
    /// allow.
    #[error("{name:?} is not a valid element name")]
    ElementName { name: String },
    /// A character XML cannot carry, such as a control character in text or an attribute.
    #[error("cannot be written as XML: {reason}")]
    Xml { reason: String },
}

impl From<minidom::rxml::Error> for WriteError {
    fn from(error: minidom::rxml::Error) -> Self {
        Self::Xml {
            reason: error.to_string(),
        }
    }
}

/// Writes one direction of a stream: the header it was opened with decides the namespaces
/// every element is written in.
///
/// ```
/// use bytes::BytesMut;
/// use legate_xmpp::{ContentNamespace, Element, StreamHeader, StreamWriter, Version};
///
/// let header = StreamHeader {
///     from: Some("example.org".into()),
///     to: Some("example.net".into()),
///     id: None,
///     version: Version { major: 1, minor: 0 },
///     lang: None,
///     content_namespace: ContentNamespace::Server,
///     dialback: None,
/// };
/// let mut out = BytesMut::new();
/// let writer = StreamWriter::open(header, &mut out)?;
/// let presence = Element::builder("presence", "jabber:server").build();
/// writer.element(&presence, &mut out)?;
/// writer.close(&mut out);
/// assert!(out.ends_with(b"version='1.0'><presence/></stream:stream>"));
/// # Ok::<(), legate_xmpp::WriteError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StreamWriter {
    header: StreamHeader,
}

impl StreamWriter {
    /// Writes the XML declaration and the stream header, with `from`, `to`, `id` and `xml:lang`
    /// when present, and the dialback declaration when `header.dialback` is set.
    pub fn open(header: StreamHeader, out: &mut BytesMut) -> Result<Self, WriteError> {
        let writer = Self { header };
        let mut bytes = BytesMut::from(XML_DECLARATION);
        writer.open_stream_element(&mut bytes)?;
        out.extend_from_slice(&bytes);
        Ok(writer)
    }

    /// The header this stream was opened with.
    pub fn header(&self) -> &StreamHeader {
        &self.header
    }

    /// Writes one top-level element: a stanza or a stream-level element.
    pub fn element(&self, element: &Element, out: &mut BytesMut) -> Result<(), WriteError> {
        let mut encoder = self.encoder_in_stream()?;
        let mut bytes = BytesMut::new();
        write_element(&mut encoder, element, &mut bytes)?;
        out.extend_from_slice(&bytes);
        Ok(())
    }

    /// A whitespace keepalive.
    pub fn keepalive(&self, out: &mut BytesMut) {
        out.extend_from_slice(KEEPALIVE);
    }

    /// Closes the stream. The writer is consumed: nothing may follow the close.
    pub fn close(self, out: &mut BytesMut) {
        out.extend_from_slice(CLOSE);
    }

    /// Sends a stream error and closes the stream (RFC 6120 §4.9.1.1): `<stream:error>` with
    /// the condition and, when the error has a detail, a `<text/>` carrying it.
    pub fn error(self, error: &StreamError, out: &mut BytesMut) -> Result<(), WriteError> {
        self.element(&stream_error_element(error), out)?;
        self.close(out);
        Ok(())
    }

    /// An encoder positioned inside the stream element, with the header's namespaces in scope.
    /// Each element gets a fresh one, so an element that fails to encode leaves no state behind.
    fn encoder_in_stream(&self) -> Result<Encoder<SimpleNamespaces>, WriteError> {
        let mut scratch = BytesMut::new();
        self.open_stream_element(&mut scratch)
    }

    /// Encodes the `<stream:stream ...>` tag; the returned encoder is inside it. The same code
    /// writes the header and prepares every element, so the two cannot disagree on the scope.
    fn open_stream_element(
        &self,
        out: &mut BytesMut,
    ) -> Result<Encoder<SimpleNamespaces>, WriteError> {
        let header = &self.header;
        let mut encoder = Encoder::new();
        let scope = encoder.ns_tracker_mut();
        scope.declare_fixed(None, header.content_namespace.as_str().into());
        scope.declare_fixed(
            Some(ncname("stream")?),
            Namespace::from_str(STREAMS_NAMESPACE),
        );
        if let Some(namespace) = &header.dialback {
            if namespace != DIALBACK_NAMESPACE {
                return Err(WriteError::DialbackNamespace {
                    namespace: namespace.clone(),
                });
            }
            scope.declare_fixed(Some(ncname("db")?), Namespace::from_str(DIALBACK_NAMESPACE));
        }
        let streams = Namespace::from_str(STREAMS_NAMESPACE);
        encoder.encode(Item::ElementHeadStart(streams, ncname("stream")?), out)?;
        let version = format!("{}.{}", header.version.major, header.version.minor);
        let attributes = [
            ("from", header.from.as_deref()),
            ("to", header.to.as_deref()),
            ("id", header.id.as_deref()),
            ("version", Some(version.as_str())),
        ];
        for (name, value) in attributes {
            if let Some(value) = value {
                encoder.encode(Item::Attribute(Namespace::NONE, ncname(name)?, value), out)?;
            }
        }
        if let Some(lang) = &header.lang {
            let xml = Namespace::xml().clone();
            encoder.encode(Item::Attribute(xml, ncname("lang")?, lang), out)?;
        }
        encoder.encode(Item::ElementHeadEnd, out)?;
        Ok(encoder)
    }
}

/// `<stream:error><CONDITION xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text ...>` as an
/// element, so it is written like any other.
fn stream_error_element(error: &StreamError) -> Element {
    let condition = Element::builder(error.condition.as_str(), STREAM_ERRORS_NAMESPACE).build();
    let mut builder = Element::builder("error", STREAMS_NAMESPACE).append(condition);
    if !error.detail.is_empty() {
        let text = Element::builder("text", STREAM_ERRORS_NAMESPACE)
            .append(error.detail.as_str())
            .build();
        builder = builder.append(text);
    }
    builder.build()
}

/// Encodes an element and its descendants. The element's recorded namespace declarations are
/// deliberately ignored: the encoder declares what each name needs where it is used.
fn write_element(
    encoder: &mut Encoder<SimpleNamespaces>,
    element: &Element,
    out: &mut BytesMut,
) -> Result<(), WriteError> {
    let name = <&NcNameStr>::try_from(element.name()).map_err(|_| WriteError::ElementName {
        name: element.name().to_owned(),
    })?;
    let namespace: Namespace<'static> = element.ns().into();
    encoder.encode(Item::ElementHeadStart(namespace, name), out)?;
    for ((namespace, name), value) in element.attrs().iter() {
        encoder.encode(Item::Attribute(namespace.clone(), name, value), out)?;
    }
    if element.nodes().next().is_some() {
        encoder.encode(Item::ElementHeadEnd, out)?;
        for node in element.nodes() {
            match node {
                Node::Element(child) => write_element(encoder, child, out)?,
                Node::Text(text) => encoder.encode(Item::Text(text), out)?,
            }
        }
    }
    encoder.encode(Item::ElementFoot, out)?;
    Ok(())
}

fn ncname(name: &str) -> Result<&NcNameStr, WriteError> {
    <&NcNameStr>::try_from(name).map_err(|_| WriteError::ElementName {
        name: name.to_owned(),
    })
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
