//! Stanza errors and their SIP counterparts: the RFC 6120 §8.3 error types and defined
//! conditions, and the two mappings of RFC 7247 §7 — a stanza error condition to the SIP
//! response code a gateway answers with, and a SIP response code to the stanza error it sends.
//! The RFC calls its tables suggestions; Legate follows them as written.
//!
//! The SIP ↔ XMPP translation is the caller: when an XMPP peer bounces a stanza that came from
//! SIP, [`sip_status_for`] gives the response to send back; when a SIP request that came from
//! XMPP fails, [`stanza_error_for`] gives the `<error/>` to return. Keeping both tables here
//! means the mapping is decided in one place.
//!
//! ```
//! use legate_xmpp::stanza_errors::{
//!     sip_status_for, sip_status_in, stanza_error_for, ErrorContext, StanzaErrorCondition,
//!     StanzaErrorType,
//! };
//!
//! assert_eq!(sip_status_for(StanzaErrorCondition::ItemNotFound), 404);
//! // About the user rather than one endpoint: a 6xx global failure.
//! let account = ErrorContext { bare_jid: true, ..ErrorContext::default() };
//! assert_eq!(sip_status_in(StanzaErrorCondition::ItemNotFound, account), 604);
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

/// What the gateway knows about a stanza error beyond its condition. RFC 7247 §7.1 picks
/// between two SIP codes on these for six conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// The error concerns a bare JID (the user, all of their endpoints) rather than a full JID
    /// (one endpoint). SIP says so with its 6xx global failures: `forbidden`,
    /// `item-not-found`, `not-acceptable` and `recipient-unavailable` become 603, 604, 606 and
    /// 600 instead of 403, 404, 406 and 480, and `feature-not-implemented` becomes 501 instead
    /// of 405.
    pub bare_jid: bool,
    /// The `<gone/>` element carries the entity's new address, which the 301 then names; the
    /// RFC requires 301 with an address and 410 without.
    pub new_address: bool,
    /// A `remote-server-not-found` means the server could not be resolved (408) rather than
    /// that it does not exist (404).
    pub unresolved: bool,
}

/// The SIP response code for a stanza error condition (RFC 7247 §7.1), in the default
/// [`ErrorContext`]: about one endpoint (a full JID), with no new address, for a server that
/// does not exist. Use [`sip_status_in`] when more is known.
pub fn sip_status_for(condition: StanzaErrorCondition) -> u16 {
    sip_status_in(condition, ErrorContext::default())
}

/// The SIP response code for a stanza error condition (RFC 7247 §7.1) in a given context.
///
/// Two rows need a choice the table leaves open. `service-unavailable` gives 403: the RFC
/// advises against 503, which a SIP client takes to mean the whole server is unreachable, and
/// names 403 and 405 as the closest codes; 403 also keeps an error that hides whether an
/// account exists from saying more. `unexpected-request` ("491 or 400") gives 491, the
/// code SIP uses for a request that arrives while another is still pending.
pub fn sip_status_in(condition: StanzaErrorCondition, context: ErrorContext) -> u16 {
    use StanzaErrorCondition::*;
    let account_or = |endpoint, account| if context.bare_jid { account } else { endpoint };
    match condition {
        BadRequest => 400,
        Conflict => 400,
        FeatureNotImplemented => account_or(405, 501),
        Forbidden => account_or(403, 603),
        Gone if context.new_address => 301,
        Gone => 410,
        InternalServerError => 500,
        ItemNotFound => account_or(404, 604),
        JidMalformed => 400,
        NotAcceptable => account_or(406, 606),
        NotAllowed => 403,
        NotAuthorized => 401,
        PolicyViolation => 403,
        RecipientUnavailable => account_or(480, 600),
        Redirect => 302,
        RegistrationRequired => 407,
        RemoteServerNotFound if context.unresolved => 408,
        RemoteServerNotFound => 404,
        RemoteServerTimeout => 408,
        ResourceConstraint => 500,
        ServiceUnavailable => 403,
        SubscriptionRequired => 400,
        UndefinedCondition => 400,
        UnexpectedRequest => 491,
    }
}

/// The SIP response codes RFC 7247 §7.2 maps one by one; any other code takes its class's
/// condition (see [`stanza_error_for`]).
const SIP_TO_XMPP: &[(u16, StanzaErrorCondition)] = {
    use StanzaErrorCondition::*;
    &[
        (300, Redirect),
        (301, Gone),
        (302, Redirect),
        (305, Redirect),
        (380, NotAcceptable),
        (400, BadRequest),
        (401, NotAuthorized),
        // 402's own counterpart, payment-required, left XMPP with RFC 6120.
        (402, BadRequest),
        (403, Forbidden),
        (404, ItemNotFound),
        (405, FeatureNotImplemented),
        (406, NotAcceptable),
        (407, RegistrationRequired),
        (408, RemoteServerTimeout),
        (410, Gone),
        (413, PolicyViolation),
        (414, PolicyViolation),
        (415, NotAcceptable),
        (416, NotAcceptable),
        (420, FeatureNotImplemented),
        (421, NotAcceptable),
        (423, ResourceConstraint),
        (430, RecipientUnavailable),
        (439, FeatureNotImplemented),
        (440, PolicyViolation),
        (480, RecipientUnavailable),
        (481, ItemNotFound),
        (482, NotAcceptable),
        (483, NotAcceptable),
        (484, ItemNotFound),
        (485, ItemNotFound),
        (486, RecipientUnavailable),
        (487, RecipientUnavailable),
        (488, NotAcceptable),
        (489, PolicyViolation),
        (491, UnexpectedRequest),
        (493, BadRequest),
        (500, InternalServerError),
        (501, FeatureNotImplemented),
        (502, RemoteServerNotFound),
        // Not service-unavailable: see sip_status_in on why the two do not match.
        (503, InternalServerError),
        (504, RemoteServerTimeout),
        (505, NotAcceptable),
        (513, PolicyViolation),
        (600, RecipientUnavailable),
        (603, RecipientUnavailable),
        (604, ItemNotFound),
        (606, NotAcceptable),
    ]
};

/// The stanza error for a SIP final non-2xx response code (RFC 7247 §7.2), with the type
/// RFC 6120 §8.3.3 recommends for the condition.
///
/// A code the table does not list takes its class's condition: 3xx `redirect`, 4xx
/// `bad-request`, 5xx `internal-server-error`, 6xx `recipient-unavailable`. The RFC maps no
/// 1xx or 2xx code (nothing in XMPP corresponds to them); such a code, or one outside
/// 100–699, gives `undefined-condition`, so a caller's mistake still produces a well-formed
/// error rather than a panic.
///
/// A `<gone/>` built for a 301 must carry the new address (the 301's Contact) as its text, and
/// one built for a 410 must not.
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
            600..=699 => RecipientUnavailable,
            _ => UndefinedCondition,
        });
    (condition.default_type(), condition)
}

/// The other conditions RFC 7247 §7.2 names for a SIP code "depending on the scenario", for a
/// gateway that knows more than the code: 403 may be `not-allowed` or `policy-violation`, 404
/// and 408 may be `remote-server-not-found`.
pub fn other_conditions_for(status: u16) -> &'static [StanzaErrorCondition] {
    use StanzaErrorCondition::*;
    match status {
        403 => &[NotAllowed, PolicyViolation],
        404 | 408 => &[RemoteServerNotFound],
        _ => &[],
    }
}

#[cfg(test)]
#[path = "stanza_errors_tests.rs"]
mod tests;
