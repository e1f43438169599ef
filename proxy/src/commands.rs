//! What each subcommand does, once the gateway has fixed its filters.

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use crate::cli::{Command, TableFormat, QUICKSTART, QUICKSTART_ORIGIN};
use crate::{filter_table, server, snapshot};

pub fn execute(command: Command) -> ExitCode {
    match command {
        Command::Run { config } => run(config.as_deref()),
        Command::Validate { file } => validate(&file),
        Command::Filters { format } => {
            let registry = snapshot::registry();
            let table = match format {
                TableFormat::Markdown => filter_table::markdown(registry),
                TableFormat::Json => filter_table::json(registry),
            };
            print!("{table}");
            ExitCode::SUCCESS
        }
        Command::Audit { command } => crate::audit_cli::run(command),
    }
}

fn run(config: Option<&Path>) -> ExitCode {
    let loaded = match config {
        Some(path) => legate_api::load_file(path),
        None => legate_api::load_str(QUICKSTART, QUICKSTART_ORIGIN),
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match server::run(loaded) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn validate(file: &Path) -> ExitCode {
    // The audit log is built (its sinks made) but never opened: validating touches no spool.
    let result = legate_api::load_file(file).and_then(|loaded| {
        let audit = crate::audit::build(&loaded)?;
        snapshot::Snapshot::build(loaded, 0, Arc::new(OnceLock::new()), audit.as_ref())
    });
    match result {
        Ok(snapshot) => {
            let config = &snapshot.loaded.config;
            println!(
                "{}: valid ({} listeners, {} routes, {} clusters)",
                file.display(),
                config.listeners.len(),
                config.routes.len(),
                config.clusters.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
