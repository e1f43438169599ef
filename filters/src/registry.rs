//! The one explicit registry of filter factories, keyed by name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::audit::AuditFactory;
use crate::authn::AuthnFactory;
use crate::domain_policy::DomainPolicyFactory;
use crate::header_mutation::HeaderMutationFactory;
use crate::peer_limits::PeerLimitsFactory;
use crate::translation::TranslationFactory;
use crate::FilterFactory;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("a filter named `{0}` is already registered")]
    Duplicate(String),
    #[error("filter names must start with `legate.filters.sip.`: `{0}`")]
    BadName(String),
}

/// Filter factories by name (and alias).
#[derive(Clone, Default)]
pub struct Registry {
    factories: HashMap<&'static str, Arc<dyn FilterFactory>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The built-in filters that need nothing from the proxy core. The proxy adds the terminal
    /// router, which needs its routing table.
    pub fn with_builtins() -> Registry {
        let mut registry = Registry::new();
        let builtins: [Arc<dyn FilterFactory>; 6] = [
            Arc::new(AuthnFactory),
            Arc::new(AuditFactory),
            Arc::new(HeaderMutationFactory),
            Arc::new(DomainPolicyFactory),
            Arc::new(PeerLimitsFactory),
            Arc::new(TranslationFactory),
        ];
        for factory in builtins {
            if let Err(error) = registry.register(factory) {
                // Built-in names are fixed at compile time and checked by a test.
                tracing::error!(%error, "built-in filter not registered");
            }
        }
        registry
    }

    pub fn register(&mut self, factory: Arc<dyn FilterFactory>) -> Result<(), RegistryError> {
        let names = std::iter::once(factory.name()).chain(factory.aliases().iter().copied());
        let names: Vec<&'static str> = names.collect();
        for name in &names {
            if !name.starts_with("legate.filters.sip.") {
                return Err(RegistryError::BadName(name.to_string()));
            }
            if self.factories.contains_key(name) {
                return Err(RegistryError::Duplicate(name.to_string()));
            }
        }
        for name in names {
            self.factories.insert(name, factory.clone());
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn FilterFactory>> {
        self.factories.get(name)
    }

    /// Registered names, sorted (for error messages and `legate validate`).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.factories.keys().copied().collect();
        names.sort_unstable();
        names
    }
}
