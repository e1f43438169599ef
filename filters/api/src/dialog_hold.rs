//! What a dialog holds for its life. A filter attaches a [`DialogHold`] to the context of the 2xx
//! that establishes a dialog ([`DialogHolds::attach`]); the proxy keeps the holds in its dialog
//! table and tells each how the dialog ended (from either side, or by expiry) before dropping
//! it. `peer_limits` holds a partner's slot this way (given back on drop); `audit` holds what
//! it needs to write the dialog's end record.

use std::fmt;
use std::sync::Arc;

use crate::Context;

/// How a dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogEnd {
    /// A request ended it (BYE, unsubscribe, terminating NOTIFY) with this final status, or
    /// the far side answered a request in it with 481 (it knows no such dialog).
    Request { method: String, status: u16 },
    /// Nothing kept it alive for its lifetime (a subscription's Expires, a call's idle timeout).
    Expired,
    /// The 2xx named no dialog Legate could keep (no To tag): over as soon as it began.
    NotKept,
}

/// Something kept for the life of one dialog.
pub trait DialogHold: Send + Sync + 'static {
    /// The dialog ended; called once, just before the hold is dropped. A hold that only gives
    /// something back does that on drop and needs nothing here.
    fn ended(&self, _how: &DialogEnd) {}
}

/// The holds attached to one response (and then kept by one dialog).
#[derive(Clone, Default)]
pub struct DialogHolds(Vec<Arc<dyn DialogHold>>);

impl DialogHolds {
    /// Attaches `hold` to a response's `context`, beside any others there.
    pub fn attach(context: &mut Context, hold: impl DialogHold) {
        match context.get_mut::<DialogHolds>() {
            Some(holds) => holds.0.push(Arc::new(hold)),
            None => {
                context.insert(DialogHolds(vec![Arc::new(hold)]));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tells every hold how the dialog ended, then drops them.
    pub fn end(self, how: &DialogEnd) {
        for hold in &self.0 {
            hold.ended(how);
        }
    }
}

impl fmt::Debug for DialogHolds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DialogHolds").field(&self.0.len()).finish()
    }
}
