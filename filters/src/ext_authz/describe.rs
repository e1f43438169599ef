//! Describes a SIP request for the service: the check request, from the message and from what
//! the proxy and earlier filters (authn, domain_policy) attached to its context.

use std::collections::BTreeMap;

use bytes::Bytes;
use legate_sip::{Message, NameAddr};

use super::config::Settings;
use super::error::AuthzError;
use super::wire::{CheckRequest, Identity, Policy, VERSION};
use crate::domain_policy::{classify, Direction, PolicyDecision};
use legate_filters_api::Authenticated;
use legate_filters_api::{ListenerInfo, PeerAddress, Side, SipRequest, TlsPeerIdentity};

/// The chain's listener, for requests the proxy attached no [`ListenerInfo`] to.
pub(crate) struct BuiltFor {
    pub name: std::sync::Arc<str>,
    pub side: Side,
}

/// The check request for `request`, as JSON.
pub(crate) fn check_request(
    request: &SipRequest,
    settings: &Settings,
    built_for: &BuiltFor,
) -> Result<Vec<u8>, AuthzError> {
    let message = &request.message;
    let context = &request.context;
    let view = request.view();
    let listener = context.get::<ListenerInfo>();
    let side = listener.map_or(built_for.side, |l| l.side);
    let direction = match side {
        Side::Internal => Direction::Outbound,
        Side::External => Direction::Inbound,
    };
    let authenticated = context.get::<Authenticated>();
    let partner = match authenticated {
        Some(Authenticated::Peer { name, .. }) => Some(name.as_str()),
        _ => None,
    };
    let (body, body_truncated) = body(message, settings.body_max_bytes);
    let check = CheckRequest {
        version: VERSION,
        method: message.method().map_or("", |m| m.as_str()),
        request_uri: message.request_uri().map(text).unwrap_or_default(),
        call_id: message.call_id().map(text).unwrap_or_default(),
        from: address(view.from.as_ref(), message, legate_sip::HeaderKind::From),
        to: address(view.to.as_ref(), message, legate_sip::HeaderKind::To),
        service: classify(message).as_str(),
        direction: direction.as_str(),
        partner,
        identity: authenticated.map(|who| identity(who, context.get::<TlsPeerIdentity>())),
        listener: listener.map_or(&*built_for.name, |l| &*l.name),
        source: context.get::<PeerAddress>().map(|a| a.0.to_string()),
        policy: context.get::<PolicyDecision>().map(|decision| Policy {
            decision: decision.action.as_str(),
            rule_id: decision.rule_id.as_deref(),
        }),
        headers: headers(message, &settings.include_headers),
        body,
        body_truncated,
    };
    serde_json::to_vec(&check).map_err(|e| AuthzError::Request(e.to_string()))
}

fn text(value: &Bytes) -> String {
    String::from_utf8_lossy(value).into_owned()
}

/// The URI of a From or To header; the raw value when it cannot be parsed.
fn address(parsed: Option<&NameAddr>, message: &Message, kind: legate_sip::HeaderKind) -> String {
    match parsed {
        Some(address) => address.uri.to_string(),
        None => message.headers.first(kind).map(text).unwrap_or_default(),
    }
}

fn identity<'a>(who: &'a Authenticated, certificate: Option<&'a TlsPeerIdentity>) -> Identity<'a> {
    const NONE: &[String] = &[];
    match who {
        Authenticated::Peer { domain, .. } => Identity {
            kind: "partner",
            domain: Some(domain),
            dns_names: certificate.map_or(NONE, |c| &c.dns_names),
            uris: certificate.map_or(NONE, |c| &c.uris),
        },
        Authenticated::Internal => Identity {
            kind: "internal",
            domain: None,
            dns_names: NONE,
            uris: NONE,
        },
    }
}

fn headers<'a>(message: &Message, names: &'a [String]) -> BTreeMap<&'a str, Vec<String>> {
    let mut found = BTreeMap::new();
    for name in names {
        let values: Vec<String> = message
            .headers
            .by_name(name)
            .map(|h| text(&h.value))
            .collect();
        if !values.is_empty() {
            found.insert(name.as_str(), values);
        }
    }
    found
}

/// The body when asked for, cut at `max_bytes`; a character cut in two is replaced.
fn body(message: &Message, max_bytes: Option<usize>) -> (Option<String>, bool) {
    let Some(max) = max_bytes else {
        return (None, false);
    };
    let bytes = &message.body[..];
    let kept = bytes.get(..max).unwrap_or(bytes);
    (
        Some(String::from_utf8_lossy(kept).into_owned()),
        kept.len() < bytes.len(),
    )
}
