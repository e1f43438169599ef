//! TLS material from PEM files, turned into rustls configurations, and handshakes bounded in
//! time. One place for both, so the proxy's SIP listeners, its upstream connections, its
//! control-plane client and the control plane's API read certificates and fail the same way.

mod files;
mod handshake;

pub use files::{certificates, client_config, private_key, provider, root_store, server_config};
pub use handshake::{accept, connect, HANDSHAKE_TIMEOUT};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key")]
    NoPrivateKey { path: PathBuf },
    #[error("invalid tls setup: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("invalid trust bundle {path}: {message}")]
    Verifier { path: PathBuf, message: String },
}
