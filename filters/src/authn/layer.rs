//! The factory registered in the registry, and the layer it builds.

use std::sync::Arc;

use super::config::AuthnConfig;
use super::refusal::RefusalCounters;
use super::service::Authn;
use super::NAME;
use legate_filters_api::{
    BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, FilterStatus, Peers,
};

pub struct AuthnFactory;

impl FilterFactory for AuthnFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn safe_for_untrusted(&self) -> bool {
        true
    }

    fn authenticates_peers(&self) -> bool {
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
        let side = context.listener.side;
        let compiled = AuthnConfig::from_yaml(config)?.compile(side)?;
        // No resource means no partners are configured: every external request is refused.
        let peers = context
            .resources
            .get::<Peers>()
            .cloned()
            .unwrap_or_default();
        let refusals = RefusalCounters::register(&context.metrics)?;
        Ok(Arc::new(move |inner: BoxSipService| {
            let refusals = refusals.clone();
            BoxSipService::new(Authn::new(
                compiled.clone(),
                peers.clone(),
                side,
                refusals,
                inner,
            ))
        }))
    }
}
