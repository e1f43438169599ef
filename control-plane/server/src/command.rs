//! The command line of a control-plane binary, `serve` and `status`: the stock
//! `legate-control-plane`, or a custom one that checks configs with vendors' filters too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use legate_admin::Access;
use legate_filters_api::{FilterFactory, Registry, RegistryError};

use crate::{api, status_client, watcher, ControlPlane};

/// A control-plane binary in the making: the built-in filters and the filters added with
/// [`ControlPlaneBinary::with_filter`], so configs naming them are checked and pushed like any
/// other. Register the same factories as the proxies' binary
/// (`legate::Gateway::new().with_filter(…)`).
#[derive(Default)]
pub struct ControlPlaneBinary {
    filters: Vec<Arc<dyn FilterFactory>>,
}

impl ControlPlaneBinary {
    /// The stock control plane: the built-in filters.
    pub fn new() -> ControlPlaneBinary {
        ControlPlaneBinary::default()
    }

    /// Adds a filter whose configs are then checked like a built-in's.
    pub fn with_filter(mut self, factory: Arc<dyn FilterFactory>) -> ControlPlaneBinary {
        self.filters.push(factory);
        self
    }

    /// Every filter this control plane checks configs with.
    pub fn registry(&self) -> Result<Registry, RegistryError> {
        legate_filters::builtins_and(&self.filters)
    }

    /// Parses the process's command line and runs the command; the exit code says how it went.
    pub fn run(self) -> ExitCode {
        let outcome = self
            .registry()
            .map_err(anyhow::Error::new)
            .and_then(|registry| {
                tokio::runtime::Runtime::new()
                    .context("cannot start the runtime")?
                    .block_on(main(Cli::parse(), registry))
            });
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("Error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }
}

#[derive(Parser)]
#[command(
    name = "legate-control-plane",
    version,
    about = "Pushes versioned Legate configuration snapshots to the proxies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format: `auto` writes JSON lines when standard error is not a terminal (a
    /// container's log), human-readable text when it is.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Auto,
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Watch a configuration directory and serve its snapshots.
    Serve {
        /// Holds `legate.yaml` and optionally `nodes/<node-id>.yaml`.
        #[arg(long)]
        config_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:9902")]
        listen: SocketAddr,
        /// File holding the bearer token every request must carry.
        #[arg(long)]
        token_file: Option<PathBuf>,
        #[command(flatten)]
        tls: ServeTls,
        /// Serve without a token or client certificates; only allowed on a loopback address.
        #[arg(long)]
        insecure_loopback: bool,
        /// How long a poll is held before `204`, in milliseconds (tests shorten it).
        #[arg(long, hide = true, default_value_t = legate_api::push::LONG_POLL.as_millis() as u64)]
        long_poll_ms: u64,
    },
    /// Print the nodes, their versions and their last ACK/NACK.
    Status {
        /// The control plane, e.g. `http://127.0.0.1:9902` or `https://cp.example:9902`.
        #[arg(long)]
        url: String,
        #[arg(long)]
        token_file: Option<PathBuf>,
        #[command(flatten)]
        tls: status_client::ClientTls,
    },
}

/// HTTPS for the API, and with `--client-ca` mutual TLS: proxies must present a certificate
/// that chains to it.
#[derive(clap::Args)]
struct ServeTls {
    /// The server certificate (PEM); with it the API speaks HTTPS only.
    #[arg(long, requires = "tls_private_key")]
    tls_certificate: Option<PathBuf>,
    #[arg(long, requires = "tls_certificate")]
    tls_private_key: Option<PathBuf>,
    /// Clients must present a certificate issued by this CA (PEM).
    #[arg(long, requires = "tls_certificate")]
    client_ca: Option<PathBuf>,
}

impl ServeTls {
    fn acceptor(&self) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
        let (Some(certificate), Some(key)) = (&self.tls_certificate, &self.tls_private_key) else {
            return Ok(None);
        };
        let config = legate_tls::server_config(certificate, key, self.client_ca.as_deref())
            .context("--tls-certificate / --tls-private-key / --client-ca")?;
        Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }
}

async fn main(cli: Cli, registry: Registry) -> anyhow::Result<()> {
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        );
    let json = match cli.log_format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli.command {
        Command::Serve {
            config_dir,
            listen,
            token_file,
            tls,
            insecure_loopback,
            long_poll_ms,
        } => {
            let mutual_tls = tls.client_ca.is_some();
            let access = access(token_file.as_deref(), mutual_tls, insecure_loopback, listen)?;
            let listening = Listening {
                address: listen,
                access,
                tls: tls.acceptor()?,
            };
            let long_poll = Duration::from_millis(long_poll_ms);
            let plane = Arc::new(ControlPlane::with_registry(long_poll, registry));
            serve(config_dir, listening, plane).await
        }
        Command::Status {
            url,
            token_file,
            tls,
        } => {
            let token = token_file.as_deref().map(read_token).transpose()?;
            print!(
                "{}",
                status_client::report(&url, token.as_deref(), &tls).await?
            );
            Ok(())
        }
    }
}

/// Never open by default: a token, client certificates (mutual TLS), both, or an explicit
/// choice of neither on loopback.
fn access(
    token_file: Option<&Path>,
    mutual_tls: bool,
    insecure_loopback: bool,
    listen: SocketAddr,
) -> anyhow::Result<Access> {
    match token_file {
        Some(file) => Ok(Access::new(Some(read_token(file)?))),
        None if mutual_tls => Ok(Access::new(None)),
        None if insecure_loopback && listen.ip().is_loopback() => Ok(Access::new(None)),
        None if insecure_loopback => {
            bail!("--insecure-loopback needs a loopback --listen address, not {listen}")
        }
        None => bail!(
            "--token-file or --client-ca is required (or --insecure-loopback on a loopback address)"
        ),
    }
}

fn read_token(file: &Path) -> anyhow::Result<String> {
    legate_api::read_token_file(file).context("--token-file")
}

/// Where and how the API is served.
struct Listening {
    address: SocketAddr,
    access: Access,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

async fn serve(
    config_dir: PathBuf,
    listening: Listening,
    plane: Arc<ControlPlane>,
) -> anyhow::Result<()> {
    let Listening {
        address: listen,
        access,
        tls,
    } = listening;
    let first = watcher::load(config_dir.clone(), plane.clone()).await;
    tokio::spawn(watcher::watch(config_dir, plane.clone(), first));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    // On stdout, so whoever started the process (tests with port 0) learns the address.
    println!("listening on {bound}");
    tracing::info!(%bound, https = tls.is_some(), "control plane serving");
    api::serve(listener, plane, access, tls, stop_requested()).await;
    tracing::info!("control plane stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM (what Kubernetes sends a pod it stops). Proxies waiting on a long poll
/// see their connection close and poll again, another replica or this one restarted.
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be caught; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
