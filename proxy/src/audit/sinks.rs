//! Making the sinks the `audit.sinks` list names.

use std::sync::Arc;

use legate_api::{AuditSinkConfig, ConfigError, LoadedConfig};
use legate_audit::{NamedSink, Sink, StdoutSink};

/// Every configured sink, by its config name, in config order. A kind this build cannot make
/// is a config error naming the sink's field.
pub fn build_sinks(loaded: &LoadedConfig) -> Result<Vec<NamedSink>, ConfigError> {
    let Some(audit) = &loaded.config.audit else {
        return Ok(Vec::new());
    };
    let mut sinks = Vec::with_capacity(audit.sinks.len());
    for (index, config) in audit.sinks.iter().enumerate() {
        let sink = build_sink(config).map_err(|kind| {
            loaded.source.error(
                &format!("audit.sinks[{index}].{kind}"),
                format!("sink kind {kind} not available in this build"),
            )
        })?;
        sinks.push((config.name.clone(), sink));
    }
    Ok(sinks)
}

/// One sink; the error is the kind that cannot be made.
fn build_sink(config: &AuditSinkConfig) -> Result<Arc<dyn Sink>, &'static str> {
    match config.kinds().first().copied() {
        Some("stdout") => Ok(Arc::new(StdoutSink::new())),
        // The database and webhook sinks are constructed here once they are in the build.
        Some(kind) => Err(kind),
        // Validation has already refused a sink without a kind.
        None => Err("kind"),
    }
}
