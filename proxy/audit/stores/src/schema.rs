//! The table layout the SQL stores share (SQLite and PostgreSQL), and the mapping between a
//! [`ChainedRecord`] and a row. Each store binds [`Value`]s and reads rows through
//! [`ReadColumns`], so the column order lives in one place.
//!
//! The DDL uses only types both databases know (`TEXT`, `BIGINT`, `INTEGER`), so one list of
//! migrations serves both.

use std::time::{SystemTime, UNIX_EPOCH};

use legate_audit::{AuditRecord, ChainedRecord, EventKind, Query};

/// Why an append was refused when its position already holds another record.
pub(crate) const CONFLICT: &str =
    "already stored with a different hash (two writers on one partition?)";

/// Versioned schema changes, applied in order, each once (tracked in `schema_migrations`).
/// Never edit a shipped entry; add a new one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE IF NOT EXISTS audit_records (
        partition TEXT NOT NULL,
        seq BIGINT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        at_micros BIGINT NOT NULL,
        event TEXT NOT NULL,
        method TEXT NOT NULL,
        call_id TEXT NOT NULL,
        local_internal TEXT,
        local_federated TEXT,
        remote TEXT,
        service TEXT NOT NULL,
        direction TEXT NOT NULL,
        partner TEXT,
        listener TEXT NOT NULL,
        decision TEXT,
        rule_id TEXT,
        status INTEGER NOT NULL,
        config_version BIGINT NOT NULL,
        trace_id TEXT,
        body TEXT,
        PRIMARY KEY (partition, seq)
    );
    CREATE INDEX IF NOT EXISTS audit_records_at ON audit_records (at_micros);
    CREATE INDEX IF NOT EXISTS audit_records_partner ON audit_records (partner, at_micros);
    CREATE INDEX IF NOT EXISTS audit_records_service ON audit_records (service, at_micros);
    CREATE INDEX IF NOT EXISTS audit_records_decision ON audit_records (decision, at_micros);
    CREATE INDEX IF NOT EXISTS audit_records_local_internal
        ON audit_records (local_internal, at_micros);
    CREATE INDEX IF NOT EXISTS audit_records_local_federated
        ON audit_records (local_federated, at_micros);
    CREATE INDEX IF NOT EXISTS audit_records_remote ON audit_records (remote, at_micros);
    -- Where retention cut each chain: the last removed record, so the chain continues and
    -- verifies from there.
    CREATE TABLE IF NOT EXISTS audit_pruned (
        partition TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
    );",
)];

/// The table that records which migrations ran.
pub(crate) const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    applied_at_micros BIGINT NOT NULL
)";

/// The columns of `audit_records`, in the order [`values`] binds and [`record_from`] reads.
pub(crate) const COLUMNS: &str = "partition, seq, prev_hash, hash, at_micros, event, method, \
    call_id, local_internal, local_federated, remote, service, direction, partner, listener, \
    decision, rule_id, status, config_version, trace_id, body";
pub(crate) const COLUMN_COUNT: usize = 21;

/// The name of column `index` of [`COLUMNS`], for error messages.
pub(crate) fn column_name(index: usize) -> &'static str {
    COLUMNS.split(',').nth(index).map(str::trim).unwrap_or("?")
}

/// `time` in microseconds since the Unix epoch, as records store it.
pub(crate) fn unix_micros(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// One value to bind, whatever the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Text(&'a str),
    OptionalText(Option<&'a str>),
    Int(i64),
}

/// `record` as the values of one row, in [`COLUMNS`] order.
pub(crate) fn values(chained: &ChainedRecord) -> Result<[Value<'_>; COLUMN_COUNT], String> {
    let record = &chained.record;
    let config_version = i64::try_from(record.config_version)
        .map_err(|_| format!("config_version {} is too large", record.config_version))?;
    Ok([
        Value::Text(&chained.partition),
        Value::Int(chained.seq),
        Value::Text(&chained.prev_hash),
        Value::Text(&chained.hash),
        Value::Int(record.at_micros),
        Value::Text(record.event.as_str()),
        Value::Text(&record.method),
        Value::Text(&record.call_id),
        Value::OptionalText(record.local_internal.as_deref()),
        Value::OptionalText(record.local_federated.as_deref()),
        Value::OptionalText(record.remote.as_deref()),
        Value::Text(&record.service),
        Value::Text(&record.direction),
        Value::OptionalText(record.partner.as_deref()),
        Value::Text(&record.listener),
        Value::OptionalText(record.decision.as_deref()),
        Value::OptionalText(record.rule_id.as_deref()),
        Value::Int(i64::from(record.status)),
        Value::Int(config_version),
        Value::OptionalText(record.trace_id.as_deref()),
        Value::OptionalText(record.body.as_deref()),
    ])
}

/// Reads a result row by column index; each store implements it for its row type.
pub(crate) trait ReadColumns {
    fn text(&self, index: usize) -> Result<String, String>;
    fn optional_text(&self, index: usize) -> Result<Option<String>, String>;
    fn int(&self, index: usize) -> Result<i64, String>;
}

/// A row selected with [`COLUMNS`] as a record. Values a record cannot hold (an unknown
/// event, a status out of range) are errors naming the column, not panics: the table may
/// have been edited by hand.
pub(crate) fn record_from(row: &impl ReadColumns) -> Result<ChainedRecord, String> {
    read_record(row).map_err(|reason| match (row.text(0), row.int(1)) {
        (Ok(partition), Ok(seq)) => format!("partition {partition}, record {seq}: {reason}"),
        _ => reason,
    })
}

fn read_record(row: &impl ReadColumns) -> Result<ChainedRecord, String> {
    let event_name = row.text(5)?;
    let event = serde_json::from_value::<EventKind>(serde_json::Value::String(event_name))
        .map_err(|_| "column event: not a known event".to_string())?;
    let status =
        u16::try_from(row.int(17)?).map_err(|_| "column status: out of range".to_string())?;
    let config_version = u64::try_from(row.int(18)?)
        .map_err(|_| "column config_version: out of range".to_string())?;
    Ok(ChainedRecord {
        partition: row.text(0)?,
        seq: row.int(1)?,
        prev_hash: row.text(2)?,
        hash: row.text(3)?,
        record: AuditRecord {
            at_micros: row.int(4)?,
            event,
            method: row.text(6)?,
            call_id: row.text(7)?,
            local_internal: row.optional_text(8)?,
            local_federated: row.optional_text(9)?,
            remote: row.optional_text(10)?,
            service: row.text(11)?,
            direction: row.text(12)?,
            partner: row.optional_text(13)?,
            listener: row.text(14)?,
            decision: row.optional_text(15)?,
            rule_id: row.optional_text(16)?,
            status,
            config_version,
            trace_id: row.optional_text(19)?,
            body: row.optional_text(20)?,
        },
    })
}

/// The `INSERT` of one record that leaves an existing `(partition, seq)` alone; the store then
/// compares hashes to tell a retry from a conflict.
pub(crate) fn insert_sql(placeholder: fn(usize) -> String) -> String {
    let marks: Vec<String> = (1..=COLUMN_COUNT).map(placeholder).collect();
    format!(
        "INSERT INTO audit_records ({COLUMNS}) VALUES ({}) \
         ON CONFLICT (partition, seq) DO NOTHING",
        marks.join(", ")
    )
}

/// The `SELECT` for `query` and the values it binds. With a limit it keeps the newest
/// records; either way they come back oldest first.
pub(crate) fn select_sql<'q>(
    query: &'q Query,
    placeholder: fn(usize) -> String,
) -> (String, Vec<Value<'q>>) {
    let mut conditions = Vec::new();
    let mut bound = Vec::new();
    let mut bind = |value: Value<'q>| {
        bound.push(value);
        placeholder(bound.len())
    };
    if let Some(user) = &query.user {
        let mark = bind(Value::Text(user));
        conditions.push(format!(
            "(local_internal = {mark} OR local_federated = {mark} OR remote = {mark})"
        ));
    }
    for (column, value) in [
        ("partner", &query.partner),
        ("service", &query.service),
        ("decision", &query.decision),
    ] {
        if let Some(value) = value {
            let mark = bind(Value::Text(value));
            conditions.push(format!("{column} = {mark}"));
        }
    }
    if let Some(since) = query.since_micros {
        let mark = bind(Value::Int(since));
        conditions.push(format!("at_micros >= {mark}"));
    }
    if let Some(until) = query.until_micros {
        let mark = bind(Value::Int(until));
        conditions.push(format!("at_micros < {mark}"));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let sql = match query.limit {
        Some(limit) => {
            let mark = bind(Value::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
            format!(
                "SELECT {COLUMNS} FROM (SELECT {COLUMNS} FROM audit_records{filter} \
                 ORDER BY at_micros DESC, partition DESC, seq DESC LIMIT {mark}) AS newest \
                 ORDER BY at_micros, partition, seq"
            )
        }
        None => format!(
            "SELECT {COLUMNS} FROM audit_records{filter} ORDER BY at_micros, partition, seq"
        ),
    };
    (sql, bound)
}

/// Every record of one partition in chain order.
pub(crate) fn chain_sql(placeholder: fn(usize) -> String) -> String {
    format!(
        "SELECT {COLUMNS} FROM audit_records WHERE partition = {} ORDER BY seq",
        placeholder(1)
    )
}

/// Retention, one partition at a time: the last record to remove (`seq`, `hash`) for
/// `(partition, cutoff_micros)` — the one before the first record at or after the cutoff, or
/// the partition's last when every record is older — so only a leading run goes.
pub(crate) fn last_to_prune_sql(placeholder: fn(usize) -> String) -> String {
    let (partition, cutoff) = (placeholder(1), placeholder(2));
    format!(
        "SELECT seq, hash FROM audit_records WHERE partition = {partition} AND seq < COALESCE(
             (SELECT MIN(seq) FROM audit_records
              WHERE partition = {partition} AND at_micros >= {cutoff}),
             (SELECT MAX(seq) + 1 FROM audit_records WHERE partition = {partition}))
         ORDER BY seq DESC LIMIT 1"
    )
}

/// Removes `(partition, through_seq)`'s leading run.
pub(crate) fn prune_sql(placeholder: fn(usize) -> String) -> String {
    format!(
        "DELETE FROM audit_records WHERE partition = {} AND seq <= {}",
        placeholder(1),
        placeholder(2)
    )
}

/// Records `(partition, seq, hash)` as where retention cut. The marker only moves forward,
/// so of two prunes racing the later cut wins.
pub(crate) fn pruned_marker_sql(placeholder: fn(usize) -> String) -> String {
    format!(
        "INSERT INTO audit_pruned (partition, seq, hash) VALUES ({}, {}, {})
         ON CONFLICT (partition) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
         WHERE audit_pruned.seq < excluded.seq",
        placeholder(1),
        placeholder(2),
        placeholder(3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(n: usize) -> String {
        format!("?{n}")
    }

    #[test]
    fn a_query_binds_one_value_per_condition_and_the_limit_last() {
        let query = Query {
            user: Some("bob@partner.example".into()),
            decision: Some("deny".into()),
            since_micros: Some(5),
            limit: Some(10),
            ..Query::default()
        };
        let (sql, bound) = select_sql(&query, question);
        assert!(sql.contains("remote = ?1"), "{sql}");
        assert!(sql.contains("decision = ?2"), "{sql}");
        assert!(sql.contains("at_micros >= ?3"), "{sql}");
        assert!(sql.contains("LIMIT ?4"), "{sql}");
        assert_eq!(bound.len(), 4);
        assert_eq!(bound[3], Value::Int(10));
    }

    #[test]
    fn the_column_list_and_the_values_agree() {
        assert_eq!(COLUMNS.split(',').count(), COLUMN_COUNT);
    }
}
