//! The `legate-control-plane` binary: `serve` and `status`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use legate_admin::Access;
use legate_control_plane::{api, status_client, watcher, ControlPlane};

#[derive(Parser)]
#[command(
    name = "legate-control-plane",
    version,
    about = "Pushes versioned Legate configuration snapshots to the proxies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
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
            serve(config_dir, listening, Duration::from_millis(long_poll_ms)).await
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
    long_poll: Duration,
) -> anyhow::Result<()> {
    let Listening {
        address: listen,
        access,
        tls,
    } = listening;
    let plane = Arc::new(ControlPlane::new(long_poll));
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
