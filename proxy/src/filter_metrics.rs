//! The metrics filters register through the filter API (built-in and vendor filters alike),
//! served on the admin API's `/metrics` beside the proxy's own.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

/// The metrics filters registered through the filter API ([`legate_filters_api::Metrics`]),
/// served beside the proxy's own. Filters register theirs while snapshots build, after this is
/// registered, so it declares no descriptors up front and collects whatever is there.
pub struct FilterApiMetrics(pub legate_filters_api::Metrics);

impl Collector for FilterApiMetrics {
    fn desc(&self) -> Vec<&Desc> {
        Vec::new()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0.gather()
    }
}
