//! TLS on the SIP listeners: per-listener server certificates, optional client-certificate
//! verification against a configured trust bundle, and what a verified client certificate
//! proves. What outbound connections trust and present is chosen in [`super::tls_clients`].

use std::io;
use std::path::Path;
use std::sync::Arc;

use legate_filters_api::TlsPeerIdentity;
use legate_tls::TlsError;
use tokio::net::TcpStream;
use tokio_rustls::{server, TlsAcceptor};

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
    let config = legate_tls::server_config(certificate, private_key_path, client_ca)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The server side of a handshake (bounded in time), and what the client's certificate proves.
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    socket: TcpStream,
) -> io::Result<(server::TlsStream<TcpStream>, Option<TlsPeerIdentity>)> {
    let stream = legate_tls::accept(acceptor, socket).await?;
    let identity = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| identity_of(leaf.as_ref()));
    Ok((stream, identity))
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
