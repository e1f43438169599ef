//! The local user's address on both sides of translation, for audit: a filter after
//! `translation` finds it in the request context, one in front of it in the response context.

use super::mapping::Toward;
use legate_filters_api::{RequestView, Side};
use legate_sip::Uri;

/// The organisation's user of one request, in both forms (`user@domain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedLocalUser {
    /// As the organisation's own systems know them (`a.smith@corp.internal`).
    pub internal: String,
    /// As partners see them (`alice@acme.example`).
    pub federated: String,
}

impl MappedLocalUser {
    /// The pair from the local user's address `before` and `after` mapping `toward` a side.
    pub(super) fn from_mapping(
        before: Option<String>,
        after: Option<String>,
        toward: Toward,
    ) -> Option<MappedLocalUser> {
        // Leaving, the request starts in internal form; coming in, in federated form.
        let (internal, federated) = match toward {
            Toward::External => (before?, after?),
            Toward::Internal => (after?, before?),
        };
        Some(MappedLocalUser {
            internal,
            federated,
        })
    }
}

/// The local user of a request being mapped `toward` a side: the sender of a request leaving,
/// the target of one coming in.
pub(super) fn local_address(view: &RequestView, toward: Toward) -> Option<String> {
    let arrived_on = match toward {
        Toward::External => Side::Internal,
        Toward::Internal => Side::External,
    };
    view.ends(arrived_on).0.map(Uri::address)
}
