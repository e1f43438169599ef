//! Building a listener's chain from its config: look each filter up, build it, check the shape,
//! and end it with the router.

use std::collections::HashMap;

use legate_api::{ConfigError, FilterConfig, LoadedConfig, Side};
use tower::ServiceExt;

use crate::metrics::HistogramVec;

use crate::{
    BoxSipService, BuildContext, FilterConfigError, FilterError, ListenerInfo, Metrics, Registry,
    SipRequest, SipResponse,
};

/// The router: the terminal filter that ends every chain, picking the next hop and running the
/// client transaction. The proxy provides it; it takes no config (routes and clusters are
/// top-level sections).
pub const ROUTER: &str = "legate.filters.sip.router";

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

impl ChainError {
    fn at(index: usize, field: &str, message: impl Into<String>) -> ChainError {
        ChainError {
            field_path: format!("[{index}].{field}"),
            message: message.into(),
        }
    }
}

/// Builds the chain for one listener: `specs` must end with the [`ROUTER`], and name it only
/// there. `router` is the router's service; without one the chain is only checked (a request
/// run through it is answered 500). On an external listener, a filter that does not declare
/// itself safe for untrusted peers must come after one that authenticates them.
pub fn build_chain(
    registry: &Registry,
    specs: &[FilterSpec],
    context: &BuildContext,
    router: Option<&BoxSipService>,
) -> Result<BoxSipService, ChainError> {
    let Some((last, filters)) = specs.split_last() else {
        return Err(ChainError {
            field_path: String::new(),
            message: format!("a listener needs a filter chain ending in the router ({ROUTER})"),
        });
    };
    if last.name != ROUTER && registry.get(&last.name).is_none() {
        return Err(unknown(registry, filters.len(), &last.name));
    }
    if last.name != ROUTER {
        let message = format!(
            "the chain must end with the router ({ROUTER}), `{}` is not it",
            last.name
        );
        return Err(ChainError::at(filters.len(), "name", message));
    }
    FilterConfigError::expect_no_config(
        &last.config,
        "the router takes no config: routes and clusters are top-level sections",
    )
    .map_err(|error| ChainError::at(filters.len(), "config", error.message))?;

    let mut layers = Vec::with_capacity(filters.len());
    let mut untrusted = context.listener.side == Side::External;
    for (index, spec) in filters.iter().enumerate() {
        if spec.name == ROUTER {
            let message = format!("`{ROUTER}` ends the chain and must be the last filter");
            return Err(ChainError::at(index, "name", message));
        }
        let Some(factory) = registry.get(&spec.name) else {
            return Err(unknown(registry, index, &spec.name));
        };
        if untrusted && !factory.safe_for_untrusted() {
            let message = format!(
                "`{}` is not safe in front of untrusted peers: on an external listener, put it \
                 after a filter that authenticates peers ({})",
                spec.name,
                authenticators(registry)
            );
            return Err(ChainError::at(index, "name", message));
        }
        if factory.authenticates_peers() {
            untrusted = false;
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
    let durations = filter_durations(context);
    let timer = |name: &str| {
        durations
            .as_ref()
            .map(|d| d.with_label_values(&[&context.listener.name, name]))
    };
    let router = router.cloned().unwrap_or_else(unrouted);
    let mut service = crate::trace::step(ROUTER, timer(ROUTER), router);
    for (layer, spec) in layers.iter().zip(filters).rev() {
        service = crate::trace::step(&spec.name, timer(&spec.name), layer(service));
    }
    Ok(service)
}

/// Filters take microseconds; the router's time includes the upstream's answer.
const DURATION_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0,
];

/// `legate_filter_duration_seconds`, registered once per process.
fn filter_durations(context: &BuildContext) -> Option<HistogramVec> {
    context
        .metrics
        .histogram_vec(
            "legate_filter_duration_seconds",
            "Time each filter spent on a request, on its way in and its answer's way back (the \
             router's includes the upstream), by listener and filter.",
            &["listener", "filter"],
            DURATION_BUCKETS.to_vec(),
        )
        .ok()
}

fn unknown(registry: &Registry, index: usize, name: &str) -> ChainError {
    let message = format!(
        "unknown filter `{name}`, expected one of {}",
        registry.names().join(", ")
    );
    ChainError::at(index, "name", message)
}

/// The registered filters that authenticate peers, for the message that asks for one.
fn authenticators(registry: &Registry) -> String {
    let names: Vec<&str> = registry
        .filters()
        .into_iter()
        .filter(|info| info.authenticates_peers)
        .map(|info| info.name)
        .collect();
    if names.is_empty() {
        "none is registered".into()
    } else {
        names.join(", ")
    }
}

/// What every chain of one snapshot is built with.
#[derive(Clone, Default)]
pub struct ChainInputs {
    /// The snapshot's resources (directories, peers, config folder, …), by type.
    pub resources: http::Extensions,
    /// The process's filter metrics.
    pub metrics: Metrics,
    /// The router ending every chain; none when the chains are only checked.
    pub router: Option<BoxSipService>,
}

/// Builds every listener's chain of `loaded`, by listener name. The error names the listener's
/// filter at fault.
pub fn build_listener_chains(
    registry: &Registry,
    loaded: &LoadedConfig,
    inputs: &ChainInputs,
) -> Result<HashMap<String, BoxSipService>, ConfigError> {
    let mut chains = HashMap::new();
    for (index, listener) in loaded.config.listeners.iter().enumerate() {
        let context = BuildContext {
            listener: ListenerInfo {
                name: listener.name.as_str().into(),
                side: listener.side,
                transport: listener.transport,
                local_addr: listener.address,
            },
            resources: inputs.resources.clone(),
            metrics: inputs.metrics.clone(),
        };
        let chain = build_chain(
            registry,
            &listener.filters,
            &context,
            inputs.router.as_ref(),
        )
        .map_err(|error| {
            loaded.source.error(
                &format!("listeners[{index}].filters{}", error.field_path),
                error.message,
            )
        })?;
        chains.insert(listener.name.clone(), chain);
    }
    Ok(chains)
}

/// Ends a chain that is only checked.
fn unrouted() -> BoxSipService {
    BoxSipService::new(tower::service_fn(|_request: SipRequest| async {
        Err::<SipResponse, _>(FilterError::internal(
            ROUTER,
            "the chain was built to be checked, not run",
        ))
    }))
}

/// Runs `request` through `chain` (a clone of the shared chain).
pub async fn call(chain: &BoxSipService, request: SipRequest) -> Result<SipResponse, FilterError> {
    chain.clone().oneshot(request).await
}
