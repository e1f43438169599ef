//! The `telemetry` section: where traces go (OTLP), how many, and what they may show.
//!
//! Every field left out falls back to the standard OpenTelemetry environment variable
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
//! `OTEL_TRACES_SAMPLER`/`_ARG`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`;
//! `OTEL_EXPORTER_OTLP_HEADERS` is added to the section's headers), so operators can configure
//! tracing from a pod's environment as for any OpenTelemetry SDK. With no endpoint in either
//! place, nothing is traced.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Secret;

/// Traces of the SIP transactions that cross Legate.
///
/// ```yaml
/// telemetry:
///   otlp:
///     endpoint: https://otel-collector.observability:4317
///     protocol: grpc                     # or http/protobuf
///     headers: { authorization: { file: /run/secrets/otlp-token } }
///     ca: /etc/legate/otlp-ca.pem
///   sampling_ratio: 0.01                 # of dialogs; a sampled caller's trace is always joined
///   service_name: legate-dmz
///   resource_attributes: { deployment.environment: production }
///   addresses: hashed                    # plain, hashed or omitted
///   trace_context: { internal: propagate, external: strip }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Where spans are exported.
    pub otlp: OtlpConfig,
    /// The share of dialogs traced, 0 to 1 (parent-based: a request whose caller's trace is
    /// joined follows the caller's decision). Default: `OTEL_TRACES_SAMPLER`/`_ARG`, else 1.
    pub sampling_ratio: Option<f64>,
    /// `service.name` of the spans. Default: `OTEL_SERVICE_NAME`, else `legate`.
    pub service_name: Option<String>,
    /// More resource attributes; `OTEL_RESOURCE_ATTRIBUTES` adds its own under these.
    pub resource_attributes: BTreeMap<String, String>,
    /// How user addresses (and Call-IDs) appear in spans.
    pub addresses: AddressDisplay,
    /// W3C `traceparent` handling, per side.
    pub trace_context: TraceContextSides,
}

/// The OTLP exporter.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// The collector's URL (`http://` or `https://`). Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// or `OTEL_EXPORTER_OTLP_ENDPOINT`; without one, tracing is off.
    pub endpoint: Option<String>,
    /// Default: `OTEL_EXPORTER_OTLP_PROTOCOL`, else `grpc`.
    pub protocol: Option<OtlpProtocol>,
    /// Sent with every export (an API key, a tenant); values are secrets, never shown.
    /// `OTEL_EXPORTER_OTLP_HEADERS` adds its own.
    pub headers: BTreeMap<String, Secret>,
    /// PEM file of the CA that signed an `https://` collector's certificate; default: the
    /// system's roots.
    pub ca: Option<PathBuf>,
    /// How long one export may take before its spans are dropped. Default:
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds), else 10 s.
    #[serde(with = "humantime_serde::option")]
    pub timeout: Option<Duration>,
}

/// OTLP's two transports.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    #[serde(rename = "grpc")]
    Grpc,
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl OtlpProtocol {
    /// The protocol named as `OTEL_EXPORTER_OTLP_PROTOCOL` spells it.
    pub fn from_env_value(value: &str) -> Option<OtlpProtocol> {
        match value.trim() {
            "grpc" => Some(OtlpProtocol::Grpc),
            "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
            _ => None,
        }
    }
}

/// How a user's address or a Call-ID is written into a span attribute.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AddressDisplay {
    /// As in the message.
    Plain,
    /// A keyed hash (the same address gives the same value, across replicas), so one user's
    /// requests can be followed without the trace store learning who they are.
    #[default]
    Hashed,
    /// Left out.
    Omitted,
}

/// What to do with W3C trace context (`traceparent`, `tracestate`) on each side.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TraceContextSides {
    pub internal: TraceContextMode,
    pub external: TraceContextMode,
}

impl Default for TraceContextSides {
    /// Joined and passed on inside; partners neither learn internal trace ids nor inject theirs.
    fn default() -> Self {
        TraceContextSides {
            internal: TraceContextMode::Propagate,
            external: TraceContextMode::Strip,
        }
    }
}

/// One side's trace context handling.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TraceContextMode {
    /// A request from this side joins the caller's trace; nothing is added toward it.
    Accept,
    /// As `accept`, and requests forwarded toward this side carry Legate's `traceparent`.
    Propagate,
    /// Trace context from this side is removed, and none is sent toward it.
    Strip,
}
