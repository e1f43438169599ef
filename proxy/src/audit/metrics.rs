//! The audit log's health as Prometheus series on `/metrics`, read at scrape time.

use legate_audit::AuditLog;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Opts};

pub struct AuditMetrics {
    log: AuditLog,
    records: IntCounterVec,
    up: IntGaugeVec,
    spooled: IntGaugeVec,
    refusals: IntCounter,
}

impl AuditMetrics {
    pub fn new(log: AuditLog) -> Result<AuditMetrics, prometheus::Error> {
        Ok(AuditMetrics {
            log,
            records: IntCounterVec::new(
                Opts::new(
                    "legate_audit_records_total",
                    "Audit records each sink has taken since the process started",
                ),
                &["sink"],
            )?,
            up: IntGaugeVec::new(
                Opts::new(
                    "legate_audit_sink_up",
                    "1 while an audit sink takes records, 0 from a failed append until one succeeds",
                ),
                &["sink"],
            )?,
            spooled: IntGaugeVec::new(
                Opts::new(
                    "legate_audit_spooled",
                    "Audit records waiting in a sink's spool file",
                ),
                &["sink"],
            )?,
            refusals: IntCounter::new(
                "legate_audit_refusals_total",
                "Requests refused in closed mode because their audit record was not durable",
            )?,
        })
    }
}

impl Collector for AuditMetrics {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs = self.records.desc();
        descs.extend(self.up.desc());
        descs.extend(self.spooled.desc());
        descs.extend(self.refusals.desc());
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let health = self.log.health();
        for sink in &health.sinks {
            let labels = [sink.name.as_str()];
            let records = self.records.with_label_values(&labels);
            records.reset();
            records.inc_by(sink.appended);
            self.up.with_label_values(&labels).set(i64::from(sink.up));
            self.spooled
                .with_label_values(&labels)
                .set(i64::try_from(sink.spooled).unwrap_or(i64::MAX));
        }
        self.refusals.reset();
        self.refusals.inc_by(health.refusals);
        let mut families = self.records.collect();
        families.extend(self.up.collect());
        families.extend(self.spooled.collect());
        families.extend(self.refusals.collect());
        families
    }
}
