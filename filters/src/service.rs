//! The request and response types every filter sees, and the boxed service a chain is made of.

use legate_sip::Message;
use tower::util::BoxCloneSyncService;

use crate::{Context, DialogInfo, FilterError};

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
        dialog.is_some_and(|d| d.in_dialog)
            && self.message.to_header().is_ok_and(|to| to.tag().is_some())
    }
}

/// The final response a chain produces: from upstream, or answered locally by a filter.
#[derive(Debug, Clone)]
pub struct SipResponse {
    pub message: Message,
    /// The filter that answered locally, if one did; `None` for upstream responses.
    pub answered_by: Option<&'static str>,
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
            context: Context::new(),
        }
    }

    /// A local answer to `request` from the filter `filter`, with a reason a human can act on.
    ///
    /// The reason goes into a `Warning` header (RFC 3261 §20.43, code 399) so the far side sees
    /// why, not only the status.
    pub fn local(
        request: &SipRequest,
        filter: &'static str,
        code: u16,
        reason: &str,
        warning: &str,
    ) -> SipResponse {
        let mut message = Message::response_to(&request.message, code, reason);
        if !warning.is_empty() {
            let text = warning.replace(['"', '\\', '\r', '\n'], " ");
            message.headers.push(legate_sip::Header::new(
                legate_sip::HeaderKind::Warning,
                format!("399 legate \"{text}\""),
            ));
        }
        SipResponse {
            message,
            answered_by: Some(filter),
            context: Context::new(),
        }
    }

    pub fn status(&self) -> u16 {
        self.message.status().unwrap_or(500)
    }
}

/// A built chain (or any part of one): cheap to clone, shared by every dialog of a snapshot.
pub type BoxSipService = BoxCloneSyncService<SipRequest, SipResponse, FilterError>;
