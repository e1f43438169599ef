//! What authn attaches to the context for the filters after it and for audit.

/// Who sent the request, as authn established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// A federation partner, proven by its TLS certificate.
    Peer { name: String, domain: String },
    /// The organisation's own IM system, trusted by listener and source address.
    Internal,
}
