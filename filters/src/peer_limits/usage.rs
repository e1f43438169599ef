//! What each partner holds right now (sessions, subscriptions, subscriptions per remote user):
//! one record per partner name for the whole process.
//!
//! The records outlive configuration snapshots on purpose: a dialog opened under one snapshot
//! stays open under the next, and gives its slot back whenever it ends. Only the limits come
//! from the snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use legate_api::PeerLimits;

use super::lease::DialogLease;
use super::limit::Limit;
use super::metrics::PartnerMetrics;

static PARTNERS: OnceLock<Mutex<HashMap<String, Arc<PartnerUsage>>>> = OnceLock::new();

fn partners() -> MutexGuard<'static, HashMap<String, Arc<PartnerUsage>>> {
    PARTNERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
pub(crate) struct PartnerUsage {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    sessions: u32,
    subscriptions: u32,
    /// Remote user → subscriptions; a user holding none has no entry, so the map stays as small
    /// as the subscriptions open.
    per_user: HashMap<String, u32>,
}

/// What one lease holds, to give back.
#[derive(Debug)]
pub(crate) enum Slot {
    Session,
    Subscription { user: String },
}

fn full(held: u32, limit: Option<u32>) -> bool {
    limit.is_some_and(|limit| held >= limit)
}

impl PartnerUsage {
    /// The record of the partner `peer`, made on first use.
    pub fn of(peer: &str) -> Arc<PartnerUsage> {
        partners().entry(peer.to_string()).or_default().clone()
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        // The counts stay consistent at every step, so a panic elsewhere leaves them usable.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one more session, if `limits` leave room.
    pub fn open_session(
        self: &Arc<Self>,
        limits: &PeerLimits,
        metrics: &Arc<PartnerMetrics>,
    ) -> Result<DialogLease, Limit> {
        let mut held = self.held();
        if full(held.sessions, limits.max_sessions) {
            return Err(Limit::MaxSessions);
        }
        held.sessions += 1;
        held.show(metrics);
        Ok(DialogLease::new(
            self.clone(),
            Slot::Session,
            metrics.clone(),
        ))
    }

    /// A slot for one more subscription by the remote `user`, if `limits` leave room.
    pub fn open_subscription(
        self: &Arc<Self>,
        user: String,
        limits: &PeerLimits,
        metrics: &Arc<PartnerMetrics>,
    ) -> Result<DialogLease, Limit> {
        let mut held = self.held();
        if full(held.subscriptions, limits.max_subscriptions) {
            return Err(Limit::MaxSubscriptions);
        }
        let of_user = held.per_user.get(&user).copied().unwrap_or(0);
        if full(of_user, limits.max_subscriptions_per_user) {
            return Err(Limit::MaxSubscriptionsPerUser);
        }
        held.subscriptions += 1;
        held.per_user.insert(user.clone(), of_user + 1);
        held.show(metrics);
        Ok(DialogLease::new(
            self.clone(),
            Slot::Subscription { user },
            metrics.clone(),
        ))
    }

    /// Gives back what a lease held; called once, when the lease drops.
    pub fn release(&self, slot: &Slot, metrics: &PartnerMetrics) {
        let mut held = self.held();
        match slot {
            Slot::Session => held.sessions = held.sessions.saturating_sub(1),
            Slot::Subscription { user } => {
                held.subscriptions = held.subscriptions.saturating_sub(1);
                let left = held.per_user.get_mut(user).map(|count| {
                    *count = count.saturating_sub(1);
                    *count
                });
                if left == Some(0) {
                    held.per_user.remove(user);
                }
            }
        }
        held.show(metrics);
    }
}

impl Held {
    /// Sets the partner's gauges to what it holds, under the lock that changed it, so the last
    /// change is what they show.
    fn show(&self, metrics: &PartnerMetrics) {
        metrics.sessions.set(i64::from(self.sessions));
        metrics.subscriptions.set(i64::from(self.subscriptions));
    }
}
