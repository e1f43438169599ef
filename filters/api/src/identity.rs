//! Who sent a request, as the chain's authenticator established it: `legate.filters.sip.authn`,
//! or a vendor's filter that declares [`FilterFactory::authenticates_peers`]. Filters after it
//! (policy, limits, audit) read this value, whoever attached it.
//!
//! [`FilterFactory::authenticates_peers`]: crate::FilterFactory::authenticates_peers

/// Who sent the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// A federation partner (its `peers[].name`), proven to speak for `domain`.
    Peer { name: String, domain: String },
    /// The organisation's own IM system, trusted by listener and source address.
    Internal,
}

impl Authenticated {
    /// The partner's name, for a partner.
    pub fn partner(&self) -> Option<&str> {
        match self {
            Authenticated::Peer { name, .. } => Some(name),
            Authenticated::Internal => None,
        }
    }
}
