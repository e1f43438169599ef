//! The bounds a reader holds a peer to, so that what one connection can make the gateway hold
//! in memory is known in advance.

/// Size and depth limits for one direction of a stream. Exceeding any of them is a
/// `policy-violation` naming the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest stanza (or stream-level element, or stream header), counted in bytes as they
    /// arrived, from its `<` to the `>` that closes it.
    pub max_stanza_bytes: usize,
    /// Deepest nesting inside a stanza; the stanza's own element is depth 1.
    pub max_depth: usize,
    /// Most elements in one stanza, its own included. Each costs the tree far more memory than
    /// the few bytes of `<a/>` it takes to send, so this, not the byte limit, bounds what a
    /// stanza of empty elements makes the reader hold.
    pub max_elements: usize,
    /// Most bytes fed to the reader and not yet parsed. Together with `max_stanza_bytes` and
    /// `max_token_bytes` this bounds everything the reader holds.
    pub max_buffered_bytes: usize,
    /// Longest single name, attribute value or reference, which the parser must hold whole.
    pub max_token_bytes: usize,
}

impl Default for Limits {
    /// Prosody's default server-to-server stanza limit, and nesting far beyond what real
    /// stanzas use.
    fn default() -> Self {
        Self {
            max_stanza_bytes: 512 * 1024,
            max_depth: 32,
            max_elements: 4096,
            max_buffered_bytes: 64 * 1024,
            max_token_bytes: 16 * 1024,
        }
    }
}
