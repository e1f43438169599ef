//! TLS client settings that trust only the CAs of one PEM file (a filter's `tls_ca`), with the
//! same crypto provider as the rest of Legate. Used by LDAP directories and `ext_authz`.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;

/// Reads the PEM CAs in `path`; the error names the file and what is wrong with it.
pub(crate) fn client_config(path: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| format!("{shown}: {e}"))?;
        roots.add(cert).map_err(|e| format!("{shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{shown} holds no PEM certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
