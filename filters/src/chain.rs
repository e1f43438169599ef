//! Building a listener's chain from its config: look each filter up, build it, check the shape.

use legate_api::FilterConfig;
use tower::ServiceExt;

use crate::{BoxSipService, BuildContext, FilterError, Registry, SipRequest, SipResponse};

/// One entry of a listener's `filters` list.
pub type FilterSpec = FilterConfig;

/// Why a chain could not be built. `field_path` is relative to the listener's `filters` list
/// (`[1].config.request.add[0].name`), so the caller can prefix the listener and locate it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("filters{field_path}: {message}")]
pub struct ChainError {
    pub field_path: String,
    pub message: String,
}

/// Builds the chain for one listener. The last filter must be terminal, and only the last.
pub fn build_chain(
    registry: &Registry,
    specs: &[FilterSpec],
    context: &BuildContext,
) -> Result<BoxSipService, ChainError> {
    let Some(last) = specs.len().checked_sub(1) else {
        return Err(ChainError {
            field_path: String::new(),
            message: "a listener needs a filter chain ending in a terminal filter \
                      (legate.filters.sip.router)"
                .into(),
        });
    };
    let mut layers = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let Some(factory) = registry.get(&spec.name) else {
            return Err(ChainError {
                field_path: format!("[{index}].name"),
                message: format!(
                    "unknown filter `{}`, expected one of {}",
                    spec.name,
                    registry.names().join(", ")
                ),
            });
        };
        if factory.is_terminal() != (index == last) {
            let message = if factory.is_terminal() {
                format!("`{}` is terminal and must be the last filter", spec.name)
            } else {
                format!(
                    "the chain must end with a terminal filter, `{}` is not one",
                    spec.name
                )
            };
            return Err(ChainError {
                field_path: format!("[{index}].name"),
                message,
            });
        }
        let layer = factory.build(&spec.config, context).map_err(|error| {
            let inner = if error.path.is_empty() {
                String::new()
            } else {
                format!(".{}", error.path)
            };
            ChainError {
                field_path: format!("[{index}].config{inner}"),
                message: error.message,
            }
        })?;
        layers.push(layer);
    }
    // The terminal filter ignores its inner service; this one only exists to start the fold.
    let mut service = unreachable_inner();
    for layer in layers.iter().rev() {
        service = layer(service);
    }
    Ok(service)
}

fn unreachable_inner() -> BoxSipService {
    BoxSipService::new(tower::service_fn(|_request: SipRequest| async {
        Err::<SipResponse, _>(FilterError::internal(
            "legate.filters.chain",
            "the chain has no terminal filter",
        ))
    }))
}

/// Runs `request` through `chain` (a clone of the shared chain).
pub async fn call(chain: &BoxSipService, request: SipRequest) -> Result<SipResponse, FilterError> {
    chain.clone().oneshot(request).await
}
