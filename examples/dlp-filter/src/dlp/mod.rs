//! `example.filters.sip.dlp`: keeps configured content (card numbers, project names, …) from
//! crossing the boundary in instant messages. A hook written outside Legate's tree, against the
//! filter API only.
//!
//! ```yaml
//! - name: example.filters.sip.dlp
//!   config:
//!     rules:                         # required unless `disclaimer` is set; first match names the refusal
//!       - { id: card-number, pattern: '\b\d{4}([ -]?\d{4}){3}\b' }
//!       - { id: project-falcon, pattern: '(?i)project\s+falcon' }
//!     action: deny                   # deny (default): 403 | tag: pass, with `tag_header` added
//!     methods: [MESSAGE, INFO]       # default [MESSAGE]
//!     tag_header: X-Legate-DLP       # default; with `tag`, lists the ids of the rules that matched
//!     disclaimer: "This conversation is archived."   # optional: appended to text/plain MESSAGEs
//! ```
//!
//! The body of every request of `methods` (inside a dialog or not) is searched with every rule's
//! regular expression. With `action: deny` a match is refused `403 content not permitted` with a
//! `Warning` naming the rule id, never the text that matched, so the refusal cannot leak what it
//! protects; audit records the refusal as `denied` under that rule id, and
//! `example_dlp_matches_total{rule}` counts it. With `action: tag` the request passes with `tag_header: id, id` for the next hop (an
//! archive, a compliance tool); a tag header the sender wrote itself is removed first, so the
//! next hop can trust it.
//!
//! A body with a `Content-Encoding` (compressed) cannot be searched: it counts as a match of the
//! built-in rule `encoded-body`, so nothing passes unread.
//!
//! The archiving disclaimer: with `disclaimer`, every `text/plain` MESSAGE that passes gets the
//! text appended on a line of its own, so the people writing see that the conversation is kept.
//!
//! Safe in front of untrusted peers: it only reads bodies, and the `regex` crate searches in time
//! linear in the body, whatever the pattern.

mod config;
mod factory;
mod hook;
#[cfg(test)]
mod tests;

pub use config::{Action, DlpConfig, RuleConfig};
pub use factory::DlpFactory;
pub use hook::Dlp;

/// The registered name of this filter, in the vendor's own namespace.
pub const NAME: &str = "example.filters.sip.dlp";

/// The rule id a body the filter cannot read (a `Content-Encoding`) is refused or tagged under.
pub const ENCODED_BODY_RULE: &str = "encoded-body";
