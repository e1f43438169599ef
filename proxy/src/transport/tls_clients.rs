//! What outbound TLS connections trust, and which certificate they present.
//!
//! Trust is chosen per connection ([`ServerTrust`]):
//! - a federation partner (a route to a `peers` entry) is verified against its own
//!   `trust_bundle` only, and must name the partner's domain (see `peer_verifier`);
//! - an endpoint of a `tls` cluster against that cluster's `tls_ca` only (the union, if several
//!   clusters list the same address), so a server whose certificate comes from another
//!   cluster's CA cannot stand in for it;
//! - any other address (an in-dialog next hop taken from a Route or Contact, towards a partner
//!   or an internal server) against every configured CA: clusters' `tls_ca` and partners'
//!   `trust_bundle`.
//!
//! The certificate presented, when the server asks for one, is that of the TLS listener the
//! connection leaves by: for a partner normally the external listener, whose certificate is the
//! organisation's domain certificate. A peer's own `client_certificate` replaces it.
//!
//! Every combination is built once, at start, so connecting only looks one up (and rustls keeps
//! its session cache per configuration, which resumption needs).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use legate_api::{ClientCertificate, Config, Transport};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::peer_verifier::PeerVerifier;
use legate_tls::{certificates, private_key, provider, root_store, TlsError};

/// Whose certificates an outbound TLS connection accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTrust<'a> {
    /// Chosen by the address: its cluster's `tls_ca`, else every configured CA.
    ByAddress,
    /// The partner of this name: its `trust_bundle` only.
    Peer(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TrustKey {
    Endpoint(SocketAddr),
    Fallback,
    Peer(String),
}

/// A certificate chain and its key, to present.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    fn load(certificate: &Path, key: &Path) -> Result<Arc<Identity>, TlsError> {
        Ok(Arc::new(Identity {
            chain: certificates(certificate)?,
            key: private_key(key)?,
        }))
    }
}

/// The name of the TLS listener a connection leaves by; `None` for none.
type ListenerKey = Option<Arc<str>>;

/// The client configurations of one configuration, by trust and by the listener left by.
pub struct TlsClients {
    configs: HashMap<(TrustKey, ListenerKey), Arc<ClientConfig>>,
}

impl TlsClients {
    /// Loads every trust bundle and certificate outbound TLS may use.
    pub fn new(config: &Config) -> Result<TlsClients, TlsError> {
        // `None` stands for leaving by no TLS listener (or one without a certificate).
        let mut listeners: Vec<(ListenerKey, Option<Arc<Identity>>)> = vec![(None, None)];
        for listener in &config.listeners {
            if let (Transport::Tls, Some(tls)) = (listener.transport, &listener.tls) {
                let identity = Identity::load(&tls.certificate, &tls.private_key)?;
                listeners.push((Some(listener.name.as_str().into()), Some(identity)));
            }
        }

        let mut per_endpoint: HashMap<SocketAddr, Vec<&Path>> = HashMap::new();
        let mut all: Vec<&Path> = Vec::new();
        for cluster in &config.clusters {
            let ca = cluster.tls_ca.as_deref();
            if let Some(ca) = ca.filter(|ca| !all.contains(ca)) {
                all.push(ca);
            }
            if cluster.transport != Transport::Tls {
                continue;
            }
            for endpoint in cluster.endpoints.iter().flat_map(|e| e.addresses()) {
                let trust = per_endpoint.entry(*endpoint).or_default();
                if let Some(ca) = ca.filter(|ca| !trust.contains(ca)) {
                    trust.push(ca);
                }
            }
        }
        for peer in &config.peers {
            if !all.contains(&peer.trust_bundle.as_path()) {
                all.push(&peer.trust_bundle);
            }
        }

        let mut configs = HashMap::new();
        let mut add_all =
            |trust: TrustKey, verify: &Verify<'_>, own: Option<&ClientCertificate>| {
                let own = own
                    .map(|own| Identity::load(&own.certificate, &own.private_key))
                    .transpose()?;
                for (listener, identity) in &listeners {
                    let identity = own.as_ref().or(identity.as_ref());
                    configs.insert(
                        (trust.clone(), listener.clone()),
                        client_config(verify, identity)?,
                    );
                }
                Ok::<(), TlsError>(())
            };
        for (endpoint, trust) in per_endpoint {
            add_all(
                TrustKey::Endpoint(endpoint),
                &Verify::WebPki(Arc::new(root_store(&trust)?)),
                None,
            )?;
        }
        add_all(
            TrustKey::Fallback,
            &Verify::WebPki(Arc::new(root_store(&all)?)),
            None,
        )?;
        for peer in &config.peers {
            let roots = Arc::new(root_store(&[peer.trust_bundle.as_path()])?);
            add_all(
                TrustKey::Peer(peer.name.clone()),
                &Verify::Peer(roots, &peer.trust_bundle),
                peer.client_certificate.as_ref(),
            )?;
        }
        Ok(TlsClients { configs })
    }

    /// The client configuration for a connection to `remote`, leaving by the listener named
    /// `listener`; `None` for a partner this configuration does not know.
    pub fn config(
        &self,
        trust: ServerTrust<'_>,
        remote: SocketAddr,
        listener: Option<&str>,
    ) -> Option<Arc<ClientConfig>> {
        let find = |trust: TrustKey| {
            let by_listener =
                listener.and_then(|name| self.configs.get(&(trust.clone(), Some(Arc::from(name)))));
            by_listener.or_else(|| self.configs.get(&(trust, None)))
        };
        match trust {
            ServerTrust::Peer(name) => find(TrustKey::Peer(name.to_string())),
            ServerTrust::ByAddress => {
                find(TrustKey::Endpoint(remote)).or_else(|| find(TrustKey::Fallback))
            }
        }
        .cloned()
    }
}

/// How the server's certificate is checked.
enum Verify<'a> {
    /// webpki: the chain and a dNSName or IP address subjectAltName.
    WebPki(Arc<RootCertStore>),
    /// A partner: the chain, and its domain as dNSName or `sip:` URI. The bundle's path is for
    /// error messages.
    Peer(Arc<RootCertStore>, &'a Path),
}

/// One client configuration. With no roots no server can be verified, and the connection fails
/// closed.
fn client_config(
    verify: &Verify<'_>,
    identity: Option<&Arc<Identity>>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match verify {
        Verify::WebPki(roots) => builder.with_root_certificates(roots.clone()),
        Verify::Peer(roots, path) => {
            let verifier =
                PeerVerifier::new(roots.clone(), provider()).map_err(|e| TlsError::Verifier {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        }
    };
    let config = match identity {
        Some(identity) => {
            builder.with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}
