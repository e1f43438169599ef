//! The `telemetry` section: its defaults, every field read, errors naming the field, and the
//! collector's headers kept out of dumps.

use std::path::PathBuf;
use std::time::Duration;

use legate_api::config::{AddressDisplay, OtlpProtocol, TraceContextMode};
use legate_api::{load_str, redacted_json, ConfigError, Secret, REDACTED};

const LISTENER: &str = "\
listeners:
  - { name: internal, address: 127.0.0.1:5060, transport: udp, side: internal }
";

const FULL: &str = "\
telemetry:
  otlp:
    endpoint: https://collector.observability:4317
    protocol: grpc
    headers: { authorization: { value: \"Bearer hunter2\" }, x-tenant: { file: /run/tenant } }
    ca: /etc/legate/otlp-ca.pem
    timeout: 3s
  sampling_ratio: 0.01
  service_name: legate-dmz
  resource_attributes: { deployment.environment: production }
  addresses: omitted
  trace_context: { internal: accept, external: strip }
";

fn config(telemetry: &str) -> String {
    format!("{LISTENER}{telemetry}")
}

#[track_caller]
fn assert_error(telemetry: &str, path: &str, says: &str) {
    let error: ConfigError = match load_str(&config(telemetry), "legate.yaml") {
        Ok(_) => panic!("accepted:\n{telemetry}"),
        Err(error) => error,
    };
    assert_eq!(error.field_path, path, "{error}");
    assert!(error.message.contains(says), "{error}");
}

#[test]
fn left_out_it_traces_nothing_and_keeps_partners_out_of_traces() {
    let loaded = load_str(LISTENER, "legate.yaml").unwrap_or_else(|e| panic!("{e}"));
    let telemetry = loaded.config.telemetry;
    assert_eq!(telemetry.otlp.endpoint, None);
    assert_eq!(telemetry.addresses, AddressDisplay::Hashed);
    assert_eq!(
        telemetry.trace_context.internal,
        TraceContextMode::Propagate
    );
    assert_eq!(telemetry.trace_context.external, TraceContextMode::Strip);
}

#[test]
fn every_field_is_read() {
    let loaded = load_str(&config(FULL), "legate.yaml").unwrap_or_else(|e| panic!("{e}"));
    let telemetry = loaded.config.telemetry;
    let otlp = &telemetry.otlp;
    assert_eq!(
        otlp.endpoint.as_deref(),
        Some("https://collector.observability:4317")
    );
    assert_eq!(otlp.protocol, Some(OtlpProtocol::Grpc));
    assert_eq!(
        otlp.headers.get("authorization"),
        Some(&Secret::Value("Bearer hunter2".into()))
    );
    assert_eq!(
        otlp.headers.get("x-tenant"),
        Some(&Secret::File(PathBuf::from("/run/tenant")))
    );
    assert_eq!(otlp.ca, Some(PathBuf::from("/etc/legate/otlp-ca.pem")));
    assert_eq!(otlp.timeout, Some(Duration::from_secs(3)));
    assert_eq!(telemetry.sampling_ratio, Some(0.01));
    assert_eq!(telemetry.service_name.as_deref(), Some("legate-dmz"));
    assert_eq!(
        telemetry.resource_attributes.get("deployment.environment"),
        Some(&"production".to_string())
    );
    assert_eq!(telemetry.addresses, AddressDisplay::Omitted);
    assert_eq!(telemetry.trace_context.internal, TraceContextMode::Accept);
}

#[test]
fn the_collector_headers_never_show() {
    let loaded = load_str(&config(FULL), "legate.yaml").unwrap_or_else(|e| panic!("{e}"));
    let dump = redacted_json(&loaded.config).to_string();
    assert!(!dump.contains("hunter2"), "{dump}");
    assert!(dump.contains(REDACTED), "{dump}");
    let debug = format!("{:?}", loaded.config);
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn mistakes_are_named_by_field() {
    assert_error(
        "telemetry:\n  otlp: { endpoint: \"collector:4317\" }\n",
        "telemetry.otlp.endpoint",
        "must start with http:// or https://",
    );
    assert_error(
        "telemetry:\n  otlp: { endpoint: \"http://:4317\" }\n",
        "telemetry.otlp.endpoint",
        "names no host",
    );
    assert_error(
        "telemetry:\n  otlp: { endpoint: \"http://collector:43x7\" }\n",
        "telemetry.otlp.endpoint",
        "no valid port",
    );
    assert_error(
        "telemetry:\n  otlp: { endpoint: \"http://collector:4317\", ca: /ca.pem }\n",
        "telemetry.otlp.ca",
        "only used for an https:// endpoint",
    );
    assert_error(
        "telemetry:\n  otlp: { headers: { \"bad header\": { value: x } } }\n",
        "telemetry.otlp.headers.bad header",
        "not an HTTP header name",
    );
    assert_error(
        "telemetry:\n  sampling_ratio: 1.5\n",
        "telemetry.sampling_ratio",
        "from 0 to 1",
    );
    assert_error(
        "telemetry:\n  otlp: { protocol: http/json }\n",
        "telemetry.otlp.protocol",
        "",
    );
    assert_error("telemetry:\n  sampling: 0.5\n", "telemetry.sampling", "");
    assert_error(
        "telemetry:\n  otlp: { timeout: 0s }\n",
        "telemetry.otlp.timeout",
        "greater than zero",
    );
}
