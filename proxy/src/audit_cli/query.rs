//! `legate audit query`: the records matching the conditions, as a table or JSON.

use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use legate_audit::{ChainedRecord, Query};

use super::store::{AuditStore, StoreArgs};
use super::table::{printable, render};
use super::CANNOT_READ;

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A local user (internal or federated address) or remote party, `user@domain`.
    #[arg(long)]
    pub user: Option<String>,
    /// The federation partner, by its configured name.
    #[arg(long)]
    pub partner: Option<String>,
    /// `im`, `presence`, `voice`, `video`, `file-transfer` or `chat`.
    #[arg(long)]
    pub service: Option<String>,
    /// What policy decided.
    #[arg(long, value_enum)]
    pub decision: Option<Decision>,
    /// From this time on (RFC 3339, e.g. 2026-05-01T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = micros_since_epoch)]
    pub since: Option<i64>,
    /// Before this time (RFC 3339; exclusive).
    #[arg(long, value_name = "TIME", value_parser = micros_since_epoch)]
    pub until: Option<i64>,
    /// At most this many records: the newest ones.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Decision {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One line per record, for people.
    Table,
    /// A JSON array of the records with their chain fields, for tools.
    Json,
}

fn micros_since_epoch(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_micros())
        .map_err(|error| format!("{error} (expected RFC 3339, e.g. 2026-05-01T00:00:00Z)"))
}

pub async fn run(args: QueryArgs) -> ExitCode {
    let store = match AuditStore::open(&args.store).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(CANNOT_READ);
        }
    };
    let query = Query {
        user: args.user,
        partner: args.partner,
        service: args.service,
        decision: args.decision.map(|decision| {
            match decision {
                Decision::Allow => "allow",
                Decision::Deny => "deny",
            }
            .to_string()
        }),
        since_micros: args.since,
        until_micros: args.until,
        limit: args.limit,
    };
    let records = match store.store().query(&query).await {
        Ok(records) => records,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(CANNOT_READ);
        }
    };
    match args.format {
        Format::Table => print!("{}", table(&records)),
        Format::Json => match serde_json::to_string_pretty(&records) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("error: cannot encode the records: {error}");
                return ExitCode::from(CANNOT_READ);
            }
        },
    }
    ExitCode::SUCCESS
}

const HEADERS: &[&str] = &[
    "TIME",
    "EVENT",
    "METHOD",
    "DIRECTION",
    "LOCAL",
    "REMOTE",
    "PARTNER",
    "SERVICE",
    "DECISION",
    "RULE",
    "STATUS",
    "RECORD",
    "TRACE",
];

fn table(records: &[ChainedRecord]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|chained| {
            let record = &chained.record;
            let or_dash = |value: &Option<String>| value.as_deref().unwrap_or("-").to_string();
            let local = record
                .local_federated
                .as_ref()
                .or(record.local_internal.as_ref());
            [
                time(record.at_micros),
                record.event.as_str().to_string(),
                record.method.clone(),
                record.direction.clone(),
                or_dash(&local.cloned()),
                or_dash(&record.remote),
                or_dash(&record.partner),
                record.service.clone(),
                or_dash(&record.decision),
                or_dash(&record.rule_id),
                record.status.to_string(),
                format!("{}:{}", chained.partition, chained.seq),
                or_dash(&record.trace_id),
            ]
            .iter()
            .map(|cell| printable(cell))
            .collect()
        })
        .collect();
    render(HEADERS, &rows)
}

/// `micros` as UTC RFC 3339 with milliseconds.
fn time(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros).map_or_else(
        || format!("@{micros}"),
        |time| time.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_both_ways() {
        let micros = micros_since_epoch("2023-11-14T23:13:20+01:00").unwrap();
        assert_eq!(micros, 1_700_000_000_000_000);
        assert_eq!(time(micros), "2023-11-14T22:13:20.000Z");
        assert!(micros_since_epoch("yesterday").is_err());
    }
}
