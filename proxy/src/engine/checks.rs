//! Request checks a proxy makes before forwarding (RFC 3261 §16.3): Max-Forwards, loops,
//! Proxy-Require; and at the edge, no control character at all.

use legate_filters_api::Side;
use legate_sip::{control_character_in, Escapes, HeaderKind, Message, Via};

use crate::core::{loops, Listeners};

/// Why a request cannot be forwarded, as the status and reason to answer with.
pub struct Refusal {
    pub code: u16,
    pub reason: &'static str,
    pub warning: String,
    /// Extra header for the answer (Unsupported for 420).
    pub header: Option<(HeaderKind, String)>,
}

pub fn check(request: &Message, listeners: &Listeners, side: Side) -> Result<(), Refusal> {
    // RFC 3261 lets a quoted string escape a control character; nothing inside needs one from
    // a partner, and a NUL is what a C parser inside would trip on.
    if side == Side::External {
        if let Some(header) = control_character_in(&request.headers, Escapes::Refused) {
            return Err(Refusal {
                code: 400,
                reason: "Bad Request",
                warning: format!(
                    "{} header contains a control character",
                    String::from_utf8_lossy(&header.name)
                ),
                header: None,
            });
        }
    }
    if request.max_forwards().ok().flatten() == Some(0) {
        return Err(Refusal {
            code: 483,
            reason: "Too Many Hops",
            warning: "max-forwards reached zero".into(),
            header: None,
        });
    }
    // Hashed only once a Via of ours shows up: most requests never carry one.
    let mut hash = None;
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
        let hash = hash.get_or_insert_with(|| loops::loop_hash(request));
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
