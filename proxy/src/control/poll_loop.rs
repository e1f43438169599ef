//! The long-poll loop: ask for a newer snapshot, apply it, answer ACK or NACK, ask again. When
//! the control plane cannot be reached the proxy keeps serving on the snapshot it runs and
//! retries with a capped backoff, saying so once per change of state rather than per retry.

use std::time::Duration;

use legate_api::push::{Ack, SnapshotPush};
use pingora_core::server::ShutdownWatch;

use super::apply::Applier;
use super::{ControlPlane, Settings};

const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(5);
/// Tries at sending one ACK before giving up on it (the next poll goes on regardless).
const ACK_TRIES: u32 = 3;

/// Waits that double from half a second up to five.
pub struct Backoff(Duration);

impl Backoff {
    pub fn new() -> Backoff {
        Backoff(FIRST_RETRY)
    }

    /// The wait before the next try; each call lengthens the one after.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(LAST_RETRY);
        wait
    }

    pub fn reset(&mut self) {
        self.0 = FIRST_RETRY;
    }
}

/// Whether the control plane answered last time, so each change is logged once.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum Link {
    Unknown,
    Up,
    Down,
}

impl Link {
    pub fn up(&mut self, control_plane: &ControlPlane) {
        if *self != Link::Up {
            tracing::info!(control_plane = ?control_plane, "control plane reached");
        }
        *self = Link::Up;
    }

    pub fn down(&mut self, control_plane: &ControlPlane, error: &dyn std::fmt::Display) {
        if *self != Link::Down {
            tracing::warn!(control_plane = ?control_plane, %error, "control plane unreachable: serving on the running snapshot, retrying");
        }
        *self = Link::Down;
    }
}

/// Polls until shutdown. `version` is the newest version seen (run or refused), so a refused
/// snapshot is not sent again.
pub async fn run(settings: Settings, applier: Applier, mut version: u64) {
    let mut shutdown: ShutdownWatch = applier.shutdown.clone();
    let mut backoff = Backoff::new();
    let mut link = Link::Unknown;
    let control_plane = &settings.control_plane;
    loop {
        let answer = tokio::select! {
            answer = control_plane.poll(&settings.node, version) => answer,
            _ = shutdown.changed() => return,
        };
        match answer {
            Ok(Some(push)) => {
                link.up(control_plane);
                backoff.reset();
                let verdict = applier.apply(&push).await;
                version = push.version;
                answer_push(&settings, &applier, &push, verdict).await;
            }
            Ok(None) => {
                link.up(control_plane);
                backoff.reset();
            }
            Err(error) => {
                link.down(control_plane, &error);
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_wait()) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

async fn answer_push(
    settings: &Settings,
    applier: &Applier,
    push: &SnapshotPush,
    verdict: Result<(), String>,
) {
    let ack = verdict_ack(&settings.node, push.version, verdict);
    if ack.accepted {
        applier.metrics.acks.inc();
    } else {
        applier.metrics.nacks.inc();
        tracing::warn!(
            version = push.version,
            error = ack.error.as_deref().unwrap_or(""),
            "configuration refused: the running snapshot stays"
        );
    }
    send_ack(&settings.control_plane, &ack).await;
}

pub fn verdict_ack(node: &str, version: u64, verdict: Result<(), String>) -> Ack {
    Ack {
        node: node.to_string(),
        version,
        accepted: verdict.is_ok(),
        error: verdict.err(),
    }
}

pub async fn send_ack(control_plane: &ControlPlane, ack: &Ack) {
    let mut backoff = Backoff::new();
    for attempt in 1..=ACK_TRIES {
        match control_plane.ack(ack).await {
            Ok(()) => return,
            Err(error) if attempt == ACK_TRIES => {
                tracing::warn!(%error, version = ack.version, "acknowledgement not delivered")
            }
            Err(_) => tokio::time::sleep(backoff.next_wait()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_resets() {
        let mut backoff = Backoff::new();
        let waits: Vec<u64> = (0..6)
            .map(|_| backoff.next_wait().as_millis() as u64)
            .collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.next_wait(), FIRST_RETRY);
    }

    #[test]
    fn a_refusal_carries_its_reason() {
        let nack = verdict_ack("n1", 3, Err("x.yaml:2:3: routes: bad".into()));
        assert!(!nack.accepted);
        assert_eq!(nack.error.as_deref(), Some("x.yaml:2:3: routes: bad"));
        assert!(verdict_ack("n1", 4, Ok(())).accepted);
    }
}
