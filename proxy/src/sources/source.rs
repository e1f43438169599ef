//! What Legate remembers of one source address: its request rate, whether it is banned, what
//! it holds (transactions, connections), and the bytes it sent and was answered with.

use std::time::Duration;

use legate_api::PerSourceLimits;
use legate_filters::TokenBucket;
use tokio::time::Instant;

/// Every this long the byte counts of the amplification check are halved, so old traffic
/// weighs less than new and the counts never overflow.
pub const BYTE_COUNT_HALF_LIFE: Duration = Duration::from_secs(10);

/// What a source may be answered beyond `answer_amplification` times what it sent: one
/// transaction's answers (Legate's sealed Record-Route and Contact make a 200 to a short
/// INVITE several times its size), so a single request is always answered. A flood of forged
/// requests gets no more than the factor once the slack is spent.
pub const ANSWER_SLACK_BYTES: u64 = 2048;

/// Why a message from a source is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Over its request rate.
    Rate,
    /// Banned, for sending far over its rate.
    Banned,
}

impl Dropped {
    pub fn label(self) -> &'static str {
        match self {
            Dropped::Rate => "rate",
            Dropped::Banned => "banned",
        }
    }
}

/// What a message did to a source's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Read,
    Dropped(Dropped),
    /// Dropped, and this message got the source banned.
    NewlyBanned,
}

#[derive(Debug)]
pub struct Source {
    bucket: TokenBucket,
    /// Messages over the rate since `window`, and when that one-second window began.
    over_rate: u32,
    window: Instant,
    banned_until: Option<Instant>,
    /// Transactions waiting for their final answer.
    pub transactions: usize,
    pub connections: usize,
    /// Bytes received from and answered to the source (UDP), halved every half-life.
    received: u64,
    answered: u64,
    pub last_seen: Instant,
}

impl Source {
    pub fn new(limits: &PerSourceLimits, now: Instant) -> Source {
        Source {
            bucket: TokenBucket::new(limits.requests_per_second, Some(limits.burst), now),
            over_rate: 0,
            window: now,
            banned_until: None,
            transactions: 0,
            connections: 0,
            received: 0,
            answered: 0,
            last_seen: now,
        }
    }

    pub fn is_banned(&self, now: Instant) -> bool {
        self.banned_until.is_some_and(|until| now < until)
    }

    /// A message of `bytes` bytes from the source: read it, or drop it (and maybe ban).
    pub fn admit(&mut self, bytes: usize, limits: &PerSourceLimits, now: Instant) -> Admission {
        self.last_seen = now;
        if self.is_banned(now) {
            return Admission::Dropped(Dropped::Banned);
        }
        if self.bucket.take(now).is_ok() {
            self.received = self.received.saturating_add(bytes as u64);
            return Admission::Read;
        }
        if now.saturating_duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.over_rate = 0;
        }
        self.over_rate += 1;
        if self.over_rate >= limits.burst {
            self.banned_until = Some(now + limits.ban_for);
            self.over_rate = 0;
            // Coming back from a ban, the source starts with an empty bucket.
            self.bucket = TokenBucket::new(limits.requests_per_second, Some(limits.burst), now);
            return Admission::NewlyBanned;
        }
        Admission::Dropped(Dropped::Rate)
    }

    /// Whether an answer of `bytes` bytes keeps what the source was sent within `factor`
    /// times what it sent (plus [`ANSWER_SLACK_BYTES`]); counts it when it does.
    pub fn may_answer(&mut self, bytes: usize, factor: u32) -> bool {
        let allowed = self
            .received
            .saturating_mul(u64::from(factor))
            .saturating_add(ANSWER_SLACK_BYTES);
        let after = self.answered.saturating_add(bytes as u64);
        if after > allowed {
            return false;
        }
        self.answered = after;
        true
    }

    /// Ages the byte counts by one half-life.
    pub fn age_byte_counts(&mut self) {
        self.received /= 2;
        self.answered /= 2;
    }

    /// Whether the source can be forgotten: it holds nothing, is not banned, and has been
    /// quiet for `idle`.
    pub fn is_forgettable(&self, now: Instant, idle: Duration) -> bool {
        self.transactions == 0
            && self.connections == 0
            && !self.is_banned(now)
            && now.saturating_duration_since(self.last_seen) >= idle
    }
}
