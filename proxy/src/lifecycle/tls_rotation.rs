//! Certificates rotated by a snapshot: every TLS listener's certificate, key and client CA are
//! read again from the new snapshot (the files may have been replaced at the same paths), and
//! installed once the snapshot is accepted. Connections already set up keep theirs.

use legate_api::{ConfigError, LoadedConfig, Transport};
use tokio_rustls::TlsAcceptor;

use crate::core::Core;
use crate::transport::server_acceptor;

/// The new acceptor of each TLS listener, by listener name. A certificate or key that cannot
/// be loaded refuses the whole snapshot, naming the listener's field.
pub fn load(loaded: &LoadedConfig) -> Result<Vec<(String, TlsAcceptor)>, ConfigError> {
    let mut acceptors = Vec::new();
    for (index, listener) in loaded.config.listeners.iter().enumerate() {
        let (Transport::Tls, Some(tls)) = (listener.transport, &listener.tls) else {
            continue;
        };
        let acceptor =
            server_acceptor(&tls.certificate, &tls.private_key, tls.client_ca.as_deref()).map_err(
                |error| {
                    loaded
                        .source
                        .error(&format!("listeners[{index}].tls"), error.to_string())
                },
            )?;
        acceptors.push((listener.name.clone(), acceptor));
    }
    Ok(acceptors)
}

/// Puts the acceptors in place: the next connection to each listener gets the new certificate.
pub fn install(core: &Core, acceptors: Vec<(String, TlsAcceptor)>) {
    for (name, acceptor) in acceptors {
        if let Some(rotating) = core.listeners().by_name(&name).and_then(|l| l.tls.as_ref()) {
            rotating.store(std::sync::Arc::new(acceptor));
        }
    }
}
