//! What the log reports about its sinks (`/readyz` detail, Prometheus series).

use std::fmt;

/// One sink's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkHealth {
    /// The sink's name in the config.
    pub name: String,
    /// False from a failed append until the next one succeeds.
    pub up: bool,
    /// Records waiting in its spool file.
    pub spooled: usize,
    /// Records waiting in memory.
    pub queued: usize,
    /// Records it has taken since the process started.
    pub appended: u64,
}

/// Every sink's state, and the records closed mode could not make durable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditHealth {
    pub sinks: Vec<SinkHealth>,
    /// Closed-mode records not confirmed by every sink (each refused its request).
    pub refusals: u64,
}

impl AuditHealth {
    pub fn all_up(&self) -> bool {
        self.sinks.iter().all(|sink| sink.up)
    }
}

impl fmt::Display for SinkHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit sink {}: {}, {} spooled, {} queued",
            self.name,
            if self.up { "up" } else { "down" },
            self.spooled,
            self.queued
        )
    }
}
