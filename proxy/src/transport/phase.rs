//! Where a listener is in its life. A listener removed by a new snapshot stops accepting at
//! once and drains: its UDP socket still reads (answers to transactions already sent from it
//! arrive there) and its connections stay up, while new dialogs on it are refused. When the
//! drain is over it closes: the socket is released and its connections are shut.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerPhase {
    Serving,
    Draining,
    Closed,
}

/// Moves a listener through its phases; its serving tasks watch it.
#[derive(Clone)]
pub struct PhaseControl(Arc<watch::Sender<ListenerPhase>>);

/// What a serving task watches.
pub type PhaseWatch = watch::Receiver<ListenerPhase>;

impl PhaseControl {
    pub fn new() -> PhaseControl {
        PhaseControl(Arc::new(watch::Sender::new(ListenerPhase::Serving)))
    }

    pub fn current(&self) -> ListenerPhase {
        *self.0.borrow()
    }

    pub fn watch(&self) -> PhaseWatch {
        self.0.subscribe()
    }

    /// Whether both control the same listener.
    pub fn same(&self, other: &PhaseControl) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Moves forward only: a closed listener never serves again.
    pub fn advance(&self, to: ListenerPhase) {
        self.0.send_if_modified(|phase| {
            let forward = rank(to) > rank(*phase);
            if forward {
                *phase = to;
            }
            forward
        });
    }
}

impl Default for PhaseControl {
    fn default() -> Self {
        PhaseControl::new()
    }
}

fn rank(phase: ListenerPhase) -> u8 {
    match phase {
        ListenerPhase::Serving => 0,
        ListenerPhase::Draining => 1,
        ListenerPhase::Closed => 2,
    }
}

/// Resolves once the watched listener has left `Serving` (or its control is gone).
pub async fn stopped_accepting(phase: &mut PhaseWatch) {
    let _ = phase.wait_for(|p| *p != ListenerPhase::Serving).await;
}

/// Resolves once the watched listener is closed (or its control is gone).
pub async fn closed(phase: &mut PhaseWatch) {
    let _ = phase.wait_for(|p| *p == ListenerPhase::Closed).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_only_move_forward_and_wake_watchers() {
        let control = PhaseControl::new();
        let mut accepting = control.watch();
        let mut open = control.watch();
        control.advance(ListenerPhase::Draining);
        stopped_accepting(&mut accepting).await;
        control.advance(ListenerPhase::Serving);
        assert_eq!(control.current(), ListenerPhase::Draining);
        control.advance(ListenerPhase::Closed);
        closed(&mut open).await;
        assert_eq!(control.current(), ListenerPhase::Closed);
    }
}
