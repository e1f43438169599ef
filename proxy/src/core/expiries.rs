//! Keys that expire at known instants, taken out in expiry order by one reaper task, instead
//! of a task and a timer per key: answered server transactions absorbing retransmissions, and
//! client transactions lingering for late answers. At hundreds of transactions a second, a
//! timer each meant a wake-up each.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::time::Instant;

pub(crate) struct Expiries<K> {
    queue: Mutex<Queue<K>>,
}

struct Queue<K> {
    /// By expiry, then arrival number (which keeps equal instants apart).
    by_expiry: BTreeMap<(Instant, u64), K>,
    arrivals: u64,
}

impl<K> Expiries<K> {
    pub fn new() -> Expiries<K> {
        Expiries {
            queue: Mutex::new(Queue {
                by_expiry: BTreeMap::new(),
                arrivals: 0,
            }),
        }
    }

    /// Queues `key` to expire at `at`. `false` when the queue cannot be used (a panic poisoned
    /// it): the caller then forgets the key at once.
    pub fn push(&self, at: Instant, key: K) -> bool {
        let Ok(mut queue) = self.queue.lock() else {
            return false;
        };
        queue.arrivals = queue.arrivals.wrapping_add(1);
        let arrival = queue.arrivals;
        queue.by_expiry.insert((at, arrival), key);
        true
    }

    /// Every key due at `now`, in expiry order.
    pub fn take_due(&self, now: Instant) -> Vec<K> {
        let Ok(mut queue) = self.queue.lock() else {
            return Vec::new();
        };
        let later = queue.by_expiry.split_off(&(now, u64::MAX));
        std::mem::replace(&mut queue.by_expiry, later)
            .into_values()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn keys_come_out_when_due_in_expiry_order() {
        let expiries = Expiries::new();
        let start = Instant::now();
        assert!(expiries.push(start + Duration::from_secs(32), "late"));
        assert!(expiries.push(start + Duration::from_secs(5), "first"));
        assert!(expiries.push(start + Duration::from_secs(5), "second"));
        assert!(expiries.take_due(start).is_empty());
        assert_eq!(
            expiries.take_due(start + Duration::from_secs(5)),
            ["first", "second"]
        );
        assert!(expiries
            .take_due(start + Duration::from_secs(31))
            .is_empty());
        assert_eq!(expiries.take_due(start + Duration::from_secs(40)), ["late"]);
    }
}
