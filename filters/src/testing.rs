//! The built-in filters' tests run through the filter API's harness, as a vendor's do, with
//! every built-in registered.

use legate_filters_api::testing::Harness;
use legate_filters_api::{BoxSipService, BuildContext, ChainError, FilterSpec, SipRequest};
use legate_sip::Message;

/// `filter` (with `config`) in front of a router stand-in answering with `answer`.
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
    let specs = filters
        .iter()
        .map(|(name, config)| FilterSpec {
            name: name.to_string(),
            config: config.clone(),
        })
        .collect();
    Harness::for_context(context.clone())
        .with_registry(crate::builtins())
        .answering(answer)
        .chain_of(specs)
}
