//! Checks for the `audit` section: at least one sink, unique names usable as file names,
//! exactly one kind per sink, and each kind's settings.

use std::collections::HashSet;
use std::time::Duration;

use super::Problems;
use crate::config::{AuditConfig, AuditSinkConfig, Secret};

pub(super) fn check(audit: &AuditConfig, problems: &mut Problems<'_>) {
    if let Some(partition) = &audit.partition {
        if partition.is_empty()
            || partition
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            problems.report(
                "audit.partition",
                "must be a non-empty name without spaces (it is part of every record's hash)",
            );
        }
    }
    if audit.spool_dir.as_os_str().is_empty() {
        problems.report("audit.spool_dir", "must not be empty");
    }
    if audit.queue_size == 0 {
        problems.report(
            "audit.queue_size",
            "must be at least 1 (records held in memory before they are spooled)",
        );
    }
    if audit.sinks.is_empty() {
        problems.report(
            "audit.sinks",
            "needs at least one sink: `{ name: local, sqlite: { file: audit.db } }`, `postgres`, \
             `webhook` or `stdout: {}`",
        );
    }
    let mut names = HashSet::new();
    for (index, sink) in audit.sinks.iter().enumerate() {
        let path = format!("audit.sinks[{index}]");
        check_name(sink, &path, &mut names, problems);
        match sink.kinds().as_slice() {
            [] => problems.report(
                &path,
                "needs a kind: `sqlite`, `postgres`, `webhook` or `stdout`",
            ),
            [_] => check_kind(sink, &path, problems),
            [first, second, ..] => problems.report(
                &format!("{path}.{second}"),
                format!("a sink has one kind: give `{first}` or `{second}`, not both"),
            ),
        }
    }
}

fn check_name<'a>(
    sink: &'a AuditSinkConfig,
    path: &str,
    names: &mut HashSet<&'a str>,
    problems: &mut Problems<'_>,
) {
    let name = sink.name.as_str();
    let usable = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if name.is_empty() || !usable {
        problems.report(
            &format!("{path}.name"),
            format!(
                "`{name}`: a sink name is letters, digits, `-` and `_` (it names the sink's \
                 spool file and metrics)"
            ),
        );
    } else if !names.insert(name) {
        problems.report(
            &format!("{path}.name"),
            format!("a sink named `{name}` is already defined"),
        );
    }
}

fn check_kind(sink: &AuditSinkConfig, path: &str, problems: &mut Problems<'_>) {
    if let Some(sqlite) = &sink.sqlite {
        if sqlite.file.as_os_str().is_empty() {
            problems.report(&format!("{path}.sqlite.file"), "must not be empty");
        }
        if sqlite.retention == Some(Duration::ZERO) {
            problems.report(
                &format!("{path}.sqlite.retention"),
                "must be greater than zero (leave it out to keep records forever)",
            );
        }
    }
    if let Some(postgres) = &sink.postgres {
        let url = format!("{path}.postgres.url");
        match &postgres.url {
            Secret::Value(value)
                if !(value.starts_with("postgres://") || value.starts_with("postgresql://")) =>
            {
                problems.report(
                    &format!("{url}.value"),
                    "must be a `postgres://` or `postgresql://` URL",
                )
            }
            Secret::File(file) if file.as_os_str().is_empty() => {
                problems.report(&format!("{url}.file"), "must not be empty")
            }
            _ => {}
        }
        if postgres.pool_size == 0 {
            problems.report(&format!("{path}.postgres.pool_size"), "must be at least 1");
        }
    }
    if let Some(webhook) = &sink.webhook {
        let url = webhook.url.to_ascii_lowercase();
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if host.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
            problems.report(
                &format!("{path}.webhook.url"),
                format!(
                    "`{}`: must be an `http://` or `https://` URL with a host",
                    webhook.url
                ),
            );
        }
        if webhook.batch_size == 0 {
            problems.report(&format!("{path}.webhook.batch_size"), "must be at least 1");
        }
        for (field, value) in [("timeout", webhook.timeout)] {
            if value.is_zero() {
                problems.report(
                    &format!("{path}.webhook.{field}"),
                    "must be greater than zero",
                );
            }
        }
    }
}
