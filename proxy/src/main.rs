//! `legate`: start tracing, load config, run or validate.

#![forbid(unsafe_code)]

mod audit;
mod bind;
mod cli;
mod core;
mod dialogs;
mod directories;
mod discovery;
mod engine;
mod filter_metrics;
mod router;
mod server;
mod snapshot;
mod start;
mod transport;

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use clap::Parser;
use cli::{Cli, Command, LogFormat, QUICKSTART, QUICKSTART_ORIGIN};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Command::Validate { file } => validate(&file),
        Command::Run { config } => {
            let loaded = match config {
                Some(path) => legate_api::load_file(&path),
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
    }
}

fn validate(file: &std::path::Path) -> ExitCode {
    // The audit log is built (its sinks made) but never opened: validating touches no spool.
    let result = legate_api::load_file(file).and_then(|loaded| {
        let audit = audit::build(&loaded)?;
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

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
