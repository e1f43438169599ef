//! Two filters of a third-party vendor, written outside Legate's tree against the filter API
//! alone (`legate-filters-api`), under the vendor's own namespace `example.filters.sip.`:
//!
//! - [`dlp`]: keeps configured content out of instant messages (a [`Hook`] refusing with a rule
//!   id, and counting matches in its own metric);
//! - [`partner_key`]: authenticates federation partners by a key in a header (a filter that
//!   declares it authenticates peers, so others may sit behind it on an external listener).
//!
//! [`factories`] is what a binary registers: `binaries/` holds a proxy (`legate-dlp`) and a
//! control plane (`legate-dlp-control-plane`) that both carry them.
//!
//! [`Hook`]: legate_filters_api::Hook

use std::sync::Arc;

use legate_filters_api::FilterFactory;

pub mod dlp;
pub mod partner_key;

pub use dlp::DlpFactory;
pub use partner_key::PartnerKeyFactory;

/// Every filter of this crate, for a binary to register.
pub fn factories() -> Vec<Arc<dyn FilterFactory>> {
    vec![Arc::new(DlpFactory), Arc::new(PartnerKeyFactory)]
}
