//! The HTTP client OTLP/HTTP exports go through: hyper, with rustls for `https://` collectors,
//! trusting the given CA or else the system's roots.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_http::hyper::HyperClient;

/// Why the client cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("telemetry.otlp.ca holds no PEM certificate")]
    NoCertificate,
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
}

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// A client for `http://` and `https://` collectors; `ca` (PEM) replaces the system's roots,
/// which are only looked for when the collector is `https://`.
pub fn client(
    ca: Option<&[u8]>,
    https: bool,
    timeout: Duration,
) -> Result<HyperClient<Connector>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        _ if !https => {}
        Some(pem) => {
            let certificates: Vec<_> = rustls_pemfile::certs(&mut &*pem)
                .filter_map(Result::ok)
                .collect();
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(ClientError::NoCertificate);
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                // Traffic does not wait for traces: exports fail (and are counted) until the
                // section names a CA.
                tracing::warn!(
                    "no trusted root certificates found on this system: the https:// collector \
                     cannot be verified; set telemetry.otlp.ca"
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(HyperClient::new(connector, timeout, None))
}
