//! The factory registered in the registry, and the layer it builds.

use std::sync::Arc;

use super::config::TranslationConfig;
use super::directory_mapping::DirectoryMapping;
use super::mapping::Toward;
use super::service::Translation;
use super::NAME;
use legate_filters_api::{
    BoxSipService, BuildContext, Directories, FilterConfigError, FilterFactory, FilterLayer,
    FilterStatus, Side,
};

pub struct TranslationFactory;

impl FilterFactory for TranslationFactory {
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
        context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        let config = TranslationConfig::from_yaml(config)?;
        let map = Arc::new(config.compile()?);
        let directory = match &config.directory_mapping {
            None => None,
            Some(mapping) => {
                let directories = context.resources.get::<Directories>();
                let directory = directories
                    .and_then(|all| all.get(&mapping.directory))
                    .ok_or_else(|| {
                        let known = directories.map(Directories::names).unwrap_or_default();
                        FilterConfigError::new(
                            "directory_mapping.directory",
                            format!(
                                "no directory `{}` (directories: {})",
                                mapping.directory,
                                if known.is_empty() {
                                    "none".to_string()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        )
                    })?;
                Some(Arc::new(DirectoryMapping {
                    directory,
                    attribute: mapping.attribute.clone(),
                }))
            }
        };
        // Requests arriving on the internal side are leaving the organisation.
        let toward = match context.listener.side {
            Side::Internal => Toward::External,
            Side::External => Toward::Internal,
        };
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(Translation::new(
                map.clone(),
                directory.clone(),
                toward,
                inner,
            ))
        }))
    }
}
