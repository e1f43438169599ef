//! Branch values and loop detection (RFC 3261 §16.3 item 4, §16.6 item 8).
//!
//! Legate's branch is `z9hG4bK` + a hash of the fields that stay the same while a request loops
//! (Request-URI, From/To tags, Call-ID, CSeq number, Proxy-Require) + a unique part. A request
//! that comes back carrying one of our Vias with the same hash has looped (482); one whose
//! Request-URI changed is a spiral and goes on.

use std::hash::{Hash, Hasher};

use legate_sip::{HeaderKind, Message};

const PREFIX: &str = "z9hG4bKlg";

/// The loop-detection hash of a request as Legate would forward it.
pub fn loop_hash(request: &Message) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    request.request_uri().hash(&mut hasher);
    request.call_id().hash(&mut hasher);
    if let Ok(cseq) = request.cseq() {
        cseq.seq.hash(&mut hasher);
    }
    if let Ok(from) = request.from_header() {
        from.tag().hash(&mut hasher);
    }
    if let Ok(to) = request.to_header() {
        to.tag().hash(&mut hasher);
    }
    for value in request.headers.values(HeaderKind::ProxyRequire) {
        value.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// A fresh branch for forwarding `request`.
pub fn branch_for(request: &Message) -> String {
    format!(
        "{PREFIX}{}.{}",
        loop_hash(request),
        legate_sip::generate_tag()
    )
}

/// The loop hash inside one of our branches, if it is one.
pub fn hash_in_branch(branch: &str) -> Option<&str> {
    branch.strip_prefix(PREFIX)?.split('.').next()
}
