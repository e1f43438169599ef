//! The limits a partner can run into, and the answer it gets when it does.

use legate_sip::{Header, HeaderKind};

use super::NAME;
use legate_filters_api::{Refusal, SipRequest, SipResponse};

/// One of a partner's `limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    RequestsPerSecond,
    MaxSessions,
    MaxSubscriptions,
    MaxSubscriptionsPerUser,
}

impl Limit {
    /// Every limit, in declaration order (so `limit as usize` indexes it).
    pub const ALL: [Limit; 4] = [
        Limit::RequestsPerSecond,
        Limit::MaxSessions,
        Limit::MaxSubscriptions,
        Limit::MaxSubscriptionsPerUser,
    ];

    /// The limit's key in the partner's `limits` section, also its metric label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::RequestsPerSecond => "requests_per_second",
            Limit::MaxSessions => "max_sessions",
            Limit::MaxSubscriptions => "max_subscriptions",
            Limit::MaxSubscriptionsPerUser => "max_subscriptions_per_user",
        }
    }

    /// What the partner is told: which limit, never the numbers or who else holds what.
    fn warning(self) -> &'static str {
        match self {
            Limit::RequestsPerSecond => "partner request rate exceeded",
            Limit::MaxSessions => "partner session limit reached (max_sessions)",
            Limit::MaxSubscriptions => "partner subscription limit reached (max_subscriptions)",
            Limit::MaxSubscriptionsPerUser => {
                "subscription limit of this user reached (max_subscriptions_per_user)"
            }
        }
    }

    /// 503 with `Retry-After: retry_after` seconds and the limit in a `Warning`; the limit is
    /// the refusal's rule.
    pub(crate) fn refuse(self, request: &SipRequest, retry_after: u64) -> SipResponse {
        let refusal = Refusal::new(NAME, 503, "Service Unavailable")
            .warning(self.warning())
            .rule(self.label());
        let mut response = request.refuse(refusal);
        response
            .message
            .headers
            .push(Header::new(HeaderKind::RetryAfter, retry_after.to_string()));
        response
    }
}
