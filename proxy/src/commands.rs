//! What each subcommand does, once the gateway has fixed its filters.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::{Command, ControlArgs, TableFormat, QUICKSTART, QUICKSTART_ORIGIN};
use crate::{control, filter_table, server, snapshot};

pub fn execute(command: Command) -> ExitCode {
    match command {
        Command::Run { config, control } => match control.control_plane.is_some() {
            true => run_under_control_plane(config.as_deref(), control),
            false => run(config.as_deref()),
        },
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

/// Where the embedded quickstart keeps its audit database and spool (its config names them).
const QUICKSTART_STATE: &str = "legate-state";

fn run(config: Option<&Path>) -> ExitCode {
    let loaded = match config {
        Some(path) => legate_api::load_file(path),
        None => {
            if let Err(error) = prepare_quickstart_state() {
                eprintln!("error: {QUICKSTART_STATE}: {error}");
                return ExitCode::FAILURE;
            }
            legate_api::load_str(QUICKSTART, QUICKSTART_ORIGIN)
        }
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    exit_code(server::run(loaded, 1, None))
}

/// Creates the quickstart's state folder (on the first run) and says where its records go.
fn prepare_quickstart_state() -> std::io::Result<()> {
    std::fs::create_dir_all(QUICKSTART_STATE)?;
    let database = std::fs::canonicalize(QUICKSTART_STATE)?.join("audit.db");
    tracing::info!(
        audit = %database.display(),
        "quickstart: audit records go to {}; `legate audit query --sqlite {}` lists them",
        database.display(),
        database.display()
    );
    Ok(())
}

fn run_under_control_plane(config: Option<&Path>, args: ControlArgs) -> ExitCode {
    let started = control_settings(args).and_then(|settings| {
        let boot = control::boot_config(&settings, config)?;
        server::run(boot.loaded, boot.version, Some(settings))
    });
    exit_code(started)
}

fn control_settings(args: ControlArgs) -> anyhow::Result<control::Settings> {
    let token = args
        .control_plane_token_file
        .as_deref()
        .map(legate_api::read_token_file)
        .transpose()
        .context("--control-plane-token-file")?;
    let tls = match &args.control_plane_ca {
        Some(ca) => {
            let identity = args
                .control_plane_certificate
                .as_deref()
                .zip(args.control_plane_private_key.as_deref());
            let config = legate_tls::client_config(ca, identity).context(
                "--control-plane-ca / --control-plane-certificate / --control-plane-private-key",
            )?;
            Some(Arc::new(config))
        }
        None => None,
    };
    let url = args.control_plane.unwrap_or_default();
    let control_plane =
        control::ControlPlane::parse(&url, token, tls).map_err(anyhow::Error::msg)?;
    Ok(control::Settings {
        control_plane,
        node: args.node_id.unwrap_or_else(crate::audit::host_name),
        state_dir: args.state_dir,
    })
}

fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
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
        snapshot::Snapshot::build(loaded, 0, None, audit.as_ref())
    });
    let result = result.map_err(anyhow::Error::from).and_then(|snapshot| {
        crate::lifecycle::bind::admin_token(&snapshot.loaded.config)?;
        Ok(snapshot)
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
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
