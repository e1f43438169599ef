//! The command line: `legate run [--config FILE] [--control-plane URL ...]`, `legate validate FILE`, `legate filters` and
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
    /// Log format: `auto` writes JSON lines when standard error is not a terminal (a
    /// container's log), human-readable text when it is.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway. Without --config or --control-plane, runs the embedded quickstart
    /// configuration.
    Run {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(flatten)]
        control: ControlArgs,
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

/// Taking configuration from a control plane instead of (or after) a file.
#[derive(Debug, clap::Args)]
pub struct ControlArgs {
    /// The control plane's URL (`http://host:port` or `https://host:port`): snapshots are
    /// long-polled from it and swapped in live.
    #[arg(long, value_name = "URL")]
    pub control_plane: Option<String>,
    /// The CA an `https://` control plane's certificate must chain to (PEM).
    #[arg(long, value_name = "FILE", requires = "control_plane")]
    pub control_plane_ca: Option<PathBuf>,
    /// The certificate (PEM) shown to a control plane that asks for one (mutual TLS).
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["control_plane_private_key", "control_plane_ca"]
    )]
    pub control_plane_certificate: Option<PathBuf>,
    #[arg(long, value_name = "FILE", requires = "control_plane_certificate")]
    pub control_plane_private_key: Option<PathBuf>,
    /// This proxy's name towards the control plane. Default: the host name.
    #[arg(long, value_name = "ID", requires = "control_plane")]
    pub node_id: Option<String>,
    /// A file holding the control plane's bearer token.
    #[arg(long, value_name = "FILE", requires = "control_plane")]
    pub control_plane_token_file: Option<PathBuf>,
    /// Where the last good snapshot is kept, to start on when the control plane is away.
    #[arg(long, value_name = "DIR", default_value = "legate-state")]
    pub state_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Auto,
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
