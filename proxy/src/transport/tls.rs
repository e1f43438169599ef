//! TLS with rustls: per-listener server certificates, optional client-certificate verification
//! against a configured trust bundle, and the handshakes of both directions. What outbound
//! connections trust and present is chosen in [`super::tls_clients`].

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use legate_filters::TlsPeerIdentity;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use tokio::net::TcpStream;
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

use super::HANDSHAKE_TIMEOUT;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key")]
    NoPrivateKey { path: PathBuf },
    #[error("invalid tls setup: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("invalid trust bundle {path}: {message}")]
    Verifier { path: PathBuf, message: String },
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

pub(super) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

pub(super) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        })
}

pub(super) fn root_store(paths: &[&Path]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for path in paths {
        for cert in certificates(path)? {
            roots.add(cert)?;
        }
    }
    Ok(roots)
}

pub(super) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A listener's acceptor, replaceable while it runs: a new snapshot may bring new certificates.
/// Each connection takes the acceptor current when it arrives, so connections already up keep
/// the certificate they were set up with.
pub type RotatingAcceptor = Arc<arc_swap::ArcSwap<TlsAcceptor>>;

/// The acceptor for one TLS listener. With `client_ca`, clients must present a certificate that
/// chains to it (RFC 5922 mutual TLS between federated domains).
pub fn server_acceptor(
    certificate: &Path,
    private_key_path: &Path,
    client_ca: Option<&Path>,
) -> Result<TlsAcceptor, TlsError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(path) => {
            let roots = Arc::new(root_store(&[path])?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| TlsError::Verifier {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config =
        builder.with_single_cert(certificates(certificate)?, private_key(private_key_path)?)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The server side of a handshake, bounded so a client that connects and stays silent cannot
/// hold a task (and a socket) forever.
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    socket: TcpStream,
) -> io::Result<(server::TlsStream<TcpStream>, Option<TlsPeerIdentity>)> {
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tls handshake timed out"))??;
    let identity = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| identity_of(leaf.as_ref()));
    Ok((stream, identity))
}

/// The client side of a handshake, verifying the server as `server_name` (a DNS name or an IP
/// address). Bounded like [`accept`]: an upstream that takes the TCP connection but never
/// completes the handshake must fail the attempt, not stall the request.
pub(crate) async fn connect(
    config: Arc<rustls::ClientConfig>,
    server_name: &str,
    socket: TcpStream,
) -> io::Result<client::TlsStream<TcpStream>> {
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid tls server name {server_name:?}: {e}"),
        )
    })?;
    let handshake = TlsConnector::from(config).connect(name, socket);
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => Err(io::Error::new(
            error.kind(),
            format!("tls handshake with {server_name} failed: {error}"),
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("tls handshake with {server_name} timed out"),
        )),
    }
}

/// The names a verified client certificate proves: DNS and URI subjectAltNames (RFC 5922 §7.1).
fn identity_of(der: &[u8]) -> TlsPeerIdentity {
    let mut identity = TlsPeerIdentity::default();
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return identity;
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    identity.dns_names.push(dns.to_ascii_lowercase())
                }
                x509_parser::extensions::GeneralName::URI(uri) => {
                    identity.uris.push(uri.to_string())
                }
                _ => {}
            }
        }
    }
    identity
}
