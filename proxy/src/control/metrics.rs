//! The series that show configuration pushes on `/metrics`.

use prometheus::{IntCounter, IntGauge, Registry};

#[derive(Clone)]
pub struct ConfigMetrics {
    /// `legate_config_swaps_total`: snapshots swapped in while running.
    pub swaps: IntCounter,
    /// `legate_config_acks_total`: snapshots accepted.
    pub acks: IntCounter,
    /// `legate_config_nacks_total`: snapshots refused.
    pub nacks: IntCounter,
    /// `legate_config_version`: the version of the running snapshot.
    pub version: IntGauge,
}

impl ConfigMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<ConfigMetrics> {
        let metrics = ConfigMetrics {
            swaps: IntCounter::new(
                "legate_config_swaps_total",
                "Configuration snapshots swapped in while running.",
            )?,
            acks: IntCounter::new(
                "legate_config_acks_total",
                "Configuration snapshots accepted (ACK).",
            )?,
            nacks: IntCounter::new(
                "legate_config_nacks_total",
                "Configuration snapshots refused (NACK); the running one stayed.",
            )?,
            version: IntGauge::new(
                "legate_config_version",
                "Version of the running configuration snapshot.",
            )?,
        };
        registry.register(Box::new(metrics.swaps.clone()))?;
        registry.register(Box::new(metrics.acks.clone()))?;
        registry.register(Box::new(metrics.nacks.clone()))?;
        registry.register(Box::new(metrics.version.clone()))?;
        Ok(metrics)
    }

    pub fn set_version(&self, version: u64) {
        self.version.set(i64::try_from(version).unwrap_or(i64::MAX));
    }
}
