//! The stream header: the opening `<stream:stream ...>` tag, its attributes, and the checks
//! RFC 6120 §4.7 and §4.8 put on it.
//!
//! The reader collects the tag's raw attributes here and asks for a [`StreamHeader`] when the
//! tag closes; the namespace declarations found here are also the scope every stanza of the
//! stream is parsed in.

use std::collections::BTreeMap;

use crate::error::{StreamError, StreamErrorCondition as C};

/// The namespace of the stream element itself.
pub const STREAMS_NAMESPACE: &str = "http://etherx.jabber.org/streams";
/// The content namespace of server-to-server streams.
pub const SERVER_NAMESPACE: &str = "jabber:server";
/// The content namespace of client-to-server streams.
pub const CLIENT_NAMESPACE: &str = "jabber:client";
/// The namespace of server dialback (XEP-0220), declared on the header as `xmlns:db`.
pub const DIALBACK_NAMESPACE: &str = "jabber:server:dialback";

/// Which kind of stream the peer opened, from its default namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentNamespace {
    Server,
    Client,
}

impl ContentNamespace {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => SERVER_NAMESPACE,
            Self::Client => CLIENT_NAMESPACE,
        }
    }
}

/// The stream version the peer announced (RFC 6120 §4.7.5); always 1.x once accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

/// An accepted stream header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHeader {
    pub from: Option<String>,
    pub to: Option<String>,
    pub id: Option<String>,
    pub version: Version,
    /// `xml:lang`, the default language of the stream's human-readable text.
    pub lang: Option<String>,
    pub content_namespace: ContentNamespace,
    /// The namespace bound to the `db` prefix, when the peer declared one (dialback offered).
    pub dialback: Option<String>,
}

/// Namespace prefixes in scope: `None` is the default namespace.
pub(crate) type Prefixes = BTreeMap<Option<String>, String>;

/// The stream tag as its attributes arrive.
#[derive(Debug, Default)]
pub(crate) struct HeaderBuilder {
    prefix: Option<String>,
    name: String,
    prefixes: Prefixes,
    attributes: BTreeMap<String, String>,
    lang: Option<String>,
}

impl HeaderBuilder {
    pub(crate) fn new(prefix: Option<String>, name: String) -> Self {
        Self {
            prefix,
            name,
            ..Self::default()
        }
    }

    pub(crate) fn attribute(&mut self, prefix: Option<&str>, name: &str, value: String) {
        match (prefix, name) {
            (None, "xmlns") => {
                self.prefixes.insert(None, value);
            }
            (Some("xmlns"), prefix) => {
                self.prefixes.insert(Some(prefix.to_owned()), value);
            }
            (Some("xml"), "lang") => self.lang = Some(value),
            // Other qualified attributes carry nothing the stream layer reads.
            (Some(_), _) => {}
            (None, name) => {
                self.attributes.insert(name.to_owned(), value);
            }
        }
    }

    /// Checks the finished tag. On success also returns the namespace scope stanzas inherit.
    pub(crate) fn finish(mut self) -> Result<(StreamHeader, Prefixes), StreamError> {
        let namespace = self.prefixes.get(&self.prefix).map(String::as_str);
        if self.name != "stream" || namespace != Some(STREAMS_NAMESPACE) {
            // RFC 6120 §4.8.1: a wrong name or namespace on the root is invalid-namespace.
            return Err(StreamError::new(
                C::InvalidNamespace,
                format!(
                    "the stream element is {{{}}}{}, not {{{STREAMS_NAMESPACE}}}stream",
                    namespace.unwrap_or(""),
                    self.name
                ),
            ));
        }
        let content_namespace = match self.prefixes.get(&None).map(String::as_str) {
            Some(SERVER_NAMESPACE) => ContentNamespace::Server,
            Some(CLIENT_NAMESPACE) => ContentNamespace::Client,
            // RFC 6120 §4.9.3.2 gives exactly this case as its example.
            None => {
                return Err(StreamError::new(
                    C::BadNamespacePrefix,
                    "the stream header declares no content namespace",
                ))
            }
            Some(other) => {
                return Err(StreamError::new(
                    C::InvalidNamespace,
                    format!("unsupported content namespace {other:?}"),
                ))
            }
        };
        let version = parse_version(self.attributes.get("version").map(String::as_str))?;
        let header = StreamHeader {
            from: self.attributes.remove("from"),
            to: self.attributes.remove("to"),
            id: self.attributes.remove("id"),
            version,
            lang: self.lang,
            content_namespace,
            dialback: self.prefixes.get(&Some("db".to_owned())).cloned(),
        };
        Ok((header, self.prefixes))
    }
}

/// RFC 6120 §4.7.5: "major.minor", each a non-negative integer; no attribute means 0.9.
fn parse_version(value: Option<&str>) -> Result<Version, StreamError> {
    let Some(value) = value else {
        return Err(StreamError::new(
            C::UnsupportedVersion,
            "the stream header has no version (a pre-1.0 stream)",
        ));
    };
    let unsupported = || {
        StreamError::new(
            C::UnsupportedVersion,
            format!("stream version {value:?} is not 1.x"),
        )
    };
    let (major, minor) = value.split_once('.').ok_or_else(unsupported)?;
    let number = |part: &str| {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Leading zeros are allowed and ignored; a number too large for u32 is not 1.x anyway.
        part.parse::<u32>().ok()
    };
    match (number(major), number(minor)) {
        (Some(1), Some(minor)) => Ok(Version { major: 1, minor }),
        _ => Err(unsupported()),
    }
}
