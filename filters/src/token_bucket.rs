//! A token bucket: `rate` tokens a second, holding at most `burst`. Partners' request rates
//! (`peer_limits`) and the proxy's per-source message rates use it.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket. Without a burst, one second's worth of requests may come at once.
    pub fn new(rate: u32, burst: Option<u32>, now: Instant) -> TokenBucket {
        let rate = f64::from(rate.max(1));
        let burst = burst.map_or(rate, f64::from).max(1.0);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            updated: now,
        }
    }

    /// Takes a token, or says how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}
