//! `legate audit verify`: walks every partition's hash chain and reports, per partition,
//! either how many records are intact or where the chain breaks.

use std::process::ExitCode;

use legate_audit::{verify_from, SinkError};

use super::store::{AuditStore, StoreArgs};
use super::table::printable;
use super::{BROKEN, CANNOT_READ};

pub async fn run(args: StoreArgs) -> ExitCode {
    let store = match AuditStore::open(&args).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(CANNOT_READ);
        }
    };
    let partitions = match store.store().partitions().await {
        Ok(partitions) => partitions,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(CANNOT_READ);
        }
    };
    let mut broken = 0;
    for partition in &partitions {
        match check(&store, partition).await {
            Ok(summary) => println!("{}: {summary}", printable(partition)),
            Err(Outcome::Broken(reason)) => {
                broken += 1;
                println!("{}: BROKEN: {}", printable(partition), printable(&reason));
            }
            Err(Outcome::CannotRead(error)) => {
                eprintln!("error: {error}");
                return ExitCode::from(CANNOT_READ);
            }
        }
    }
    match (partitions.len(), broken) {
        (0, _) => {
            println!("no audit records");
            ExitCode::SUCCESS
        }
        (total, 0) => {
            println!("{total} partition(s) intact");
            ExitCode::SUCCESS
        }
        (total, broken) => {
            println!("{broken} of {total} partition(s) BROKEN");
            ExitCode::from(BROKEN)
        }
    }
}

enum Outcome {
    Broken(String),
    CannotRead(SinkError),
}

/// What a chain that failed to read says: unreadable rows are evidence of tampering too.
fn classify(error: SinkError) -> Outcome {
    match error {
        SinkError::Invalid { reason, .. } => Outcome::Broken(reason),
        unavailable @ SinkError::Unavailable { .. } => Outcome::CannotRead(unavailable),
    }
}

async fn check(store: &AuditStore, partition: &str) -> Result<String, Outcome> {
    let (after_seq, after_hash) = store.chain_start(partition).await.map_err(classify)?;
    let records = store.store().chain(partition).await.map_err(classify)?;
    let count = verify_from(partition, after_seq, &after_hash, &records)
        .map_err(|error| Outcome::Broken(format!("record {}: {}", error.seq, error.reason)))?;
    let mut summary = format!("intact, {count} record(s)");
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        summary.push_str(&format!(" ({}..{})", first.seq, last.seq));
    }
    if after_seq > 0 {
        summary.push_str(&format!(", 1..{after_seq} removed by retention"));
    }
    Ok(summary)
}
