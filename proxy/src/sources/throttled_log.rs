//! Log lines that a flood would repeat thousands of times a second are written at most once
//! per interval, saying how many were left out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct ThrottledLog {
    every: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl ThrottledLog {
    pub const fn new(every: Duration) -> ThrottledLog {
        ThrottledLog {
            every,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(left out since the last line)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return None;
        };
        match *last {
            Some(at) if now.saturating_duration_since(at) < self.every => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}
