//! Request checks a proxy makes before forwarding (RFC 3261 §16.3): Max-Forwards, loops,
//! Proxy-Require.

use legate_sip::{HeaderKind, Message, Via};

use crate::core::{loops, Listeners};

/// Why a request cannot be forwarded, as the status and reason to answer with.
pub struct Refusal {
    pub code: u16,
    pub reason: &'static str,
    pub warning: String,
    /// Extra header for the answer (Unsupported for 420).
    pub header: Option<(HeaderKind, String)>,
}

pub fn check(request: &Message, listeners: &Listeners) -> Result<(), Refusal> {
    if request.max_forwards().ok().flatten() == Some(0) {
        return Err(Refusal {
            code: 483,
            reason: "Too Many Hops",
            warning: "max-forwards reached zero".into(),
            header: None,
        });
    }
    let hash = loops::loop_hash(request);
    for value in request.headers.values(HeaderKind::Via).iter() {
        if !loops::carries_legate_branch(value) {
            continue;
        }
        let Ok(via) = Via::parse(value) else {
            continue;
        };
        if !listeners.is_local(&via.host, via.port) {
            continue;
        }
        if via.branch().and_then(loops::hash_in_branch) == Some(hash.as_str()) {
            return Err(Refusal {
                code: 482,
                reason: "Loop Detected",
                warning: "request came back through this proxy unchanged".into(),
                header: None,
            });
        }
    }
    // Legate implements no extension a Proxy-Require could ask for (§16.3 item 5).
    let required = request.headers.values(HeaderKind::ProxyRequire);
    if !required.is_empty() {
        let options: Vec<String> = required
            .iter()
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
            .collect();
        return Err(Refusal {
            code: 420,
            reason: "Bad Extension",
            warning: format!("unsupported proxy-require: {}", options.join(", ")),
            header: Some((HeaderKind::Unsupported, options.join(", "))),
        });
    }
    Ok(())
}
