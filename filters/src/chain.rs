//! Building a listener's chain from its config: look each filter up, build it, check the shape.

use std::collections::HashMap;

use legate_api::{ConfigError, FilterConfig, LoadedConfig, Side};
use tower::ServiceExt;

use crate::{
    BoxSipService, BuildContext, FilterError, ListenerInfo, Registry, SipRequest, SipResponse,
};

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

/// Builds the chain for one listener. The last filter must be terminal, and only the last. On
/// an external listener, a filter that does not declare itself safe for untrusted peers must
/// come after `authn`, which proves who is speaking before it sees anything.
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
    let mut untrusted = context.listener.side == Side::External;
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
        if untrusted && !factory.safe_for_untrusted() {
            return Err(ChainError {
                field_path: format!("[{index}].name"),
                message: format!(
                    "`{}` is not safe in front of untrusted peers: on an external listener, \
                     put it after {}",
                    spec.name,
                    crate::authn::NAME
                ),
            });
        }
        if factory.name() == crate::authn::NAME {
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
    // The terminal filter ignores its inner service; this one only exists to start the fold.
    let mut service = unreachable_inner();
    for layer in layers.iter().rev() {
        service = layer(service);
    }
    Ok(service)
}

/// Builds every listener's chain of `loaded`, by listener name, each given `shared` (the
/// directories, peers, routing and whatever else its filters look up) and its own listener.
/// The error names the listener's filter at fault.
pub fn build_listener_chains(
    registry: &Registry,
    loaded: &LoadedConfig,
    shared: &http::Extensions,
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
            resources: shared.clone(),
        };
        let chain = build_chain(registry, &listener.filters, &context).map_err(|error| {
            loaded.source.error(
                &format!("listeners[{index}].filters{}", error.field_path),
                error.message,
            )
        })?;
        chains.insert(listener.name.clone(), chain);
    }
    Ok(chains)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use legate_api::Transport;

    use super::*;
    use crate::testing::{Terminal, TERMINAL};
    use crate::{FilterConfigError, FilterFactory, FilterLayer, ListenerInfo, Peers};

    /// A pass-through filter that does not claim to be safe in front of partners.
    struct Unvetted;

    const UNVETTED: &str = "legate.filters.sip.unvetted";

    impl FilterFactory for Unvetted {
        fn name(&self) -> &'static str {
            UNVETTED
        }
        fn safe_for_untrusted(&self) -> bool {
            false
        }
        fn build(
            &self,
            _config: &serde_yaml::Value,
            _context: &BuildContext,
        ) -> Result<FilterLayer, FilterConfigError> {
            Ok(Arc::new(|inner: BoxSipService| inner))
        }
    }

    fn context(side: Side) -> BuildContext {
        let mut resources = http::Extensions::new();
        resources.insert(Peers::new(Vec::new()));
        BuildContext {
            listener: ListenerInfo {
                name: "l".into(),
                side,
                transport: Transport::Udp,
                local_addr: "127.0.0.1:5060".parse().unwrap(),
            },
            resources,
        }
    }

    fn build(names: &[&str], side: Side) -> Result<BoxSipService, ChainError> {
        let mut registry = Registry::with_builtins();
        let _ = registry.register(Arc::new(Unvetted));
        let _ = registry.register(Arc::new(Terminal(|request| request.message.clone())));
        let mut specs: Vec<FilterSpec> = names
            .iter()
            .map(|name| FilterSpec {
                name: (*name).into(),
                config: if *name == crate::authn::NAME {
                    serde_yaml::from_str("local_domains: [acme.example]").unwrap()
                } else {
                    serde_yaml::Value::Null
                },
            })
            .collect();
        specs.push(FilterSpec {
            name: TERMINAL.into(),
            config: serde_yaml::Value::Null,
        });
        build_chain(&registry, &specs, &context(side))
    }

    #[test]
    fn an_unvetted_filter_faces_partners_only_behind_authn() {
        let Err(error) = build(&[UNVETTED], Side::External) else {
            panic!("an unvetted filter was put in front of partners");
        };
        assert_eq!(error.field_path, "[0].name");
        assert!(
            error.message.contains("after legate.filters.sip.authn"),
            "{error}"
        );
        assert!(build(&[crate::authn::NAME, UNVETTED], Side::External).is_ok());
        assert!(build(&[UNVETTED], Side::Internal).is_ok());
    }
}
