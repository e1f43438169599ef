//! The request and response types every filter sees.

use legate_sip::Message;

use crate::answer::local_answer;
use crate::{Context, DialogInfo, Refusal};

/// A SIP request on its way through the chain, with the typed context filters attach to it.
#[derive(Debug)]
pub struct SipRequest {
    pub message: Message,
    pub context: Context,
}

impl SipRequest {
    /// Whether the request belongs to an established dialog (the proxy found its route and it
    /// carries a To tag). Filters that judge dialogs when they start let these pass.
    pub fn is_in_dialog(&self) -> bool {
        let dialog = self.context.get::<DialogInfo>();
        dialog.is_some_and(|d| d.in_dialog) && self.view().to_tag().is_some()
    }

    /// The answer refusing this request.
    pub fn refuse(&self, refusal: Refusal) -> SipResponse {
        SipResponse::refused(self, refusal)
    }
}

/// The final response a chain produces: from upstream, or answered locally by a filter.
#[derive(Debug, Clone)]
pub struct SipResponse {
    pub message: Message,
    /// The filter that answered locally, if one did; `None` for upstream responses.
    pub answered_by: Option<&'static str>,
    /// Why, when the local answer is a refusal: what audit records as `denied`.
    pub refusal: Option<Refusal>,
    /// Typed values filters attach on the way back, for the proxy core (the
    /// [`DialogHolds`](crate::DialogHolds) the dialog table keeps for the dialog's life) and for
    /// filters in front of them (the policy decision, for audit).
    pub context: Context,
}

impl SipResponse {
    /// A response from upstream (or the proxy core), passed back through the chain.
    pub fn upstream(message: Message) -> SipResponse {
        SipResponse {
            message,
            answered_by: None,
            refusal: None,
            context: Context::new(),
        }
    }

    /// A local answer to `request` from the filter `filter` that is not a refusal (a 200 to an
    /// OPTIONS, a 503 while a resource is down), with `warning` for a human.
    pub fn local(
        request: &SipRequest,
        filter: &'static str,
        code: u16,
        reason: &str,
        warning: &str,
    ) -> SipResponse {
        SipResponse {
            message: local_answer(&request.message, code, reason, Some(warning)),
            answered_by: Some(filter),
            refusal: None,
            context: Context::new(),
        }
    }

    /// The answer to `request` carrying `refusal`.
    pub fn refused(request: &SipRequest, refusal: Refusal) -> SipResponse {
        let message = local_answer(
            &request.message,
            refusal.status,
            &refusal.reason,
            Some(&refusal.warning),
        );
        SipResponse {
            message,
            answered_by: Some(refusal.filter),
            refusal: Some(refusal),
            context: Context::new(),
        }
    }

    pub fn status(&self) -> u16 {
        self.message.status().unwrap_or(500)
    }
}
