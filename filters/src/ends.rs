//! The two ends of a request seen from the organisation: its local user and the remote party.
//! A request arriving on an internal listener goes from the local user (From) to a remote
//! target; one arriving on an external listener goes from a remote user (From) to the local
//! target. Policy, translation and audit all need this view.

use legate_sip::{Message, Uri};

use legate_filters_api::Side;

/// The local and remote URIs of a request; `None` where the header cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ends {
    pub local: Option<Uri>,
    pub remote: Option<Uri>,
}

/// The ends of `message`, which arrived on a listener of `side`.
pub(crate) fn ends(message: &Message, side: Side) -> Ends {
    let from = message.from_header().ok().map(|from| from.uri);
    let target = target(message);
    match side {
        Side::Internal => Ends {
            local: from,
            remote: target,
        },
        Side::External => Ends {
            local: target,
            remote: from,
        },
    }
}

/// The Request-URI when it names a user, else the To URI (a Request-URI may be a bare host
/// after a redirect or for an OPTIONS ping).
pub(crate) fn target(message: &Message) -> Option<Uri> {
    let request_uri = message.request_uri().and_then(|uri| Uri::parse(uri).ok());
    match request_uri {
        Some(uri) if uri.user.is_some() => Some(uri),
        other => message.to_header().ok().map(|to| to.uri).or(other),
    }
}

/// The user part without any password (`alice:secret` → `alice`), as written.
pub(crate) fn user_of(uri: &Uri) -> Option<&str> {
    let userinfo = uri.user.as_deref()?;
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    (!user.is_empty()).then_some(user)
}

/// `user@domain` (the domain lower-cased), or the domain alone when the URI names no user.
pub(crate) fn address_of(uri: &Uri) -> String {
    match user_of(uri) {
        Some(user) => format!("{user}@{}", uri.host_lowercase()),
        None => uri.host_lowercase(),
    }
}
