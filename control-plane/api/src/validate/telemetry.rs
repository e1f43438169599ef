//! Checks for the `telemetry` section: the collector's URL, the sampling ratio, header names.

use super::Problems;
use crate::config::TelemetryConfig;

pub(super) fn check(telemetry: &TelemetryConfig, problems: &mut Problems<'_>) {
    let otlp = &telemetry.otlp;
    if let Some(endpoint) = &otlp.endpoint {
        if let Err(problem) = check_endpoint(endpoint) {
            problems.report("telemetry.otlp.endpoint", problem);
        } else if otlp.ca.is_some() && !endpoint.starts_with("https://") {
            problems.report(
                "telemetry.otlp.ca",
                "a CA is only used for an https:// endpoint",
            );
        }
    }
    for name in otlp.headers.keys() {
        if !is_header_name(name) {
            problems.report(
                &format!("telemetry.otlp.headers.{name}"),
                format!("`{name}` is not an HTTP header name"),
            );
        }
    }
    if otlp.timeout.is_some_and(|timeout| timeout.is_zero()) {
        problems.report("telemetry.otlp.timeout", "must be greater than zero");
    }
    if let Some(ratio) = telemetry.sampling_ratio {
        if !(0.0..=1.0).contains(&ratio) {
            problems.report(
                "telemetry.sampling_ratio",
                format!("{ratio} is not a share: give a number from 0 to 1"),
            );
        }
    }
    if telemetry
        .service_name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty())
    {
        problems.report("telemetry.service_name", "must not be empty");
    }
    for key in telemetry.resource_attributes.keys() {
        if key.trim().is_empty() {
            problems.report("telemetry.resource_attributes", "an attribute needs a name");
        }
    }
}

/// An OTLP endpoint is an `http://` or `https://` URL with a host (and maybe a port and path).
fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let Some(rest) = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
    else {
        return Err(format!("`{endpoint}` must start with http:// or https://"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // An IPv6 address is bracketed, so the port is what follows its `]`.
    let host_end = match authority.find(']') {
        Some(close) if authority.starts_with('[') => close + 1,
        _ => authority.find(':').unwrap_or(authority.len()),
    };
    let (host, after) = authority.split_at(host_end);
    let port = match after {
        "" => None,
        _ => Some(after.strip_prefix(':').unwrap_or(after)),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("`{endpoint}` names no host"));
    }
    if port.is_some_and(|port| port.parse::<u16>().is_err()) {
        return Err(format!("`{endpoint}` has no valid port after the host"));
    }
    Ok(())
}

/// RFC 9110 `token`: what a header name may be.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
