//! Stanza errors and their SIP counterparts: the RFC 6120 §8.3 error types and defined
//! conditions, and the two mappings of RFC 7247 §6 — a stanza error condition to the SIP
//! response code a gateway answers with, and a SIP response code to the stanza error it sends.
//!
//! The SIP ↔ XMPP translation is the caller: when an XMPP peer bounces a stanza that came from
//! SIP, [`sip_status_for`] gives the response to send back; when a SIP request that came from
//! XMPP fails, [`stanza_error_for`] gives the `<error/>` to return. Keeping both tables here
//! means the mapping is decided in one place.
//!
//! ```
//! use legate_xmpp::stanza_errors::{
//!     sip_status_for, stanza_error_for, StanzaErrorCondition, StanzaErrorType,
//! };
//!
//! assert_eq!(sip_status_for(StanzaErrorCondition::ItemNotFound), 404);
//! assert_eq!(
//!     stanza_error_for(486),
//!     (StanzaErrorType::Wait, StanzaErrorCondition::RecipientUnavailable)
//! );
//! // A code the table does not list takes its class's condition.
//! assert_eq!(stanza_error_for(499).1, StanzaErrorCondition::BadRequest);
//! ```

use std::fmt;
use std::str::FromStr;

/// The namespace of the defined stanza error conditions (RFC 6120 §8.3.2).
pub const STANZA_ERRORS_NAMESPACE: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// The `type` attribute of a stanza `<error/>` (RFC 6120 §8.3.2): what the sender may do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StanzaErrorType {
    /// Retry after providing credentials.
    Auth,
    /// Do not retry: the error cannot be remedied.
    Cancel,
    /// Proceed: the condition was only a warning.
    Continue,
    /// Retry after changing the data sent.
    Modify,
    /// Retry after waiting: the error is temporary.
    Wait,
}

impl StanzaErrorType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Cancel => "cancel",
            Self::Continue => "continue",
            Self::Modify => "modify",
            Self::Wait => "wait",
        }
    }
}

impl fmt::Display for StanzaErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stanza error conditions defined by RFC 6120 §8.3.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StanzaErrorCondition {
    BadRequest,
    Conflict,
    FeatureNotImplemented,
    Forbidden,
    Gone,
    InternalServerError,
    ItemNotFound,
    JidMalformed,
    NotAcceptable,
    NotAllowed,
    NotAuthorized,
    PolicyViolation,
    RecipientUnavailable,
    Redirect,
    RegistrationRequired,
    RemoteServerNotFound,
    RemoteServerTimeout,
    ResourceConstraint,
    ServiceUnavailable,
    SubscriptionRequired,
    UndefinedCondition,
    UnexpectedRequest,
}

impl StanzaErrorCondition {
    /// Every defined condition, in RFC 6120 order.
    pub const ALL: [Self; 22] = [
        Self::BadRequest,
        Self::Conflict,
        Self::FeatureNotImplemented,
        Self::Forbidden,
        Self::Gone,
        Self::InternalServerError,
        Self::ItemNotFound,
        Self::JidMalformed,
        Self::NotAcceptable,
        Self::NotAllowed,
        Self::NotAuthorized,
        Self::PolicyViolation,
        Self::RecipientUnavailable,
        Self::Redirect,
        Self::RegistrationRequired,
        Self::RemoteServerNotFound,
        Self::RemoteServerTimeout,
        Self::ResourceConstraint,
        Self::ServiceUnavailable,
        Self::SubscriptionRequired,
        Self::UndefinedCondition,
        Self::UnexpectedRequest,
    ];

    /// The condition's element name, as sent inside `<error/>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Conflict => "conflict",
            Self::FeatureNotImplemented => "feature-not-implemented",
            Self::Forbidden => "forbidden",
            Self::Gone => "gone",
            Self::InternalServerError => "internal-server-error",
            Self::ItemNotFound => "item-not-found",
            Self::JidMalformed => "jid-malformed",
            Self::NotAcceptable => "not-acceptable",
            Self::NotAllowed => "not-allowed",
            Self::NotAuthorized => "not-authorized",
            Self::PolicyViolation => "policy-violation",
            Self::RecipientUnavailable => "recipient-unavailable",
            Self::Redirect => "redirect",
            Self::RegistrationRequired => "registration-required",
            Self::RemoteServerNotFound => "remote-server-not-found",
            Self::RemoteServerTimeout => "remote-server-timeout",
            Self::ResourceConstraint => "resource-constraint",
            Self::ServiceUnavailable => "service-unavailable",
            Self::SubscriptionRequired => "subscription-required",
            Self::UndefinedCondition => "undefined-condition",
            Self::UnexpectedRequest => "unexpected-request",
        }
    }

    /// The error type RFC 6120 §8.3.3 recommends with the condition. Where it allows two
    /// (`policy-violation`: modify or wait; `unexpected-request`: wait or modify) this is the
    /// first; `undefined-condition` takes any type, and `cancel` promises nothing.
    pub fn default_type(self) -> StanzaErrorType {
        use StanzaErrorType::{Auth, Cancel, Modify, Wait};
        match self {
            Self::BadRequest => Modify,
            Self::Conflict => Cancel,
            Self::FeatureNotImplemented => Cancel,
            Self::Forbidden => Auth,
            Self::Gone => Cancel,
            Self::InternalServerError => Cancel,
            Self::ItemNotFound => Cancel,
            Self::JidMalformed => Modify,
            Self::NotAcceptable => Modify,
            Self::NotAllowed => Cancel,
            Self::NotAuthorized => Auth,
            Self::PolicyViolation => Modify,
            Self::RecipientUnavailable => Wait,
            Self::Redirect => Modify,
            Self::RegistrationRequired => Auth,
            Self::RemoteServerNotFound => Cancel,
            Self::RemoteServerTimeout => Wait,
            Self::ResourceConstraint => Wait,
            Self::ServiceUnavailable => Cancel,
            Self::SubscriptionRequired => Auth,
            Self::UndefinedCondition => Cancel,
            Self::UnexpectedRequest => Wait,
        }
    }
}

impl fmt::Display for StanzaErrorCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An element name that is not a defined stanza error condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a defined stanza error condition")]
pub struct UnknownCondition {
    pub name: String,
}

impl FromStr for StanzaErrorCondition {
    type Err = UnknownCondition;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|condition| condition.as_str() == name)
            .ok_or_else(|| UnknownCondition {
                name: name.to_owned(),
            })
    }
}

/// The SIP response code for a stanza error condition (RFC 7247 §6.1).
///
/// Where the table gives two codes, this is the one that needs nothing the stanza may lack;
/// [`alternative_sip_status`] gives the other and when it applies.
pub fn sip_status_for(condition: StanzaErrorCondition) -> u16 {
    use StanzaErrorCondition::*;
    match condition {
        BadRequest => 400,
        Conflict => 400,
        FeatureNotImplemented => 501,
        Forbidden => 403,
        Gone => 410,
        InternalServerError => 500,
        ItemNotFound => 404,
        JidMalformed => 400,
        NotAcceptable => 406,
        NotAllowed => 403,
        NotAuthorized => 401,
        PolicyViolation => 403,
        RecipientUnavailable => 480,
        Redirect => 302,
        RegistrationRequired => 400,
        RemoteServerNotFound => 404,
        RemoteServerTimeout => 408,
        ResourceConstraint => 500,
        ServiceUnavailable => 503,
        SubscriptionRequired => 400,
        UndefinedCondition => 400,
        UnexpectedRequest => 491,
    }
}

/// The second SIP response code the RFC 7247 §6.1 table allows for a condition, if any:
///
/// - `feature-not-implemented`: 405 when what is not implemented is the request's method
///   (a 405 must then list the allowed methods);
/// - `gone`: 301 when the `<gone/>` element carries the entity's new address (the 301's
///   Contact);
/// - `remote-server-not-found`: 408 when the remote server was found but never answered;
/// - `unexpected-request`: 400 when the request is not merely early, but out of place.
pub fn alternative_sip_status(condition: StanzaErrorCondition) -> Option<u16> {
    use StanzaErrorCondition::*;
    match condition {
        FeatureNotImplemented => Some(405),
        Gone => Some(301),
        RemoteServerNotFound => Some(408),
        UnexpectedRequest => Some(400),
        _ => None,
    }
}

/// The SIP response codes RFC 7247 §6.2 maps one by one; any other code takes its class's
/// condition (see [`stanza_error_for`]).
const SIP_TO_XMPP: &[(u16, StanzaErrorCondition)] = {
    use StanzaErrorCondition::*;
    &[
        (300, Redirect),
        (301, Gone),
        (302, Redirect),
        (305, Redirect),
        (380, Redirect),
        (400, BadRequest),
        (401, NotAuthorized),
        (402, BadRequest),
        (403, Forbidden),
        (404, ItemNotFound),
        (405, FeatureNotImplemented),
        (406, NotAcceptable),
        (407, NotAuthorized),
        (408, RemoteServerTimeout),
        (410, Gone),
        (413, PolicyViolation),
        (414, PolicyViolation),
        (415, NotAcceptable),
        (416, NotAcceptable),
        (420, FeatureNotImplemented),
        (421, NotAcceptable),
        (423, ResourceConstraint),
        (480, RecipientUnavailable),
        (481, ItemNotFound),
        (482, NotAcceptable),
        (483, NotAcceptable),
        (484, ItemNotFound),
        (485, ItemNotFound),
        (486, RecipientUnavailable),
        (487, ServiceUnavailable),
        (488, NotAcceptable),
        (491, UnexpectedRequest),
        (493, BadRequest),
        (500, InternalServerError),
        (501, FeatureNotImplemented),
        (502, RemoteServerNotFound),
        (503, ServiceUnavailable),
        (504, RemoteServerTimeout),
        (505, NotAcceptable),
        (513, PolicyViolation),
        (600, ServiceUnavailable),
        (603, ServiceUnavailable),
        (604, ItemNotFound),
        (606, NotAcceptable),
    ]
};

/// The stanza error for a SIP final non-2xx response code (RFC 7247 §6.2), with the type
/// RFC 6120 recommends for the condition.
///
/// A code the table does not list takes its class's condition: 3xx `redirect`, 4xx
/// `bad-request`, 5xx `internal-server-error`, 6xx `service-unavailable`. A code that is not
/// an error at all (1xx, 2xx, or outside 100–699) has no counterpart and gives
/// `undefined-condition`, so a caller's mistake still produces a well-formed error.
pub fn stanza_error_for(status: u16) -> (StanzaErrorType, StanzaErrorCondition) {
    use StanzaErrorCondition::*;
    let condition = SIP_TO_XMPP
        .iter()
        .find(|(code, _)| *code == status)
        .map(|(_, condition)| *condition)
        .unwrap_or(match status {
            300..=399 => Redirect,
            400..=499 => BadRequest,
            500..=599 => InternalServerError,
            600..=699 => ServiceUnavailable,
            _ => UndefinedCondition,
        });
    (condition.default_type(), condition)
}

#[cfg(test)]
#[path = "stanza_errors_tests.rs"]
mod tests;
