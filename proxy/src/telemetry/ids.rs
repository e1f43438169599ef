//! Trace ids that need no shared state: every transaction of a dialog gets the trace id its
//! Call-ID gives under the replicas' shared secret, so a dialog is one trace whichever replica
//! (or restarted process) handles each of its requests. The same keyed hash writes addresses
//! in `hashed` form.

use hmac::{Hmac, Mac};
use opentelemetry::trace::{SpanId, TraceId};
use sha2::Sha256;
use siphasher::sip128::{Hasher128, SipHasher13};
use std::hash::Hasher;

/// Keys derived from the Record-Route secret, which every replica shares.
#[derive(Clone)]
pub struct TraceKeys {
    dialog: [u8; 16],
    address: [u8; 16],
}

impl TraceKeys {
    pub fn new(secret: &[u8]) -> TraceKeys {
        TraceKeys {
            dialog: derive(secret, b"legate-trace-id-v1"),
            address: derive(secret, b"legate-trace-address-v1"),
        }
    }

    /// The trace id of the dialog (or lone transaction) with this Call-ID.
    pub fn dialog_trace_id(&self, call_id: &[u8]) -> TraceId {
        let hash = keyed(&self.dialog, call_id);
        // The all-zero id is invalid; a hash never reaches it in practice, but must not.
        TraceId::from_bytes(if hash == [0; 16] { [1; 16] } else { hash })
    }

    /// An address (or Call-ID) as the `hashed` display writes it: 16 hex digits, the same for
    /// the same input on every replica.
    pub fn hashed(&self, text: &[u8]) -> String {
        let hash = keyed(&self.address, text);
        let mut half = [0u8; 8];
        half.copy_from_slice(hash.get(..8).unwrap_or(&[0; 8]));
        legate_sip::hex(u64::from_be_bytes(half))
    }
}

fn derive(secret: &[u8], purpose: &[u8]) -> [u8; 16] {
    let mut key = [0u8; 16];
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) {
        mac.update(purpose);
        let derived = mac.finalize().into_bytes();
        key.copy_from_slice(derived.get(..16).unwrap_or(&[0; 16]));
    }
    key
}

fn keyed(key: &[u8; 16], input: &[u8]) -> [u8; 16] {
    let mut hasher = SipHasher13::new_with_key(key);
    hasher.write(input);
    hasher.finish128().as_bytes()
}

/// A fresh span id (never the invalid all-zero one).
pub fn new_span_id() -> SpanId {
    SpanId::from_bytes(rand::random::<u64>().max(1).to_be_bytes())
}

/// Whether a trace Legate starts is sampled at `ratio`: decided by the trace id alone (its
/// lower 63 bits, as OpenTelemetry's `TraceIdRatioBased` does), so every replica decides the
/// same for the same dialog.
pub fn sampled_at(trace_id: TraceId, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 || ratio.is_nan() {
        return false;
    }
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(bytes.get(8..).unwrap_or(&[0; 8]));
    let bound = (ratio * (1u64 << 63) as f64) as u64;
    (u64::from_be_bytes(low) >> 1) < bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_id_gives_one_trace_id_under_one_secret() {
        let replica_a = TraceKeys::new(b"shared");
        let replica_b = TraceKeys::new(b"shared");
        let stranger = TraceKeys::new(b"other");
        let id = replica_a.dialog_trace_id(b"call-1@example.com");
        assert_eq!(id, replica_b.dialog_trace_id(b"call-1@example.com"));
        assert_ne!(id, replica_a.dialog_trace_id(b"call-2@example.com"));
        assert_ne!(id, stranger.dialog_trace_id(b"call-1@example.com"));
        assert_ne!(id, TraceId::INVALID);
    }

    #[test]
    fn hashed_addresses_are_stable_and_do_not_show_the_address() {
        let keys = TraceKeys::new(b"shared");
        let hashed = keys.hashed(b"alice@local.example");
        assert_eq!(hashed.len(), 16);
        assert_eq!(
            hashed,
            TraceKeys::new(b"shared").hashed(b"alice@local.example")
        );
        assert!(!hashed.contains("alice"));
        assert_ne!(hashed, keys.hashed(b"bob@local.example"));
    }

    #[test]
    fn the_ratio_samples_about_its_share_of_dialogs() {
        let keys = TraceKeys::new(b"shared");
        let ids: Vec<TraceId> = (0..10_000)
            .map(|i| keys.dialog_trace_id(format!("call-{i}").as_bytes()))
            .collect();
        let share = |ratio: f64| ids.iter().filter(|id| sampled_at(**id, ratio)).count();
        assert_eq!(share(1.0), 10_000);
        assert_eq!(share(0.0), 0);
        let tenth = share(0.1);
        assert!((800..1200).contains(&tenth), "{tenth} of 10000 at 0.1");
        // A dialog sampled at a lower ratio is sampled at every higher one.
        assert!(ids
            .iter()
            .filter(|id| sampled_at(**id, 0.1))
            .all(|id| sampled_at(*id, 0.5)));
    }
}
