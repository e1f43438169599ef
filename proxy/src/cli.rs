//! The command line: `legate run [--config FILE]`, `legate validate FILE`, `legate filters` and
//! `legate audit query|verify`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "legate",
    version,
    about = "Federation gateway for instant messaging and presence"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway. Without --config, runs the embedded quickstart configuration.
    Run {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// List the filters this binary knows: name, status, terminal, safe in front of untrusted
    /// peers.
    Filters {
        #[arg(long, value_enum, default_value = "markdown")]
        format: TableFormat,
    },
    /// Check a configuration file and exit: 0 when valid, 1 with the error otherwise.
    Validate { file: PathBuf },
    /// Read the audit log back: query it, or verify its hash chains.
    Audit {
        #[command(subcommand)]
        command: crate::audit_cli::AuditCommand,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TableFormat {
    Markdown,
    Json,
}

/// The quickstart configuration compiled into the binary.
pub const QUICKSTART: &str = include_str!("../../examples/quickstart.yaml");
pub const QUICKSTART_ORIGIN: &str = "<embedded examples/quickstart.yaml>";
