//! One audit record: one interaction event at the boundary.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A call or session was established (2xx to INVITE).
    DialogStart,
    /// It ended (BYE, or expiry).
    DialogEnd,
    /// A stand-alone request: MESSAGE, PUBLISH, OPTIONS, INFO …
    Request,
    /// A presence subscription was accepted.
    SubscriptionStart,
    /// It ended (unsubscribe, terminating NOTIFY, expiry).
    SubscriptionEnd,
    /// Policy, authentication or a limit refused the request.
    Denied,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DialogStart => "dialog_start",
            EventKind::DialogEnd => "dialog_end",
            EventKind::Request => "request",
            EventKind::SubscriptionStart => "subscription_start",
            EventKind::SubscriptionEnd => "subscription_end",
            EventKind::Denied => "denied",
        }
    }
}

/// Who said what to whom, as seen at the boundary. Addresses are `user@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When, in microseconds since the Unix epoch (UTC).
    pub at_micros: i64,
    pub event: EventKind,
    /// The SIP method of the request the event is about.
    pub method: String,
    pub call_id: String,
    /// The organisation's user, in its internal form (`a.smith@corp.internal`).
    pub local_internal: Option<String>,
    /// The same user as the outside sees them (`alice@acme.example`).
    pub local_federated: Option<String>,
    /// The party on the other side of the boundary.
    pub remote: Option<String>,
    /// `im`, `presence`, `voice`, `video`, `file-transfer` or `chat`.
    pub service: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The federation partner, by its configured name.
    pub partner: Option<String>,
    /// The listener the request arrived on.
    pub listener: String,
    /// `allow` or `deny`, when a policy decided.
    pub decision: Option<String>,
    /// The id of the rule that decided.
    pub rule_id: Option<String>,
    /// The final status of the request (0 when there was none, e.g. a dialog ended by expiry).
    pub status: u16,
    /// The version of the configuration snapshot the request ran under.
    pub config_version: u64,
    /// The trace id, to find the request in the tracing backend.
    pub trace_id: Option<String>,
    /// The message body, only where the partner's policy asks for it (redacted, capped).
    pub body: Option<String>,
}

/// Record `n` of a run: a MESSAGE allowed towards one partner, its time and Call-ID from `n`.
#[cfg(test)]
pub(crate) fn sample(n: i64) -> AuditRecord {
    AuditRecord {
        at_micros: 1_700_000_000_000_000 + n,
        event: EventKind::Request,
        method: "MESSAGE".into(),
        call_id: format!("call-{n}"),
        local_internal: Some("a.smith@corp.internal".into()),
        local_federated: Some("alice@acme.example".into()),
        remote: Some("bob@partner.example".into()),
        service: "im".into(),
        direction: "outbound".into(),
        partner: Some("partner".into()),
        listener: "internal".into(),
        decision: Some("allow".into()),
        rule_id: Some("r1".into()),
        status: 200,
        config_version: 1,
        trace_id: None,
        body: None,
    }
}
