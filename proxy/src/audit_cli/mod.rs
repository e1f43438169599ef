//! `legate audit query` and `legate audit verify`: read audit records back from a store (an
//! SQLite file or PostgreSQL), to answer "who talked to whom" and to prove nobody edited,
//! removed or reordered a record.
//!
//! Exit codes: 0 done (verify: every chain intact); 1 verify found a broken chain; 2 the
//! store could not be opened or read.

mod query;
mod store;
mod table;
mod verify;

use std::process::ExitCode;

use clap::Subcommand;

pub use query::QueryArgs;
pub use store::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the audit records matching every condition given, oldest first.
    Query(QueryArgs),
    /// Check each partition's hash chain: exit 0 when all are intact, 1 naming the partition
    /// and record where one was edited, removed or reordered.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A chain is broken.
const BROKEN: u8 = 1;
/// The store could not be opened or read.
const CANNOT_READ: u8 = 2;

pub fn run(command: AuditCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(CANNOT_READ);
        }
    };
    runtime.block_on(async {
        match command {
            AuditCommand::Query(args) => query::run(args).await,
            AuditCommand::Verify { store } => verify::run(store).await,
        }
    })
}
