//! The factory registered in the registry, and the layer it builds.

use std::sync::Arc;

use super::compile::CompiledPolicy;
use super::config::DomainPolicyConfig;
use super::decision::DecisionCounters;
use super::service::DomainPolicy;
use super::NAME;
use legate_filters_api::Directories;
use legate_filters_api::{
    BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, FilterStatus,
};

pub struct DomainPolicyFactory;

impl FilterFactory for DomainPolicyFactory {
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
        let config = DomainPolicyConfig::from_yaml(config)?;
        let directories = context.resources.get::<Directories>();
        let policy = Arc::new(CompiledPolicy::compile(&config, directories)?);
        // The listener's side is known at build time; the request's ListenerInfo, when the
        // proxy attaches one, takes precedence.
        let side = context.listener.side;
        let counts = Arc::new(DecisionCounters::register(&context.metrics)?);
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(DomainPolicy::new(
                policy.clone(),
                side,
                counts.clone(),
                inner,
            ))
        }))
    }
}
