//! The one explicit registry of filter factories, keyed by name.
//!
//! Names are `<vendor>.filters.sip.<name>`: the vendor part is the filter maker's own (`acme`,
//! `example.com`), `legate` is reserved for the filters Legate ships, and the router that ends
//! every chain is [`ROUTER`](crate::ROUTER). Names are API: never rename, add an alias.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{FilterFactory, FilterStatus, ROUTER};

/// The vendor part of the names of Legate's own filters.
pub const BUILTIN_PREFIX: &str = "legate.";

/// What separates the vendor from the filter's own name.
const CATEGORY: &str = ".filters.sip.";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("a filter named `{0}` is already registered")]
    Duplicate(String),
    #[error(
        "`{0}` is not a filter name: names are `<vendor>.filters.sip.<name>`, the vendor in \
         lower-case letters, digits, `-` and dots, the name in lower-case letters, digits and `_`"
    )]
    BadName(String),
    #[error("`{0}`: the `legate.` namespace is reserved for Legate's own filters; use your own vendor name")]
    Reserved(String),
}

/// What a registered filter declares about itself: the row `legate filters` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInfo {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub status: FilterStatus,
    pub terminal: bool,
    pub safe_for_untrusted: bool,
    pub authenticates_peers: bool,
}

/// Filter factories by name (and alias).
#[derive(Clone, Default)]
pub struct Registry {
    factories: HashMap<&'static str, Arc<dyn FilterFactory>>,
}

impl Registry {
    /// An empty registry: chains of it hold only the router.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a vendor's filter under its name and aliases, none of which may be in the `legate.`
    /// namespace or already taken.
    pub fn register(&mut self, factory: Arc<dyn FilterFactory>) -> Result<(), RegistryError> {
        self.insert(factory, false)
    }

    /// Adds one of Legate's own filters (`legate.filters.sip.<name>`).
    #[doc(hidden)]
    pub fn register_builtin(
        &mut self,
        factory: Arc<dyn FilterFactory>,
    ) -> Result<(), RegistryError> {
        self.insert(factory, true)
    }

    fn insert(
        &mut self,
        factory: Arc<dyn FilterFactory>,
        builtin: bool,
    ) -> Result<(), RegistryError> {
        let names = std::iter::once(factory.name()).chain(factory.aliases().iter().copied());
        let names: Vec<&'static str> = names.collect();
        for name in &names {
            if !is_filter_name(name) {
                return Err(RegistryError::BadName(name.to_string()));
            }
            if name.starts_with(BUILTIN_PREFIX) != builtin {
                let error = if builtin {
                    RegistryError::BadName(name.to_string())
                } else {
                    RegistryError::Reserved(name.to_string())
                };
                return Err(error);
            }
            if self.factories.contains_key(name) || *name == ROUTER {
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

    /// Every name a chain may use, the router's included, sorted (for error messages).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.factories.keys().copied().collect();
        names.push(ROUTER);
        names.sort_unstable();
        names
    }

    /// Every filter once (its aliases listed with it) and the router, sorted by name.
    pub fn filters(&self) -> Vec<FilterInfo> {
        let mut filters: Vec<FilterInfo> = self
            .factories
            .iter()
            .filter(|(name, factory)| **name == factory.name())
            .map(|(_, factory)| FilterInfo {
                name: factory.name(),
                aliases: factory.aliases(),
                status: factory.status(),
                terminal: false,
                safe_for_untrusted: factory.safe_for_untrusted(),
                authenticates_peers: factory.authenticates_peers(),
            })
            .collect();
        filters.push(FilterInfo {
            name: ROUTER,
            aliases: &[],
            status: FilterStatus::Stable,
            terminal: true,
            safe_for_untrusted: true,
            authenticates_peers: false,
        });
        filters.sort_unstable_by_key(|info| info.name);
        filters
    }
}

/// `<vendor>.filters.sip.<name>`.
fn is_filter_name(name: &str) -> bool {
    let Some((vendor, own)) = name.split_once(CATEGORY) else {
        return false;
    };
    let vendor_ok = vendor.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let own_ok = !own.is_empty()
        && own
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    vendor_ok && own_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuildContext, FilterConfigError, FilterLayer};

    struct Named(&'static str, &'static [&'static str]);

    impl FilterFactory for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn aliases(&self) -> &'static [&'static str] {
            self.1
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
        let mut registry = Registry::new();
        let aliases = &["acme.filters.sip.old_name"];
        registry
            .register(Arc::new(Named("acme.filters.sip.renamed", aliases)))
            .unwrap();
        assert!(registry.get("acme.filters.sip.old_name").is_some());
        let listed = registry.filters();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(
            listed[0],
            FilterInfo {
                name: "acme.filters.sip.renamed",
                aliases,
                status: FilterStatus::Experimental,
                terminal: false,
                safe_for_untrusted: false,
                authenticates_peers: false,
            }
        );
        assert_eq!(listed[1].name, ROUTER);
    }

    #[test]
    fn vendors_register_under_their_own_namespace() {
        let mut registry = Registry::new();
        for name in ["acme.filters.sip.dlp", "example.com.filters.sip.audit_2"] {
            assert_eq!(registry.register(Arc::new(Named(name, &[]))), Ok(()));
        }
        assert_eq!(
            registry.register(Arc::new(Named("acme.filters.sip.dlp", &[]))),
            Err(RegistryError::Duplicate("acme.filters.sip.dlp".into()))
        );
        assert_eq!(
            registry.register(Arc::new(Named("legate.filters.sip.dlp", &[]))),
            Err(RegistryError::Reserved("legate.filters.sip.dlp".into()))
        );
        let aliased_into_ours = Named("acme.filters.sip.x", &["legate.filters.sip.x"]);
        assert_eq!(
            registry.register(Arc::new(aliased_into_ours)),
            Err(RegistryError::Reserved("legate.filters.sip.x".into()))
        );
        for bad in [
            "acme.dlp",
            "Acme.filters.sip.dlp",
            ".filters.sip.dlp",
            "acme.filters.sip.",
        ] {
            assert_eq!(
                registry.register(Arc::new(Named(bad, &[]))),
                Err(RegistryError::BadName(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_router_name_is_taken_and_builtins_stay_in_their_namespace() {
        let mut registry = Registry::new();
        assert_eq!(
            registry.register_builtin(Arc::new(Named(ROUTER, &[]))),
            Err(RegistryError::Duplicate(ROUTER.into()))
        );
        assert_eq!(
            registry.register_builtin(Arc::new(Named("acme.filters.sip.x", &[]))),
            Err(RegistryError::BadName("acme.filters.sip.x".into()))
        );
        assert_eq!(
            registry.register_builtin(Arc::new(Named("legate.filters.sip.x", &[]))),
            Ok(())
        );
    }
}
