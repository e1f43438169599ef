//! Test support: a terminal filter made from a plain function, standing in for the router so a
//! filter's tests can see what reached the end of the chain.

use std::sync::Arc;

use legate_sip::Message;

use crate::{
    build_chain, BoxSipService, BuildContext, ChainError, FilterConfigError, FilterFactory,
    FilterLayer, FilterSpec, Registry, SipRequest, SipResponse,
};

/// The name the test terminal is registered under.
pub(crate) const TERMINAL: &str = "legate.filters.sip.test_terminal";

/// Answers every request with what the function returns (an "upstream" response).
pub(crate) struct Terminal(pub fn(&SipRequest) -> Message);

impl FilterFactory for Terminal {
    fn name(&self) -> &'static str {
        TERMINAL
    }
    fn is_terminal(&self) -> bool {
        true
    }
    fn safe_for_untrusted(&self) -> bool {
        true
    }
    fn build(
        &self,
        _config: &serde_yaml::Value,
        _context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        let answer = self.0;
        Ok(Arc::new(move |_inner: BoxSipService| {
            BoxSipService::new(tower::service_fn(move |request: SipRequest| async move {
                Ok(SipResponse::upstream(answer(&request)))
            }))
        }))
    }
}

/// The chain a filter's tests run: `filter` (with `config`) in front of a terminal answering
/// with `answer`, built with every built-in registered.
pub(crate) fn filter_before_terminal(
    filter: &str,
    config: serde_yaml::Value,
    answer: fn(&SipRequest) -> Message,
    context: &BuildContext,
) -> Result<BoxSipService, ChainError> {
    filters_before_terminal(&[(filter, config)], answer, context)
}

/// The same with several filters, in order.
pub(crate) fn filters_before_terminal(
    filters: &[(&str, serde_yaml::Value)],
    answer: fn(&SipRequest) -> Message,
    context: &BuildContext,
) -> Result<BoxSipService, ChainError> {
    let mut registry = Registry::with_builtins();
    registry
        .register(Arc::new(Terminal(answer)))
        .map_err(|e| ChainError {
            field_path: String::new(),
            message: e.to_string(),
        })?;
    let mut specs: Vec<FilterSpec> = filters
        .iter()
        .map(|(name, config)| FilterSpec {
            name: name.to_string(),
            config: config.clone(),
        })
        .collect();
    specs.push(FilterSpec {
        name: TERMINAL.into(),
        config: serde_yaml::Value::Null,
    });
    build_chain(&registry, &specs, context)
}
