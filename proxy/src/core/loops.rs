//! Branch values and loop detection (RFC 3261 §16.3 item 4, §16.6 item 8).
//!
//! Legate's branch is `z9hG4bK` + a hash of the fields that stay the same while a request loops
//! (Request-URI, From, To, Call-ID, CSeq, Proxy-Require) + a unique part. A request that comes
//! back carrying one of our Vias with the same hash has looped (482); one whose Request-URI
//! changed is a spiral and goes on. The fields are hashed as received: they are not rewritten
//! along a loop, so nothing needs parsing on this per-request path.

use std::hash::{BuildHasher, Hash, Hasher};

use legate_sip::{HeaderKind, Message};

const PREFIX: &str = "z9hG4bKlg";

/// Any constant will do; it only has to be the same in every replica.
const LOOP_HASH_SEED: u64 = 0x4c65_6761_7465;

/// The loop-detection hash of a request as Legate would forward it.
pub fn loop_hash(request: &Message) -> String {
    // Fixed keys: every replica computes the same hash, so a loop through several is seen.
    let mut hasher = foldhash::fast::FixedState::with_seed(LOOP_HASH_SEED).build_hasher();
    request.request_uri().hash(&mut hasher);
    for kind in [
        HeaderKind::CallId,
        HeaderKind::From,
        HeaderKind::To,
        HeaderKind::CSeq,
    ] {
        request.headers.first(kind).hash(&mut hasher);
    }
    for value in request.headers.values(HeaderKind::ProxyRequire) {
        value.hash(&mut hasher);
    }
    legate_sip::hex(hasher.finish())
}

/// Whether a Via value carries a branch Legate wrote: the only Vias loop detection must parse.
pub fn carries_legate_branch(via: &[u8]) -> bool {
    memchr::memmem::find(via, PREFIX.as_bytes()).is_some()
}

/// A fresh branch for forwarding `request`.
pub fn branch_for(request: &Message) -> String {
    let (hash, tag) = (loop_hash(request), legate_sip::generate_tag());
    legate_sip::concat(&[PREFIX, &hash, ".", &tag])
}

/// The loop hash inside one of our branches, if it is one.
pub fn hash_in_branch(branch: &str) -> Option<&str> {
    branch.strip_prefix(PREFIX)?.split('.').next()
}
