//! The factory registered in the registry, and the layer it builds.

use std::sync::Arc;

use super::client::AuthzClient;
use super::config::ExtAuthzConfig;
use super::counts::AuthzCounters;
use super::describe::BuiltFor;
use super::service::{ExtAuthz, Shared};
use super::NAME;
use legate_filters_api::{
    BoxSipService, BuildContext, ConfigFolder, FilterConfigError, FilterFactory, FilterLayer,
};

pub struct ExtAuthzFactory;

impl FilterFactory for ExtAuthzFactory {
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
        let folder = context.resources.get::<ConfigFolder>();
        let settings = ExtAuthzConfig::from_yaml(config)?.compile(folder)?;
        // One pool per chain: a new snapshot starts with fresh connections, and the old pool
        // closes when the last dialog of the old snapshot lets go of it.
        let client = AuthzClient::new(
            Arc::new(settings.endpoint.clone()),
            settings.timeout,
            settings.pool_size,
        );
        let shared = Arc::new(Shared {
            settings,
            client,
            built_for: BuiltFor {
                name: context.listener.name.clone(),
                side: context.listener.side,
            },
            counts: AuthzCounters::register(&context.metrics)?,
        });
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(ExtAuthz::new(shared.clone(), inner))
        }))
    }
}
