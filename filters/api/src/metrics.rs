//! Metrics a filter keeps, served by the proxy on `/metrics` beside its own.
//!
//! A factory asks [`BuildContext::metrics`](crate::BuildContext) for its counters, gauges and
//! histograms while it builds. Asking again for a name already registered (the next snapshot's
//! build asks for the same ones) returns the same series, so counts run on across config swaps.
//! Name a metric after its vendor (`acme_dlp_matches_total`); `legate_` is Legate's own.
//!
//! ```
//! use legate_filters_api::Metrics;
//!
//! let metrics = Metrics::new();
//! let matches = metrics
//!     .counter_vec("example_dlp_matches_total", "Messages that matched a rule, by rule", &["rule"])
//!     .unwrap();
//! matches.with_label_values(&["card-number"]).inc();
//! let again = metrics
//!     .counter_vec("example_dlp_matches_total", "Messages that matched a rule, by rule", &["rule"])
//!     .unwrap();
//! assert_eq!(again.with_label_values(&["card-number"]).get(), 1);
//! ```

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus::core::Collector;
pub use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
};

/// A metric could not be registered.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MetricsError {
    #[error("metric `{0}` is already registered as another kind or with other labels")]
    Conflict(String),
    #[error("metric `{name}`: {reason}")]
    Invalid { name: String, reason: String },
}

/// The process's filter metrics: one per process, shared by every snapshot's filters.
#[derive(Clone, Default)]
pub struct Metrics {
    registry: prometheus::Registry,
    by_name: Arc<Mutex<HashMap<String, Registered>>>,
}

/// A registered metric: the collector (to hand out again) and its label names.
struct Registered {
    collector: Box<dyn Any + Send>,
    labels: Vec<String>,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    pub fn counter(&self, name: &str, help: &str) -> Result<IntCounter, MetricsError> {
        self.get_or_register(name, &[], || IntCounter::new(name, help))
    }

    pub fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntCounterVec, MetricsError> {
        self.get_or_register(name, labels, || {
            IntCounterVec::new(Opts::new(name, help), labels)
        })
    }

    pub fn gauge(&self, name: &str, help: &str) -> Result<IntGauge, MetricsError> {
        self.get_or_register(name, &[], || IntGauge::new(name, help))
    }

    pub fn gauge_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntGaugeVec, MetricsError> {
        self.get_or_register(name, labels, || {
            IntGaugeVec::new(Opts::new(name, help), labels)
        })
    }

    /// A histogram with `buckets` (upper bounds, in the metric's unit).
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> Result<HistogramVec, MetricsError> {
        self.get_or_register(name, labels, || {
            HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        })
    }

    /// Every registered metric's current values, for `/metrics`.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }

    /// The current value of the counter or gauge `name` whose labels are exactly `labels`
    /// (in any order); `None` when there is no such series. For tests and health checks.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = self.gather().into_iter().find(|f| f.get_name() == name)?;
        let is_gauge = family.get_field_type() == prometheus::proto::MetricType::GAUGE;
        family
            .get_metric()
            .iter()
            .find(|metric| {
                let pairs = metric.get_label();
                pairs.len() == labels.len()
                    && labels.iter().all(|(label, value)| {
                        pairs
                            .iter()
                            .any(|pair| pair.get_name() == *label && pair.get_value() == *value)
                    })
            })
            .map(|metric| {
                if is_gauge {
                    metric.get_gauge().get_value()
                } else {
                    metric.get_counter().get_value()
                }
            })
    }

    fn get_or_register<C>(
        &self,
        name: &str,
        labels: &[&str],
        make: impl FnOnce() -> prometheus::Result<C>,
    ) -> Result<C, MetricsError>
    where
        C: Collector + Clone + Send + 'static,
    {
        let mut by_name = self
            .by_name
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(registered) = by_name.get(name) {
            let same_labels = registered
                .labels
                .iter()
                .map(String::as_str)
                .eq(labels.iter().copied());
            return match registered.collector.downcast_ref::<C>() {
                Some(collector) if same_labels => Ok(collector.clone()),
                _ => Err(MetricsError::Conflict(name.to_string())),
            };
        }
        let invalid = |error: prometheus::Error| MetricsError::Invalid {
            name: name.to_string(),
            reason: error.to_string(),
        };
        let collector = make().map_err(invalid)?;
        self.registry
            .register(Box::new(collector.clone()))
            .map_err(invalid)?;
        by_name.insert(
            name.to_string(),
            Registered {
                collector: Box::new(collector.clone()),
                labels: labels.iter().map(|label| label.to_string()).collect(),
            },
        );
        Ok(collector)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
