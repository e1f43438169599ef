//! Why authn refused a request: the reason the far side reads, and the count of refusals by
//! reason (`legate_authn_refusals_total{reason}`).

use legate_filters_api::metrics::IntCounter;
use legate_filters_api::{Metrics, MetricsError};

/// One reason for a refusal. The text names no internal detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NoCertificate,
    UnreadableFrom,
    NotPartner,
    CertificateMismatch,
    IdentityNotOwned,
    NotAddressedHere,
    SourceNotTrusted,
}

impl Reason {
    /// Every reason, in declaration order (so `reason as usize` indexes it).
    pub const ALL: [Reason; 7] = [
        Reason::NoCertificate,
        Reason::UnreadableFrom,
        Reason::NotPartner,
        Reason::CertificateMismatch,
        Reason::IdentityNotOwned,
        Reason::NotAddressedHere,
        Reason::SourceNotTrusted,
    ];

    /// The reason sent in the `Warning` header.
    pub fn reason(self) -> &'static str {
        match self {
            Reason::NoCertificate => "a verified TLS client certificate is required",
            Reason::UnreadableFrom => "the From header cannot be read",
            Reason::NotPartner => "the sending domain is not a federation partner",
            Reason::CertificateMismatch => "the certificate does not name the sending domain",
            Reason::IdentityNotOwned => "identity not owned by the sending domain",
            Reason::NotAddressedHere => "not addressed to this organisation",
            Reason::SourceNotTrusted => "source not trusted",
        }
    }

    /// A short label for logs.
    pub fn label(self) -> &'static str {
        match self {
            Reason::NoCertificate => "no_certificate",
            Reason::UnreadableFrom => "unreadable_from",
            Reason::NotPartner => "not_partner",
            Reason::CertificateMismatch => "certificate_mismatch",
            Reason::IdentityNotOwned => "identity_not_owned",
            Reason::NotAddressedHere => "not_addressed_here",
            Reason::SourceNotTrusted => "source_not_trusted",
        }
    }
}

/// Refusals by reason. Every reason's series is there from the first build, at zero.
#[derive(Clone)]
pub(crate) struct RefusalCounters([IntCounter; Reason::ALL.len()]);

impl RefusalCounters {
    pub(crate) fn register(metrics: &Metrics) -> Result<RefusalCounters, MetricsError> {
        let by_reason = metrics.counter_vec(
            "legate_authn_refusals_total",
            "Requests refused by authn, by reason",
            &["reason"],
        )?;
        Ok(RefusalCounters(Reason::ALL.map(|reason| {
            by_reason.with_label_values(&[reason.label()])
        })))
    }

    pub(crate) fn count(&self, reason: Reason) {
        self.0[reason as usize].inc();
    }
}
