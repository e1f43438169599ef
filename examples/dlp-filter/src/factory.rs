//! The factory Legate's registry holds: parses the config once per snapshot and wraps the rest
//! of the chain in the filter.

use std::sync::Arc;

use legate_filters::{
    BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, FilterStatus,
};

use crate::config::DlpConfig;
use crate::service::Dlp;
use crate::NAME;

pub struct DlpFactory;

impl FilterFactory for DlpFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn safe_for_untrusted(&self) -> bool {
        true
    }

    fn status(&self) -> FilterStatus {
        FilterStatus::Experimental
    }

    fn build(
        &self,
        config: &serde_yaml::Value,
        _context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        let compiled = Arc::new(DlpConfig::from_yaml(config)?.compile()?);
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(Dlp::new(compiled.clone(), inner))
        }))
    }
}
