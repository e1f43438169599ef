//! What a request's trace records of the chain: one step per filter it entered (when, and what
//! the filter did with the request), and notes filters add. The chain records the steps itself;
//! the proxy turns them into spans. Only sampled requests carry a [`FilterTrace`]. The same
//! wrapper times each filter for `legate_filter_duration_seconds`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::time::Instant;

use legate_sip::Message;

use crate::metrics::Histogram;
use crate::{BoxSipService, FilterError, Refusal, SipRequest, SipResponse};

/// The trace a request belongs to, whether or not it is sampled: audit records and logs name it
/// so that one can be found from the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIds {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// The transaction's span, 16 hex digits.
    pub span_id: String,
    pub sampled: bool,
}

/// The chain's record of one sampled request.
#[derive(Debug, Default)]
pub struct FilterTrace {
    steps: Mutex<Vec<FilterStep>>,
    notes: Mutex<Vec<(&'static str, String)>>,
}

/// One filter's part: from the moment the request entered it until it passed the request on,
/// answered, or failed.
#[derive(Debug, Clone)]
pub struct FilterStep {
    pub filter: Arc<str>,
    pub start: SystemTime,
    pub end: Option<SystemTime>,
    pub outcome: StepOutcome,
    /// The request as it entered, to tell whether the filter changed it.
    entered_with: Option<Message>,
}

/// What a filter did with the request.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Still inside the filter.
    Running,
    /// Passed on to the next filter, changed or not.
    Passed { changed: bool },
    /// Answered by the filter itself; a refusal says why.
    Answered {
        status: u16,
        refusal: Option<Refusal>,
    },
    /// The router's step: the answer came from upstream.
    Forwarded { status: u16 },
    /// The filter failed (infrastructure, not a refusal).
    Failed { error: String },
}

impl FilterTrace {
    pub fn new() -> FilterTrace {
        FilterTrace::default()
    }

    /// Adds `key = value` to the request's transaction span (`legate.partner`,
    /// `legate.policy.rule_id`, or a vendor's own `<vendor>.…` keys). A later note of the same
    /// key replaces the earlier one.
    pub fn note(&self, key: &'static str, value: impl Into<String>) {
        let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        let value = value.into();
        match notes.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => notes.push((key, value)),
        }
    }

    /// The steps so far, in the order the filters were entered.
    pub fn steps(&self) -> Vec<FilterStep> {
        self.steps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn notes(&self) -> Vec<(&'static str, String)> {
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `filter` is entered: the filter before it, if still running, passed the request on.
    fn enter(&self, filter: &Arc<str>, request: &Message) -> usize {
        let now = SystemTime::now();
        let mut steps = self.steps.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(previous) = steps
            .iter_mut()
            .rev()
            .find(|step| step.outcome == StepOutcome::Running)
        {
            let changed = previous
                .entered_with
                .take()
                .is_some_and(|before| before != *request);
            previous.end = Some(now);
            previous.outcome = StepOutcome::Passed { changed };
        }
        steps.push(FilterStep {
            filter: filter.clone(),
            start: now,
            end: None,
            outcome: StepOutcome::Running,
            entered_with: Some(request.clone()),
        });
        steps.len() - 1
    }

    /// The call of the filter at `index` returned: if it never passed the request on, it
    /// answered (or failed) itself.
    fn leave(&self, index: usize, result: &Result<SipResponse, FilterError>) {
        let mut steps = self.steps.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(step) = steps.get_mut(index) else {
            return;
        };
        if step.outcome != StepOutcome::Running {
            return;
        }
        step.end = Some(SystemTime::now());
        step.entered_with = None;
        step.outcome = match result {
            Ok(response) if response.answered_by.is_none() => StepOutcome::Forwarded {
                status: response.status(),
            },
            Ok(response) => StepOutcome::Answered {
                status: response.status(),
                refusal: response.refusal.clone(),
            },
            Err(error) => StepOutcome::Failed {
                error: error.to_string(),
            },
        };
    }
}

impl SipRequest {
    /// The request's trace record, when it is sampled: for filters to [`FilterTrace::note`]
    /// what they decided.
    pub fn trace(&self) -> Option<&FilterTrace> {
        self.context.trace().map(Arc::as_ref)
    }
}

/// `service` (the filter named `filter`, and the rest of the chain behind it) with its own time
/// observed in `duration` (its total less the time of the filters after it) and, for sampled
/// requests, its step recorded.
pub(crate) fn step(
    filter: &str,
    duration: Option<Histogram>,
    service: BoxSipService,
) -> BoxSipService {
    let filter: Arc<str> = filter.into();
    BoxSipService::from_fn(move |request: SipRequest| {
        let trace = request.context.trace().cloned();
        let index = trace
            .as_ref()
            .map(|trace| trace.enter(&filter, &request.message));
        let started = Instant::now();
        let call = service.call_shared(request);
        let duration = duration.clone();
        Box::pin(async move {
            let mut result = call.await;
            let total = started.elapsed();
            if let Some(duration) = &duration {
                let after = result
                    .as_ref()
                    .ok()
                    .and_then(|response| response.context.chain_time)
                    .unwrap_or_default();
                duration.observe(total.saturating_sub(after).as_secs_f64());
            }
            if let Ok(response) = &mut result {
                response.context.chain_time = Some(total);
            }
            if let (Some(trace), Some(index)) = (trace, index) {
                trace.leave(index, &result);
            }
            result
        })
    })
}
