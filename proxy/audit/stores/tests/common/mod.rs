//! Records for the store tests: a few partners, services and decisions spread over time.

#![allow(dead_code)]

use legate_audit::{AuditRecord, Chain, ChainedRecord, EventKind};

/// 2023-11-14T22:13:20Z, in microseconds.
pub const START_MICROS: i64 = 1_700_000_000_000_000;
/// One record a minute.
pub const STEP_MICROS: i64 = 60_000_000;

/// Record `n` (from 1): odd ones go to `partner-a` as allowed `im`, even ones to `partner-b`
/// as denied `presence`.
pub fn record(n: i64) -> AuditRecord {
    let odd = n % 2 == 1;
    AuditRecord {
        at_micros: START_MICROS + n * STEP_MICROS,
        event: if odd {
            EventKind::Request
        } else {
            EventKind::Denied
        },
        method: if odd { "MESSAGE" } else { "SUBSCRIBE" }.into(),
        call_id: format!("call-{n}"),
        local_internal: Some("a.smith@corp.internal".into()),
        local_federated: Some("alice@acme.example".into()),
        remote: Some(
            if odd {
                "bob@a.example"
            } else {
                "carol@b.example"
            }
            .into(),
        ),
        service: if odd { "im" } else { "presence" }.into(),
        direction: "outbound".into(),
        partner: Some(if odd { "partner-a" } else { "partner-b" }.into()),
        listener: "internal".into(),
        decision: Some(if odd { "allow" } else { "deny" }.into()),
        rule_id: Some(format!("rule-{}", n % 2)),
        status: if odd { 200 } else { 403 },
        config_version: 7,
        trace_id: None,
        body: odd.then(|| format!("hello {n}")),
    }
}

/// Records `from..=to` linked onto `chain`.
pub fn link(chain: &mut Chain, from: i64, to: i64) -> Vec<ChainedRecord> {
    (from..=to).map(|n| chain.link(record(n))).collect()
}
