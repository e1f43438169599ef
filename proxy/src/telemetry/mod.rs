//! Traces of the SIP transactions that cross Legate, exported over OTLP.
//!
//! One span per transaction (server side), with a child span per filter the request entered
//! (its verdict) and per upstream attempt (endpoint, transport, result). Every transaction of a
//! dialog lands in the same trace with no shared state: its trace id is the Call-ID's keyed
//! hash under the secret every replica shares ([`ids`]), unless the caller's own `traceparent`
//! is joined. Spans are exported off the request path ([`export`]); a collector that is down or
//! slow costs dropped spans, never traffic.

mod export;
mod http_client;
mod ids;
mod request_trace;
mod settings;
mod traceparent;

use std::sync::Arc;
use std::time::SystemTime;

use legate_admin::Metrics;
use legate_api::config::{AddressDisplay, TelemetryConfig, TraceContextMode};
use legate_filters_api::{FilterTrace, Side};
use legate_sip::{Header, HeaderKind, Message};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;

pub use export::ExportError;
pub use ids::{new_span_id, TraceKeys};
pub use opentelemetry::trace::SpanId;
pub use request_trace::{Attempt, AttemptResult, RequestTrace, TransactionEnd};
pub use settings::{Settings, SettingsError};

use export::Exporting;

/// The process's tracing: off, or exporting to a collector.
pub struct Telemetry {
    settings: Settings,
    keys: TraceKeys,
    exporting: Option<Exporting>,
    scope: InstrumentationScope,
}

/// Why tracing cannot start as configured.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

impl Telemetry {
    /// No collector: nothing is traced; trace context headers are still kept from the sides
    /// that strip them.
    pub fn off(config: &TelemetryConfig, keys: TraceKeys) -> Telemetry {
        Telemetry::with(Settings::disabled(config), keys, None)
    }

    /// Tracing as `config` and the process's environment say, exporting from a thread of its
    /// own when a collector is configured.
    pub fn start(
        config: &TelemetryConfig,
        keys: TraceKeys,
        metrics: Arc<Metrics>,
    ) -> Result<Telemetry, TelemetryError> {
        let settings = Settings::resolve(config, |name| std::env::var(name).ok())?;
        let exporting = match &settings.exporter {
            Some(exporter) => Some(Exporting::start(
                exporter,
                settings.batching,
                resource(&settings),
                metrics,
            )?),
            None => None,
        };
        Ok(Telemetry::with(settings, keys, exporting))
    }

    fn with(settings: Settings, keys: TraceKeys, exporting: Option<Exporting>) -> Telemetry {
        Telemetry {
            settings,
            keys,
            exporting,
            scope: InstrumentationScope::builder("legate")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        }
    }

    /// Whether spans are exported.
    pub fn is_on(&self) -> bool {
        self.exporting.is_some()
    }

    /// Starts the trace of a request that arrived on a `side` listener: it joins the caller's
    /// trace when that side's context is accepted, else the dialog's. The request's own
    /// `traceparent` and `tracestate` are taken off it (Legate adds its own toward the sides
    /// that propagate). `None` when tracing is off.
    pub fn begin(&self, request: &mut Message, side: Side) -> Option<Arc<RequestTrace>> {
        let mode = self.mode(side);
        if !self.is_on() {
            if mode == TraceContextMode::Strip {
                take_trace_context(request, true);
            }
            return None;
        }
        let incoming = take_trace_context(request, true);
        let parent = match (mode, incoming) {
            (TraceContextMode::Strip, _) | (_, None) => None,
            (_, Some((value, state))) => traceparent::parse(&value).map(|parent| {
                let state = state.as_deref().and_then(traceparent::usable_tracestate);
                (parent, state)
            }),
        };
        let sampler = self.settings.sampler;
        let (trace_id, parent, sampled, tracestate) = match parent {
            Some((parent, state)) => {
                let sampled = if sampler.parent_based {
                    parent.sampled
                } else {
                    ids::sampled_at(parent.trace_id, sampler.ratio)
                };
                (parent.trace_id, Some(parent.span_id), sampled, state)
            }
            None => {
                let call_id = request.call_id().map(|c| c.as_ref()).unwrap_or_default();
                let trace_id = self.keys.dialog_trace_id(call_id);
                (
                    trace_id,
                    None,
                    ids::sampled_at(trace_id, sampler.ratio),
                    None,
                )
            }
        };
        Some(Arc::new(RequestTrace {
            trace_id,
            span_id: ids::new_span_id(),
            parent,
            sampled,
            tracestate,
            start: SystemTime::now(),
            filters: sampled.then(|| Arc::new(FilterTrace::new())),
            attempts: Default::default(),
        }))
    }

    /// Readies `request`, about to leave by a `side` listener, for that side: with the trace
    /// context of `attempt` (a span of its trace) when the side propagates it; without any
    /// (a caller's passed through while tracing is off) when it does not.
    pub fn outgoing(
        &self,
        request: &mut Message,
        side: Side,
        attempt: Option<(&RequestTrace, SpanId)>,
    ) {
        let propagates = self.mode(side) == TraceContextMode::Propagate;
        let Some((trace, span_id)) = attempt else {
            if !propagates {
                take_trace_context(request, true);
            }
            return;
        };
        if !propagates {
            return;
        }
        let value = traceparent::format(trace.trace_id, span_id, trace.sampled);
        request
            .headers
            .push(Header::other(traceparent::TRACEPARENT, value));
        if let Some(state) = &trace.tracestate {
            request
                .headers
                .push(Header::other(traceparent::TRACESTATE, state.clone()));
        }
    }

    /// Ends the transaction's trace: its spans go to the export queue when it is sampled.
    pub fn finish(&self, trace: &RequestTrace, end: &TransactionEnd<'_>) {
        let Some(exporting) = &self.exporting else {
            return;
        };
        if !trace.sampled {
            return;
        }
        for span in trace.spans(end, self) {
            exporting.queue().push(span);
        }
    }

    /// `text` (a user's address, a Call-ID) as the `addresses` setting shows it.
    pub(crate) fn display(&self, text: &[u8]) -> Option<String> {
        match self.settings.addresses {
            AddressDisplay::Plain => Some(String::from_utf8_lossy(text).into_owned()),
            AddressDisplay::Hashed => Some(self.keys.hashed(text)),
            AddressDisplay::Omitted => None,
        }
    }

    pub(crate) fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    fn mode(&self, side: Side) -> TraceContextMode {
        match side {
            Side::Internal => self.settings.trace_context.internal,
            Side::External => self.settings.trace_context.external,
        }
    }
}

/// Takes `traceparent` and `tracestate` off `request` (when `remove`), returning what they held.
/// One pass over the headers, which nearly every request ends without finding either.
fn take_trace_context(request: &mut Message, remove: bool) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let is = |header: &Header, name: &str| {
        header.kind == HeaderKind::Other && header.name.eq_ignore_ascii_case(name.as_bytes())
    };
    let (mut value, mut state) = (None, None);
    for header in request.headers.iter() {
        if value.is_none() && is(header, traceparent::TRACEPARENT) {
            value = Some(header.value.to_vec());
        } else if state.is_none() && is(header, traceparent::TRACESTATE) {
            state = Some(header.value.to_vec());
        }
    }
    if remove && (value.is_some() || state.is_some()) {
        request.headers.remove_by_name(traceparent::TRACEPARENT);
        request.headers.remove_by_name(traceparent::TRACESTATE);
    }
    value.map(|value| (value, state))
}

fn resource(settings: &Settings) -> Resource {
    Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_attributes(
            settings
                .resource_attributes
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .build()
}
