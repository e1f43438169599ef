//! The factory registered in the registry, and the layer it builds.

use std::sync::Arc;

use super::config::TranslationConfig;
use super::mapping::Toward;
use super::service::Translation;
use super::NAME;
use crate::{BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, Side};

pub struct TranslationFactory;

impl FilterFactory for TranslationFactory {
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
        let map = Arc::new(TranslationConfig::from_yaml(config)?.compile()?);
        // Requests arriving on the internal side are leaving the organisation.
        let toward = match context.listener.side {
            Side::Internal => Toward::External,
            Side::External => Toward::Internal,
        };
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(Translation::new(map.clone(), toward, inner))
        }))
    }
}
