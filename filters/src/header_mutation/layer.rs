//! The factory registered in the registry, and the layer it builds.

use std::sync::Arc;

use super::config::HeaderMutationConfig;
use super::service::HeaderMutation;
use super::NAME;
use legate_filters_api::{
    BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, FilterStatus,
};

pub struct HeaderMutationFactory;

impl FilterFactory for HeaderMutationFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn safe_for_untrusted(&self) -> bool {
        true
    }

    fn status(&self) -> FilterStatus {
        FilterStatus::Stable
    }

    fn build(
        &self,
        config: &serde_yaml::Value,
        _context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        let compiled = Arc::new(HeaderMutationConfig::from_yaml(config)?.compile()?);
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(HeaderMutation::new(compiled.clone(), inner))
        }))
    }
}
