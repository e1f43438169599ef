//! One request's trace while Legate handles it, and the spans it becomes: the transaction
//! (server) span, a child per filter step, a child per upstream attempt.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use legate_filters_api::{FilterStep, FilterTrace, ListenerInfo, Side, StepOutcome, Transport};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::Telemetry;

/// A request's place in its trace, shared by the engine and the router while it runs.
pub struct RequestTrace {
    pub trace_id: TraceId,
    /// The transaction's span.
    pub span_id: SpanId,
    /// The caller's span, when its `traceparent` was joined.
    pub parent: Option<SpanId>,
    pub sampled: bool,
    pub tracestate: Option<String>,
    pub start: SystemTime,
    /// The chain's record of the request; sampled requests only.
    pub filters: Option<Arc<FilterTrace>>,
    pub attempts: Mutex<Vec<Attempt>>,
}

/// One upstream attempt, as the router saw it.
pub struct Attempt {
    pub span_id: SpanId,
    pub start: SystemTime,
    pub end: SystemTime,
    pub addr: SocketAddr,
    pub transport: Transport,
    /// The TLS name the next hop's certificate was checked against.
    pub tls_server_name: Option<String>,
    pub target: String,
    pub result: AttemptResult,
}

/// How an attempt ended.
pub enum AttemptResult {
    /// A final answer (2xx–6xx, but not a 503 that sends the router on).
    Answered(u16),
    /// No usable answer: why the router tried the next hop (or gave up).
    Failed(String),
}

/// What the transaction span reports when it ends.
pub struct TransactionEnd<'a> {
    pub method: &'a str,
    pub status: u16,
    pub call_id: &'a [u8],
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub listener: &'a ListenerInfo,
    pub peer: SocketAddr,
    pub config_version: u64,
}

impl RequestTrace {
    /// The W3C `trace-id`, for audit records and logs.
    pub fn trace_ids(&self) -> legate_filters_api::TraceIds {
        legate_filters_api::TraceIds {
            trace_id: self.trace_id.to_string(),
            span_id: self.span_id.to_string(),
            sampled: self.sampled,
        }
    }

    pub fn record_attempt(&self, attempt: Attempt) {
        if self.sampled {
            self.attempts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(attempt);
        }
    }

    /// The transaction's spans, ended now.
    pub(super) fn spans(&self, end: &TransactionEnd<'_>, telemetry: &Telemetry) -> Vec<SpanData> {
        let out = &Emit {
            telemetry,
            state: self
                .tracestate
                .as_deref()
                .and_then(|state| TraceState::from_str(state).ok())
                .unwrap_or_default(),
        };
        let now = SystemTime::now();
        let steps = self
            .filters
            .as_ref()
            .map(|filters| filters.steps())
            .unwrap_or_default();
        let notes = self
            .filters
            .as_ref()
            .map(|filters| filters.notes())
            .unwrap_or_default();
        let attempts =
            std::mem::take(&mut *self.attempts.lock().unwrap_or_else(PoisonError::into_inner));
        let mut spans = Vec::with_capacity(1 + steps.len() + attempts.len());
        spans.push(self.transaction_span(end, &steps, notes, now, out));
        for step in &steps {
            spans.push(self.step_span(step, now, out));
        }
        for attempt in attempts {
            spans.push(self.attempt_span(attempt, end.method, out));
        }
        spans
    }

    fn transaction_span(
        &self,
        end: &TransactionEnd<'_>,
        steps: &[FilterStep],
        notes: Vec<(&'static str, String)>,
        now: SystemTime,
        out: &Emit<'_>,
    ) -> SpanData {
        let listener = end.listener;
        let mut attributes = vec![
            KeyValue::new("sip.method", end.method.to_string()),
            KeyValue::new("sip.status_code", i64::from(end.status)),
            KeyValue::new("legate.listener", listener.name.to_string()),
            KeyValue::new("legate.side", side_name(listener.side)),
            KeyValue::new("legate.config.version", end.config_version as i64),
            KeyValue::new("network.transport", transport_name(listener.transport)),
            KeyValue::new("network.peer.address", end.peer.ip().to_string()),
            KeyValue::new("network.peer.port", i64::from(end.peer.port())),
            KeyValue::new("server.address", listener.local_addr.ip().to_string()),
            KeyValue::new("server.port", i64::from(listener.local_addr.port())),
        ];
        if let Some(call_id) = out.telemetry.display(end.call_id) {
            attributes.push(KeyValue::new("sip.call_id", call_id));
        }
        for (key, address) in [("sip.from", end.from), ("sip.to", end.to)] {
            if let Some(shown) = address.and_then(|a| out.telemetry.display(a.as_bytes())) {
                attributes.push(KeyValue::new(key, shown));
            }
        }
        let refusal = steps.iter().find_map(|step| match &step.outcome {
            StepOutcome::Answered {
                refusal: Some(refusal),
                ..
            } => Some(refusal),
            _ => None,
        });
        if let Some(refusal) = refusal {
            attributes.push(KeyValue::new("legate.policy.decision", "deny"));
            attributes.push(KeyValue::new("legate.refused_by", refusal.filter));
            if let Some(rule) = &refusal.rule_id {
                attributes.push(KeyValue::new("legate.policy.rule_id", rule.clone()));
            }
        }
        for (key, value) in notes {
            // A refusal's own rule id and decision stand; notes fill in the rest.
            if refusal.is_none() || !key.starts_with("legate.policy.") {
                attributes.push(KeyValue::new(key, value));
            }
        }
        SpanData {
            parent_span_id: self.parent.unwrap_or(SpanId::INVALID),
            parent_span_is_remote: self.parent.is_some(),
            span_kind: SpanKind::Server,
            name: Cow::Owned(format!("SIP {}", end.method)),
            start_time: self.start,
            end_time: now,
            attributes,
            status: if end.status >= 500 {
                Status::error(format!("answered {}", end.status))
            } else {
                Status::Unset
            },
            ..self.span(self.span_id, out)
        }
    }

    fn step_span(&self, step: &FilterStep, now: SystemTime, out: &Emit<'_>) -> SpanData {
        let mut attributes = vec![KeyValue::new("legate.filter", step.filter.to_string())];
        let mut status = Status::Unset;
        let verdict = match &step.outcome {
            StepOutcome::Running => "unfinished".to_string(),
            StepOutcome::Passed { changed: false } => "passed".to_string(),
            StepOutcome::Passed { changed: true } => "changed".to_string(),
            StepOutcome::Forwarded { status } => {
                attributes.push(KeyValue::new("sip.status_code", i64::from(*status)));
                "forwarded".to_string()
            }
            StepOutcome::Answered { status, refusal } => {
                attributes.push(KeyValue::new("sip.status_code", i64::from(*status)));
                match refusal {
                    Some(refusal) => {
                        attributes.push(KeyValue::new("legate.policy.decision", "deny"));
                        attributes.push(KeyValue::new(
                            "legate.refusal.reason",
                            refusal.reason.to_string(),
                        ));
                        if let Some(rule) = &refusal.rule_id {
                            attributes.push(KeyValue::new("legate.policy.rule_id", rule.clone()));
                        }
                        for (name, value) in &refusal.inputs {
                            attributes.push(KeyValue::new(
                                format!("legate.policy.input.{name}"),
                                value.clone(),
                            ));
                        }
                        "refused".to_string()
                    }
                    None => "answered".to_string(),
                }
            }
            StepOutcome::Failed { error } => {
                status = Status::error(error.clone());
                "failed".to_string()
            }
        };
        attributes.push(KeyValue::new("legate.filter.verdict", verdict));
        SpanData {
            span_kind: SpanKind::Internal,
            name: Cow::Owned(step.filter.to_string()),
            start_time: step.start,
            end_time: step.end.unwrap_or(now),
            attributes,
            status,
            ..self.span(super::ids::new_span_id(), out)
        }
    }

    fn attempt_span(&self, attempt: Attempt, method: &str, out: &Emit<'_>) -> SpanData {
        let mut attributes = vec![
            KeyValue::new("legate.upstream", attempt.target),
            KeyValue::new("server.address", attempt.addr.ip().to_string()),
            KeyValue::new("server.port", i64::from(attempt.addr.port())),
            KeyValue::new("network.transport", transport_name(attempt.transport)),
        ];
        if let Some(name) = attempt.tls_server_name {
            attributes.push(KeyValue::new("tls.server.name", name));
        }
        let status = match attempt.result {
            AttemptResult::Answered(code) => {
                attributes.push(KeyValue::new("sip.status_code", i64::from(code)));
                Status::Unset
            }
            AttemptResult::Failed(reason) => {
                attributes.push(KeyValue::new("legate.upstream.failure", reason.clone()));
                Status::error(reason)
            }
        };
        SpanData {
            span_kind: SpanKind::Client,
            name: Cow::Owned(format!("SIP {method} upstream")),
            start_time: attempt.start,
            end_time: attempt.end,
            attributes,
            status,
            ..self.span(attempt.span_id, out)
        }
    }

    /// A span `span_id` of this trace, a child of the transaction's; callers fill in the rest.
    fn span(&self, span_id: SpanId, out: &Emit<'_>) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                self.trace_id,
                span_id,
                TraceFlags::SAMPLED,
                false,
                out.state.clone(),
            ),
            parent_span_id: self.span_id,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(""),
            start_time: self.start,
            end_time: self.start,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: out.telemetry.scope().clone(),
        }
    }
}

/// What every span of one transaction is written with: the trace's state, parsed once.
struct Emit<'a> {
    telemetry: &'a Telemetry,
    state: TraceState,
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Internal => "internal",
        Side::External => "external",
    }
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
    }
}
