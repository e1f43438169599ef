//! Checks for the `proxy` section: the secret, timers and limits.

use std::time::Duration;

use super::{human, Problems};
use crate::config::{EdgeConfig, ProxyConfig, Secret};

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
    check_edge(&proxy.edge, problems);
}

/// Every edge limit must let something through: a zero would refuse all traffic.
fn check_edge(edge: &EdgeConfig, problems: &mut Problems<'_>) {
    let per_source = &edge.per_source;
    let counts = [
        (
            "per_source.requests_per_second",
            per_source.requests_per_second as usize,
        ),
        ("per_source.burst", per_source.burst as usize),
        ("per_source.max_transactions", per_source.max_transactions),
        ("per_source.max_connections", per_source.max_connections),
        (
            "per_source.answer_amplification",
            per_source.answer_amplification as usize,
        ),
        ("total.max_transactions", edge.total.max_transactions),
        ("total.max_connections", edge.total.max_connections),
    ];
    for (name, value) in counts {
        if value == 0 {
            problems.report(
                &format!("proxy.edge.{name}"),
                "must be at least 1: zero would refuse every source",
            );
        }
    }
    non_zero(
        "proxy.edge.per_source.ban_for",
        per_source.ban_for,
        problems,
    );
    non_zero(
        "proxy.edge.streams.header_timeout",
        edge.streams.header_timeout,
        problems,
    );
    non_zero(
        "proxy.edge.streams.body_timeout",
        edge.streams.body_timeout,
        problems,
    );
    if per_source.max_transactions > edge.total.max_transactions {
        problems.report(
            "proxy.edge.per_source.max_transactions",
            format!(
                "{} is larger than total.max_transactions ({}), so it could never apply",
                per_source.max_transactions, edge.total.max_transactions
            ),
        );
    }
}

fn non_zero(path: &str, value: Duration, problems: &mut Problems<'_>) {
    if value.is_zero() {
        problems.report(path, "must be greater than zero");
    }
}
