//! The factory Legate's registry holds: parses the config once per snapshot and makes the hook.

use legate_filters_api::{
    hook_layer, BuildContext, FilterConfigError, FilterFactory, FilterLayer, FilterStatus,
};

use super::config::DlpConfig;
use super::hook::Dlp;
use super::NAME;

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
        context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        let compiled = DlpConfig::from_yaml(config)?.compile()?;
        let matches = context
            .metrics
            .counter_vec(
                "example_dlp_matches_total",
                "Requests whose body matched a rule, by the first rule matched",
                &["rule"],
            )
            .map_err(|error| FilterConfigError::new("", error.to_string()))?;
        Ok(hook_layer(Dlp::new(compiled, matches)))
    }
}
