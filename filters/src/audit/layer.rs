//! The factory registered in the registry, and the layer it builds.

use std::sync::Arc;

use legate_audit::AuditLog;

use super::config::AuditFilterConfig;
use super::service::{Audit, Shared};
use super::NAME;
use legate_filters_api::{
    BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, Peers,
};

pub struct AuditFactory;

impl FilterFactory for AuditFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn safe_for_untrusted(&self) -> bool {
        true
    }

    fn build(
        &self,
        config: &serde_yaml::Value,
        context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        let config = AuditFilterConfig::from_yaml(config)?;
        let peers = context
            .resources
            .get::<Peers>()
            .cloned()
            .unwrap_or_default();
        let compiled = config.compile(&peers)?;
        // The proxy builds the one log from the top-level `audit` section.
        let log = context
            .resources
            .get::<AuditLog>()
            .cloned()
            .ok_or_else(|| {
                FilterConfigError::new(
                    "",
                    "the audit filter needs the top-level `audit` section (its sinks), which this \
                 configuration does not have",
                )
            })?;
        let shared = Arc::new(Shared {
            log,
            compiled,
            peers,
            side: context.listener.side,
            listener: context.listener.name.to_string(),
        });
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(Audit::new(shared.clone(), inner))
        }))
    }
}
