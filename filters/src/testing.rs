//! Test support: a terminal filter made from a plain function, standing in for the router so a
//! filter's tests can see what reached the end of the chain.

use std::sync::Arc;

use legate_sip::Message;

use crate::{
    BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, SipRequest,
    SipResponse,
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
