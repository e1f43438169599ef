//! Why one attempt at an upstream gave nothing to pass back. One value decides both whether the
//! next endpoint is tried and what the sender is answered, so the two can never disagree.

use std::net::SocketAddr;

use legate_filters_api::SipResponse;
use legate_sip::Message;

use super::attempts::Attempts;
use crate::core::TooLarge;

pub(crate) enum UpstreamFailure {
    /// No connection, handshake or send: nothing reached the endpoint.
    Unreachable { addr: SocketAddr, error: String },
    /// Reached, but no final answer within the transaction's timer.
    Timeout { addr: SocketAddr },
    /// Answered 503: there, but not taking this now. Its answer is what the sender gets when no
    /// endpoint is tried after it.
    Overloaded { addr: SocketAddr, answer: Message },
    /// What Legate would send is over its limits: no endpoint would fare better.
    TooLarge(TooLarge),
}

impl UpstreamFailure {
    /// Whether another endpoint may fare better.
    pub fn retryable(&self) -> bool {
        !matches!(self, UpstreamFailure::TooLarge(_))
    }

    /// For logs, and the Warning an internal sender reads.
    pub fn describe(&self) -> String {
        match self {
            UpstreamFailure::Unreachable { addr, error } => format!("{addr} unreachable: {error}"),
            UpstreamFailure::Timeout { addr } => format!("{addr} timed out"),
            UpstreamFailure::Overloaded { addr, .. } => format!("{addr} answered 503"),
            UpstreamFailure::TooLarge(too_large) => too_large.to_string(),
        }
    }

    /// The sender's answer when this failure is the last word: a single next hop (in-dialog),
    /// a cancelled request, or one that no endpoint can take.
    pub fn answer(self, attempts: &Attempts<'_>) -> SipResponse {
        match self {
            UpstreamFailure::Overloaded { answer, .. } => SipResponse::upstream(answer),
            UpstreamFailure::Timeout { .. } => {
                attempts.local(408, "Request Timeout", "next hop did not answer")
            }
            UpstreamFailure::Unreachable { addr, error } => {
                attempts.unavailable(&format!("next hop {addr} unreachable: {error}"))
            }
            UpstreamFailure::TooLarge(too_large) => attempts.too_large(&too_large),
        }
    }
}
