//! Building records: what the filter notes of a request before passing it on ([`Observed`]),
//! and the record of each event from that and what came back.

use std::time::{SystemTime, UNIX_EPOCH};

use legate_audit::{AuditRecord, EventKind};
use legate_sip::{Method, Uri};

use super::body::BodyCapture;
use crate::domain_policy::{classify, PolicyDecision};
use crate::translation::MappedLocalUser;
use legate_filters_api::Authenticated;
use legate_filters_api::{
    ConfigVersion, Context, ListenerInfo, Peers, Side, SipRequest, SipResponse, TraceIds,
};

/// The kind of dialog a request opens, if it is answered with a 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opens {
    Dialog,
    Subscription,
}

/// What a request looked like when it reached the filter.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    method: String,
    call_id: String,
    side: Side,
    listener: String,
    service: &'static str,
    config_version: u64,
    /// The local user and the remote party as written when the request reached the filter.
    local: Option<String>,
    remote: Option<String>,
    /// What filters in front of this one attached.
    authenticated: Option<Authenticated>,
    decision: Option<PolicyDecision>,
    mapped: Option<MappedLocalUser>,
    /// The partner the request is with, as far as is known before it goes on: the one authn
    /// established, or the owner of the remote domain.
    partner: Option<String>,
    pub opens: Option<Opens>,
    body: Option<String>,
    /// The request's trace, so its record and its spans lead to each other.
    trace_id: Option<String>,
}

impl Observed {
    /// Notes `request`, which arrived on a listener of `side` named `listener` (unless the
    /// request's own [`ListenerInfo`] says otherwise).
    pub fn of(request: &SipRequest, side: Side, listener: &str, peers: &Peers) -> Observed {
        let message = &request.message;
        let context = &request.context;
        let (side, listener) = match context.get::<ListenerInfo>() {
            Some(info) => (info.side, info.name.to_string()),
            None => (side, listener.to_string()),
        };
        let view = request.view();
        let (local, remote) = view.ends(side);
        let remote_domain = remote.map(Uri::host_lowercase);
        let authenticated = context.get::<Authenticated>().cloned();
        let partner = match &authenticated {
            Some(Authenticated::Peer { name, .. }) => Some(name.clone()),
            _ => remote_domain
                .as_deref()
                .and_then(|domain| peers.owner_of(domain))
                .map(|peer| peer.name.clone()),
        };
        let opens = match message.method() {
            Some(Method::Invite) => Some(Opens::Dialog),
            Some(Method::Subscribe) => Some(Opens::Subscription),
            _ => None,
        };
        Observed {
            method: message.method().map_or("", |m| m.as_str()).to_string(),
            call_id: message
                .call_id()
                .map(|id| String::from_utf8_lossy(id).into_owned())
                .unwrap_or_default(),
            side,
            listener,
            service: classify(message).as_str(),
            config_version: context.get::<ConfigVersion>().map_or(0, |v| v.0),
            local: local.map(Uri::address),
            remote: remote.map(Uri::address),
            authenticated,
            decision: context.get::<PolicyDecision>().cloned(),
            mapped: context.get::<MappedLocalUser>().cloned(),
            partner,
            opens,
            body: None,
            trace_id: context.get::<TraceIds>().map(|ids| ids.trace_id.clone()),
        }
    }

    /// The partner whose overrides apply.
    pub fn partner(&self) -> Option<&str> {
        self.partner.as_deref()
    }

    /// Keeps the request's body in the records (for partners that ask for it).
    pub fn keep_body(&mut self, capture: &BodyCapture, body: &[u8]) {
        self.body = capture.capture(body);
    }

    /// The record written before the request goes on, in closed mode: a `request` with no
    /// status yet.
    pub fn attempt(&self) -> AuditRecord {
        self.record(EventKind::Request, 0, None)
    }

    /// The record of how the request ended, from its final response.
    pub fn outcome(&self, response: &SipResponse) -> AuditRecord {
        let status = response.status();
        let event = match (&response.refusal, self.opens) {
            (Some(_), _) => EventKind::Denied,
            (_, Some(Opens::Dialog)) if (200..300).contains(&status) => EventKind::DialogStart,
            (_, Some(Opens::Subscription)) if (200..300).contains(&status) => {
                EventKind::SubscriptionStart
            }
            _ => EventKind::Request,
        };
        let mut record = self.record(event, status, Some(&response.context));
        if let Some(refusal) = &response.refusal {
            // The refusing filter's rule, whichever filter it was.
            record.rule_id = refusal.rule_id.clone();
            record.decision = Some("deny".to_string());
        }
        record
    }

    /// The record of a request that failed inside Legate (no response came back).
    pub fn failure(&self, status: u16) -> AuditRecord {
        self.record(EventKind::Request, status, None)
    }

    /// `event` with everything known; `answer` is the response's context, where filters after
    /// this one leave what they learnt (partner, policy decision, mapped addresses).
    fn record(&self, event: EventKind, status: u16, answer: Option<&Context>) -> AuditRecord {
        let authenticated = answer
            .and_then(Context::get::<Authenticated>)
            .or(self.authenticated.as_ref());
        let partner = match authenticated {
            Some(Authenticated::Peer { name, .. }) => Some(name.clone()),
            // Inbound, only authn can say who the partner is.
            _ if self.side == Side::External => None,
            _ => self.partner.clone(),
        };
        let decision = answer
            .and_then(Context::get::<PolicyDecision>)
            .or(self.decision.as_ref());
        let mapped = answer
            .and_then(Context::get::<MappedLocalUser>)
            .or(self.mapped.as_ref());
        // Without translation, the local user has one address on both sides.
        let (local_internal, local_federated) = match mapped {
            Some(mapped) => (
                Some(mapped.internal.clone()),
                Some(mapped.federated.clone()),
            ),
            None => (self.local.clone(), self.local.clone()),
        };
        AuditRecord {
            at_micros: now_micros(),
            event,
            method: self.method.clone(),
            call_id: self.call_id.clone(),
            local_internal,
            local_federated,
            remote: self.remote.clone(),
            service: self.service.to_string(),
            direction: match self.side {
                Side::Internal => "outbound",
                Side::External => "inbound",
            }
            .to_string(),
            partner,
            listener: self.listener.clone(),
            decision: decision.map(|d| d.action.as_str().to_string()),
            rule_id: decision.and_then(|d| d.rule_id.clone()),
            status,
            config_version: self.config_version,
            trace_id: self.trace_id.clone(),
            body: self.body.clone(),
        }
    }
}

/// Now, in microseconds since the Unix epoch.
pub(crate) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
        })
}
