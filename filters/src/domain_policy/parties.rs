//! Who the request is between, seen from the organisation: the local user and the remote domain.

use legate_filters_api::RequestView;
use legate_sip::{Text, Uri};

use super::config::Direction;

/// The two ends of a request. Strings are lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parties {
    /// `(user, domain)`; `None` when the local side names no user (`sip:corp.example`).
    pub local: Option<(Text, Text)>,
    pub remote_domain: Text,
}

impl Parties {
    /// `user@domain` of the local user.
    pub fn local_address(&self) -> Option<String> {
        self.local
            .as_ref()
            .map(|(user, domain)| legate_sip::concat(&[user, "@", domain]))
    }
}

/// Outbound: the local user is From, the remote domain is the target's (the Request-URI, or To
/// when the Request-URI names no user). Inbound: the local user is the target, the remote
/// domain is From's. The error says which header could not be read.
pub(crate) fn parties(view: &RequestView, direction: Direction) -> Result<Parties, &'static str> {
    let from = &view
        .from
        .as_ref()
        .ok_or("the From header cannot be read")?
        .uri;
    let target = view
        .target()
        .ok_or("neither the Request-URI nor To names a target")?;
    let (local, remote) = match direction {
        Direction::Outbound => (from, target),
        Direction::Inbound => (target, from),
    };
    Ok(Parties {
        local: user(local).map(|u| (u, local.host_lowercase())),
        remote_domain: remote.host_lowercase(),
    })
}

/// The user part, lower-case (a parsed URI's user part is ASCII: anything else is escaped).
fn user(uri: &Uri) -> Option<Text> {
    uri.user_name()
        .map(|user| Text::new(user).to_ascii_lowercase())
}
