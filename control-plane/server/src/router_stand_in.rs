//! A stand-in for the proxy's terminal router, `legate.filters.sip.router`.
//!
//! The router lives in the proxy, which the control plane does not link. Its config is always
//! empty (routes and clusters are top-level sections, which `legate-api` validates), so the
//! stand-in checks exactly what the real one checks at build time: that the config is empty,
//! and, through the registry, that it ends the chain. It never routes anything: chains built at
//! the control plane are only checked, never run.

use std::sync::Arc;

use legate_filters::{BuildContext, FilterConfigError, FilterFactory, FilterLayer, FilterStatus};

pub const NAME: &str = "legate.filters.sip.router";

pub struct RouterStandIn;

impl FilterFactory for RouterStandIn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn is_terminal(&self) -> bool {
        true
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
        FilterConfigError::expect_no_config(
            config,
            "the router takes no config: routes and clusters are top-level sections",
        )?;
        Ok(Arc::new(|inner| inner))
    }
}
