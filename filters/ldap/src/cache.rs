//! Answers kept for a while so that every request does not cost a search: a found user for
//! `ttl`, "no such user" for `negative_ttl`, at most `max_entries` at once. Failures are never
//! kept. Time is tokio's, so tests run on a paused clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use legate_api::LdapCacheConfig;
use tokio::time::Instant;

use legate_filters_api::DirectoryUser;

/// A kept answer: `None` is "no such user".
type Answer = Option<Arc<DirectoryUser>>;

pub(super) struct Cache {
    ttl: Duration,
    negative_ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<String, (Answer, Instant)>>,
}

impl Cache {
    pub(super) fn new(config: &LdapCacheConfig) -> Cache {
        Cache {
            ttl: config.ttl,
            negative_ttl: config.negative_ttl,
            max_entries: config.max_entries.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The kept answer for `key`, if it has not expired; `None` means "ask the server".
    pub(super) fn get(&self, key: &str) -> Option<Answer> {
        let mut entries = self.entries.lock().ok()?;
        let (answer, expires) = entries.get(key)?;
        if Instant::now() < *expires {
            return Some(answer.clone());
        }
        entries.remove(key);
        None
    }

    pub(super) fn insert(&self, key: String, answer: Answer) {
        let ttl = if answer.is_some() {
            self.ttl
        } else {
            self.negative_ttl
        };
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= self.max_entries {
                // Full of live answers: the one that would expire first goes.
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(key, _)| key.clone());
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(key, (answer, now + ttl));
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }
}
