//! Tags and branch ids. RFC 3261 wants them globally unique and unguessable (§19.3: at least
//! 32 random bits for tags); std's `RandomState` is randomly keyed per process and per
//! instance, so hashing a counter and the clock through a fresh one gives that without a
//! random-number crate.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The prefix that marks an RFC 3261 branch (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// A From/To tag: 64 random bits in hex.
pub fn generate_tag() -> String {
    hex(random_u64())
}

/// A Via branch: the magic cookie followed by 128 random bits in hex.
pub fn generate_branch() -> String {
    let mut branch = String::with_capacity(BRANCH_MAGIC_COOKIE.len() + 32);
    branch.push_str(BRANCH_MAGIC_COOKIE);
    push_hex(&mut branch, random_u64());
    push_hex(&mut branch, random_u64());
    branch
}

/// `value` as 16 lower-case hex digits, as `{:016x}` prints it, without the formatter (ids are
/// made for every message).
pub fn hex(value: u64) -> String {
    let mut text = String::with_capacity(16);
    push_hex(&mut text, value);
    text
}

fn push_hex(out: &mut String, value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        let nibble = (value >> (shift * 4)) & 0xf;
        out.push(char::from(DIGITS[nibble as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn hex_digits_are_the_formatters() {
        for value in [0, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hex(value), format!("{value:016x}"));
        }
    }

    #[test]
    fn tags_are_distinct_tokens() {
        let tags: HashSet<String> = (0..1000).map(|_| generate_tag()).collect();
        assert_eq!(tags.len(), 1000);
        assert!(tags
            .iter()
            .all(|t| t.len() == 16 && crate::grammar::is_token(t.as_bytes())));
    }

    #[test]
    fn branches_carry_the_cookie() {
        let a = generate_branch();
        let b = generate_branch();
        assert!(a.starts_with(BRANCH_MAGIC_COOKIE));
        assert_eq!(a.len(), BRANCH_MAGIC_COOKIE.len() + 32);
        assert_ne!(a, b);
    }
}
