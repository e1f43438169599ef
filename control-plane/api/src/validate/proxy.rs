//! Checks for the `proxy` section: the secret, timers and limits.

use std::time::Duration;

use super::{human, Problems};
use crate::config::{ProxyConfig, Secret};

pub(super) fn check(proxy: &ProxyConfig, problems: &mut Problems<'_>) {
    match &proxy.record_route_secret {
        Some(Secret::Value(value)) if value.is_empty() => problems.report(
            "proxy.record_route_secret.value",
            "must not be empty: an empty key would let anyone forge Record-Route state",
        ),
        Some(Secret::File(path)) if path.as_os_str().is_empty() => {
            problems.report("proxy.record_route_secret.file", "must not be empty")
        }
        _ => {}
    }

    if proxy.worker_threads == Some(0) {
        problems.report(
            "proxy.worker_threads",
            "must be at least 1 (leave it out for one thread per core)",
        );
    }

    let timers = &proxy.timers;
    for (name, value) in [("t1", timers.t1), ("t2", timers.t2), ("t4", timers.t4)] {
        non_zero(&format!("proxy.timers.{name}"), value, problems);
    }
    if timers.t1 > timers.t2 {
        problems.report(
            "proxy.timers.t2",
            format!(
                "t2 ({}) must not be shorter than t1 ({}): retransmit intervals grow from t1 up to t2",
                human(timers.t2),
                human(timers.t1)
            ),
        );
    }

    let limits = &proxy.limits;
    for (name, value) in [
        ("max_message_bytes", limits.max_message_bytes),
        ("max_headers", limits.max_headers),
        ("max_line_bytes", limits.max_line_bytes),
    ] {
        if value == 0 {
            problems.report(
                &format!("proxy.limits.{name}"),
                "must be greater than zero: no message could be accepted",
            );
        }
    }
    if limits.max_line_bytes > limits.max_message_bytes {
        problems.report(
            "proxy.limits.max_line_bytes",
            format!(
                "{} is larger than max_message_bytes ({}), so it could never apply",
                limits.max_line_bytes, limits.max_message_bytes
            ),
        );
    }

    non_zero(
        "proxy.dialog_idle_timeout",
        proxy.dialog_idle_timeout,
        problems,
    );
}

fn non_zero(path: &str, value: Duration, problems: &mut Problems<'_>) {
    if value.is_zero() {
        problems.report(path, "must be greater than zero");
    }
}
