//! A refusal: one typed value for "this filter will not let the request through", whoever
//! raised it. Audit records it as `denied` with its rule id, `/metrics` counts it by filter, and
//! the far side reads its status, reason phrase and Warning.

use std::borrow::Cow;

/// Why a filter refused a request.
///
/// ```
/// use legate_filters_api::Refusal;
///
/// let refusal = Refusal::new("example.filters.sip.dlp", 403, "content not permitted")
///     .warning("content not permitted (rule card-number)")
///     .rule("card-number");
/// assert_eq!(refusal.rule_id.as_deref(), Some("card-number"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The refusing filter's registered name.
    pub filter: &'static str,
    /// The SIP status answered: 4xx, 5xx or 6xx.
    pub status: u16,
    /// The reason phrase of the answer.
    pub reason: Cow<'static, str>,
    /// What the sender can act on, sent in a `Warning` (code 399); empty for none.
    pub warning: String,
    /// The configured rule (or limit) that decided, for audit and traces.
    pub rule_id: Option<String>,
    /// What the filter decided on (`remote_domain`, `service`, …), shown in the request's
    /// trace so a refusal can be explained; never message bodies.
    pub inputs: Vec<(&'static str, String)>,
}

impl Refusal {
    /// A refusal by `filter` with `status` and `reason`. A status outside 400–699 is answered
    /// as 403: a refusal never passes for success.
    pub fn new(filter: &'static str, status: u16, reason: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal {
            filter,
            status: if (400..700).contains(&status) {
                status
            } else {
                403
            },
            reason: reason.into(),
            warning: String::new(),
            rule_id: None,
            inputs: Vec::new(),
        }
    }

    /// The text of the answer's `Warning`.
    pub fn warning(mut self, text: impl Into<String>) -> Refusal {
        self.warning = text.into();
        self
    }

    /// The rule that decided.
    pub fn rule(mut self, id: impl Into<String>) -> Refusal {
        self.rule_id = Some(id.into());
        self
    }

    /// One thing the decision was made on, for the trace (`remote_domain`, `service`).
    pub fn input(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.inputs.push((name, value.into()));
        self
    }
}
