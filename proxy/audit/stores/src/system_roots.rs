//! TLS trusting the system's root certificates: for sinks given an `https://` or
//! `sslmode=require` address and no CA of their own.

use std::sync::Arc;

use legate_audit::SinkError;

/// A client configuration with the system's roots; `sink` names the sink in errors.
pub fn client_config(sink: &str) -> Result<Arc<rustls::ClientConfig>, SinkError> {
    let invalid = |reason: String| SinkError::Invalid {
        sink: sink.into(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(invalid(
            "no trusted root certificates found on this system for TLS".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid(format!("TLS setup failed: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
