//! `legate-control-plane status`: asks a control plane for `/v1/status` and `/v1/errors` and
//! prints them as a table.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use legate_api::push::Status;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::plane::Errors;

/// What an `https://` control plane is trusted with, and the certificate shown to it.
#[derive(clap::Args, Default)]
pub struct ClientTls {
    /// The CA the control plane's certificate must chain to (PEM); needed for https://.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM), for a control plane that asks for one.
    #[arg(long, requires_all = ["client_key", "ca_file"])]
    pub client_certificate: Option<PathBuf>,
    #[arg(long, requires = "client_certificate")]
    pub client_key: Option<PathBuf>,
}

impl ClientTls {
    fn config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        let ca = self
            .ca_file
            .as_deref()
            .context("an https:// control plane needs --ca-file")?;
        let identity = self
            .client_certificate
            .as_deref()
            .zip(self.client_key.as_deref());
        let config = legate_tls::client_config(ca, identity)
            .context("--ca-file / --client-certificate / --client-key")?;
        Ok(Arc::new(config))
    }
}

/// Fetches and renders the status of the control plane at `base` (`http://host:port` or
/// `https://host:port`).
pub async fn report(base: &str, token: Option<&str>, tls: &ClientTls) -> anyhow::Result<String> {
    let status: Status = get(base, "/v1/status", token, tls).await?;
    let errors: Errors = get(base, "/v1/errors", token, tls).await?;
    Ok(render(&status, &errors))
}

pub fn render(status: &Status, errors: &Errors) -> String {
    let mut out = format!("control plane version {}\n", status.version);
    for error in &errors.errors {
        let _ = writeln!(out, "refused change: {error}");
    }
    let width = status
        .nodes
        .iter()
        .map(|node| node.node.len())
        .max()
        .unwrap_or(0)
        .max("NODE".len());
    let _ = writeln!(
        out,
        "{:width$}  {:>16}  {:>12}  LAST NACK",
        "NODE", "ACKED VERSION", "LAST SEEN"
    );
    for node in &status.nodes {
        let nack = match &node.last_nack {
            Some(nack) => format!("{}: {}", nack.version, nack.error),
            None => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "{:width$}  {:>16}  {:>12}  {nack}",
            node.node, node.acked_version, node.last_seen_unix
        );
    }
    out
}

async fn get<T: DeserializeOwned>(
    base: &str,
    path: &str,
    token: Option<&str>,
    tls: &ClientTls,
) -> anyhow::Result<T> {
    let uri: Uri = format!("{}{path}", base.trim_end_matches('/'))
        .parse()
        .with_context(|| format!("`{base}` is not a URL"))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => bail!("`{base}`: only http:// and https:// URLs are supported"),
    };
    let authority = uri
        .authority()
        .with_context(|| format!("`{base}` names no host"))?
        .clone();
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let stream = tokio::net::TcpStream::connect((authority.host(), port))
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;

    let mut request = Request::get(uri.clone()).header(HOST, authority.as_str());
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {}", token.trim()));
    }
    let request = request.body(Empty::<Bytes>::new())?;
    let response = if https {
        let stream = legate_tls::connect(tls.config()?, authority.host(), stream).await?;
        exchange(stream, request).await
    } else {
        exchange(stream, request).await
    }
    .with_context(|| format!("GET {uri} failed"))?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status == StatusCode::UNAUTHORIZED {
        bail!("GET {uri}: 401 unauthorized (wrong or missing --token-file)");
    }
    if status != StatusCode::OK {
        bail!("GET {uri}: {status}: {}", String::from_utf8_lossy(&body));
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {uri}: unexpected answer"))
}

/// One request on a fresh connection.
async fn exchange<S>(
    stream: S,
    request: Request<Empty<Bytes>>,
) -> anyhow::Result<http::Response<Incoming>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}
