//! The one explicit registry of filter factories, keyed by name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::audit::AuditFactory;
use crate::authn::AuthnFactory;
use crate::domain_policy::DomainPolicyFactory;
use crate::ext_authz::ExtAuthzFactory;
use crate::header_mutation::HeaderMutationFactory;
use crate::peer_limits::PeerLimitsFactory;
use crate::translation::TranslationFactory;
use crate::{FilterFactory, FilterStatus};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("a filter named `{0}` is already registered")]
    Duplicate(String),
    #[error("filter names must start with `legate.filters.sip.`: `{0}`")]
    BadName(String),
}

/// What a registered filter declares about itself: the row `legate filters` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInfo {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub status: FilterStatus,
    pub terminal: bool,
    pub safe_for_untrusted: bool,
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
        let builtins: [Arc<dyn FilterFactory>; 7] = [
            Arc::new(AuthnFactory),
            Arc::new(AuditFactory),
            Arc::new(HeaderMutationFactory),
            Arc::new(DomainPolicyFactory),
            Arc::new(ExtAuthzFactory),
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

    /// Every registered filter once (its aliases listed with it), sorted by name.
    pub fn filters(&self) -> Vec<FilterInfo> {
        let mut filters: Vec<FilterInfo> = self
            .factories
            .iter()
            .filter(|(name, factory)| **name == factory.name())
            .map(|(_, factory)| FilterInfo {
                name: factory.name(),
                aliases: factory.aliases(),
                status: factory.status(),
                terminal: factory.is_terminal(),
                safe_for_untrusted: factory.safe_for_untrusted(),
            })
            .collect();
        filters.sort_unstable_by_key(|info| info.name);
        filters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuildContext, FilterConfigError, FilterLayer};

    struct Renamed;

    impl FilterFactory for Renamed {
        fn name(&self) -> &'static str {
            "legate.filters.sip.renamed"
        }
        fn aliases(&self) -> &'static [&'static str] {
            &["legate.filters.sip.old_name"]
        }
        fn safe_for_untrusted(&self) -> bool {
            false
        }
        fn build(
            &self,
            _config: &serde_yaml::Value,
            _context: &BuildContext,
        ) -> Result<FilterLayer, FilterConfigError> {
            Err(FilterConfigError::new("", "not built in these tests"))
        }
    }

    #[test]
    fn an_aliased_filter_is_listed_once_under_its_name() {
        let mut registry = Registry::with_builtins();
        registry.register(Arc::new(Renamed)).unwrap();
        assert!(registry.get("legate.filters.sip.old_name").is_some());
        let listed: Vec<_> = registry
            .filters()
            .into_iter()
            .filter(|info| info.name.ends_with("renamed") || info.name.ends_with("old_name"))
            .collect();
        assert_eq!(
            listed,
            [FilterInfo {
                name: "legate.filters.sip.renamed",
                aliases: &["legate.filters.sip.old_name"],
                status: FilterStatus::Experimental,
                terminal: false,
                safe_for_untrusted: false,
            }]
        );
    }

    #[test]
    fn names_must_be_unique_and_namespaced() {
        let mut registry = Registry::with_builtins();
        registry.register(Arc::new(Renamed)).unwrap();
        assert_eq!(
            registry.register(Arc::new(Renamed)),
            Err(RegistryError::Duplicate(
                "legate.filters.sip.renamed".into()
            ))
        );
    }
}
