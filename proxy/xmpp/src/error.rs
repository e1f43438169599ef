//! Stream errors: the RFC 6120 §4.9.3 condition a reader's caller sends to the peer before
//! closing the stream, with a detail for logs and for the error's `<text/>`.
//!
//! Every way the reader refuses input ends here, so the mapping from a parse failure to the
//! condition on the wire is made in one place.

use std::fmt;

use minidom::rxml;

/// The namespace of the defined stream error conditions (RFC 6120 §4.9.2).
pub const STREAM_ERRORS_NAMESPACE: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// The stream error conditions defined by RFC 6120 §4.9.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamErrorCondition {
    BadFormat,
    BadNamespacePrefix,
    Conflict,
    ConnectionTimeout,
    HostGone,
    HostUnknown,
    ImproperAddressing,
    InternalServerError,
    InvalidFrom,
    InvalidNamespace,
    InvalidXml,
    NotAuthorized,
    NotWellFormed,
    PolicyViolation,
    RemoteConnectionFailed,
    Reset,
    ResourceConstraint,
    RestrictedXml,
    SeeOtherHost,
    SystemShutdown,
    UndefinedCondition,
    UnsupportedEncoding,
    UnsupportedFeature,
    UnsupportedStanzaType,
    UnsupportedVersion,
}

impl StreamErrorCondition {
    /// The condition's element name, as sent inside `<stream:error/>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadFormat => "bad-format",
            Self::BadNamespacePrefix => "bad-namespace-prefix",
            Self::Conflict => "conflict",
            Self::ConnectionTimeout => "connection-timeout",
            Self::HostGone => "host-gone",
            Self::HostUnknown => "host-unknown",
            Self::ImproperAddressing => "improper-addressing",
            Self::InternalServerError => "internal-server-error",
            Self::InvalidFrom => "invalid-from",
            Self::InvalidNamespace => "invalid-namespace",
            Self::InvalidXml => "invalid-xml",
            Self::NotAuthorized => "not-authorized",
            Self::NotWellFormed => "not-well-formed",
            Self::PolicyViolation => "policy-violation",
            Self::RemoteConnectionFailed => "remote-connection-failed",
            Self::Reset => "reset",
            Self::ResourceConstraint => "resource-constraint",
            Self::RestrictedXml => "restricted-xml",
            Self::SeeOtherHost => "see-other-host",
            Self::SystemShutdown => "system-shutdown",
            Self::UndefinedCondition => "undefined-condition",
            Self::UnsupportedEncoding => "unsupported-encoding",
            Self::UnsupportedFeature => "unsupported-feature",
            Self::UnsupportedStanzaType => "unsupported-stanza-type",
            Self::UnsupportedVersion => "unsupported-version",
        }
    }
}

impl fmt::Display for StreamErrorCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the reader refused the stream: the condition to send, and what exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{condition}: {detail}")]
pub struct StreamError {
    pub condition: StreamErrorCondition,
    pub detail: String,
}

impl StreamError {
    pub fn new(condition: StreamErrorCondition, detail: impl Into<String>) -> Self {
        Self {
            condition,
            detail: detail.into(),
        }
    }

    /// Classifies a parser failure. rxml refuses the XML features RFC 6120 §11.1 forbids with
    /// its own "restricted" error; a few of those are really our size limits or the encoding
    /// rule, which have conditions of their own. It has no variant for a DTD: `<!` that starts
    /// neither a comment nor a CDATA section can only be a markup declaration. The messages
    /// matched here are rxml's; the tests pin each one.
    pub(crate) fn from_xml(error: rxml::Error, max_token_bytes: usize) -> Self {
        use StreamErrorCondition as C;
        match error {
            rxml::Error::RestrictedXml(what) => match what {
                "long name or reference" | "event too long" => Self::new(
                    C::PolicyViolation,
                    format!("a name, attribute value or reference exceeds the token limit of {max_token_bytes} bytes"),
                ),
                "only utf-8 encoding is allowed" => {
                    Self::new(C::UnsupportedEncoding, "the stream must be UTF-8")
                }
                _ => Self::new(C::RestrictedXml, format!("restricted XML: {what}")),
            },
            rxml::Error::InvalidSyntax("malformed cdata or comment section start") => Self::new(
                C::RestrictedXml,
                "restricted XML: a document type or markup declaration",
            ),
            rxml::Error::UndeclaredEntity => Self::new(
                C::RestrictedXml,
                "an entity reference other than the five predefined ones",
            ),
            rxml::Error::InvalidUtf8Byte(byte) => Self::new(
                C::UnsupportedEncoding,
                format!("byte 0x{byte:02x} is not valid UTF-8"),
            ),
            other => Self::new(C::NotWellFormed, other.to_string()),
        }
    }
}
