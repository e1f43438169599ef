//! Why authn refused a request: the reason the far side reads, and process-wide counts by reason
//! until the proxy wires filter metrics.

use std::sync::atomic::{AtomicU64, Ordering};

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

    fn counter(self) -> &'static AtomicU64 {
        match self {
            Reason::NoCertificate => &NO_CERTIFICATE,
            Reason::UnreadableFrom => &UNREADABLE_FROM,
            Reason::NotPartner => &NOT_PARTNER,
            Reason::CertificateMismatch => &CERTIFICATE_MISMATCH,
            Reason::IdentityNotOwned => &IDENTITY_NOT_OWNED,
            Reason::NotAddressedHere => &NOT_ADDRESSED_HERE,
            Reason::SourceNotTrusted => &SOURCE_NOT_TRUSTED,
        }
    }
}

/// Refusals since the process started, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefusalCounts {
    pub no_certificate: u64,
    pub unreadable_from: u64,
    pub not_partner: u64,
    pub certificate_mismatch: u64,
    pub identity_not_owned: u64,
    pub not_addressed_here: u64,
    pub source_not_trusted: u64,
}

static NO_CERTIFICATE: AtomicU64 = AtomicU64::new(0);
static UNREADABLE_FROM: AtomicU64 = AtomicU64::new(0);
static NOT_PARTNER: AtomicU64 = AtomicU64::new(0);
static CERTIFICATE_MISMATCH: AtomicU64 = AtomicU64::new(0);
static IDENTITY_NOT_OWNED: AtomicU64 = AtomicU64::new(0);
static NOT_ADDRESSED_HERE: AtomicU64 = AtomicU64::new(0);
static SOURCE_NOT_TRUSTED: AtomicU64 = AtomicU64::new(0);

pub fn refusal_counts() -> RefusalCounts {
    RefusalCounts {
        no_certificate: NO_CERTIFICATE.load(Ordering::Relaxed),
        unreadable_from: UNREADABLE_FROM.load(Ordering::Relaxed),
        not_partner: NOT_PARTNER.load(Ordering::Relaxed),
        certificate_mismatch: CERTIFICATE_MISMATCH.load(Ordering::Relaxed),
        identity_not_owned: IDENTITY_NOT_OWNED.load(Ordering::Relaxed),
        not_addressed_here: NOT_ADDRESSED_HERE.load(Ordering::Relaxed),
        source_not_trusted: SOURCE_NOT_TRUSTED.load(Ordering::Relaxed),
    }
}

pub(crate) fn count(refusal: Reason) {
    refusal.counter().fetch_add(1, Ordering::Relaxed);
}
