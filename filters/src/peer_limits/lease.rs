//! The slot a new dialog holds for the partner that opened it.

use std::fmt;
use std::sync::Arc;

use super::metrics::PartnerMetrics;
use super::usage::{PartnerUsage, Slot};
use legate_filters_api::DialogHold;

/// One partner's slot for one dialog: a session, or a subscription of one remote user. The slot
/// is given back when the lease drops.
///
/// `peer_limits` attaches it to the 2xx that establishes the dialog as a [`DialogHold`]; the
/// proxy keeps it in the dialog's entry in its dialog table, so the slot is given back exactly
/// when the dialog ends (from either side), expires, or is never recorded. Clones share the one
/// slot, given back when the last clone drops.
#[derive(Clone)]
pub struct DialogLease(Arc<Held>);

struct Held {
    usage: Arc<PartnerUsage>,
    slot: Slot,
    /// The gauges to update when the slot comes back.
    metrics: Arc<PartnerMetrics>,
}

impl DialogLease {
    pub(crate) fn new(
        usage: Arc<PartnerUsage>,
        slot: Slot,
        metrics: Arc<PartnerMetrics>,
    ) -> DialogLease {
        DialogLease(Arc::new(Held {
            usage,
            slot,
            metrics,
        }))
    }
}

impl DialogHold for DialogLease {}

impl Drop for Held {
    fn drop(&mut self) {
        self.usage.release(&self.slot, &self.metrics);
    }
}

impl fmt::Debug for DialogLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DialogLease").field(&self.0.slot).finish()
    }
}
