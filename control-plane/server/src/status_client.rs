//! `legate-control-plane status`: asks a control plane for `/v1/status` and `/v1/errors` and
//! prints them as a table.

use std::fmt::Write as _;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use legate_api::push::Status;
use serde::de::DeserializeOwned;

use crate::plane::Errors;

/// Fetches and renders the status of the control plane at `base` (`http://host:port`).
pub async fn report(base: &str, token: Option<&str>) -> anyhow::Result<String> {
    let status: Status = get(base, "/v1/status", token).await?;
    let errors: Errors = get(base, "/v1/errors", token).await?;
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
) -> anyhow::Result<T> {
    let uri: Uri = format!("{}{path}", base.trim_end_matches('/'))
        .parse()
        .with_context(|| format!("`{base}` is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("`{base}`: only http:// URLs are supported");
    }
    let authority = uri
        .authority()
        .with_context(|| format!("`{base}` names no host"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((authority.host(), port))
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    tokio::spawn(connection);

    let mut request = Request::get(uri.clone()).header(HOST, authority.as_str());
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {}", token.trim()));
    }
    let request = request.body(Empty::<Bytes>::new())?;
    let response = sender
        .send_request(request)
        .await
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
