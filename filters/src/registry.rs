//! Legate's own filters, in one registry. The proxy adds nothing to it but vendors' filters: the
//! router that ends every chain is the proxy's, named by the filter API.

use std::sync::Arc;

use legate_filters_api::{FilterFactory, Registry, RegistryError};

use crate::audit::AuditFactory;
use crate::authn::AuthnFactory;
use crate::domain_policy::DomainPolicyFactory;
use crate::ext_authz::ExtAuthzFactory;
use crate::header_mutation::HeaderMutationFactory;
use crate::peer_limits::PeerLimitsFactory;
use crate::translation::TranslationFactory;

/// A registry holding every built-in filter; vendors' filters are registered into it.
pub fn builtins() -> Registry {
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
        if let Err(error) = registry.register_builtin(factory) {
            // Built-in names are fixed at compile time and checked by a test.
            tracing::error!(%error, "built-in filter not registered");
        }
    }
    registry
}

/// The built-ins and a binary's own `filters`: what a custom proxy and a custom control plane
/// both check configs with. Fails when one of `filters` has a name taken, reserved or malformed.
pub fn builtins_and(filters: &[Arc<dyn FilterFactory>]) -> Result<Registry, RegistryError> {
    let mut registry = builtins();
    for factory in filters {
        registry.register(factory.clone())?;
    }
    Ok(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_registers_in_the_legate_namespace() {
        let names: Vec<&str> = builtins().filters().iter().map(|info| info.name).collect();
        assert_eq!(
            names,
            [
                "legate.filters.sip.audit",
                "legate.filters.sip.authn",
                "legate.filters.sip.domain_policy",
                "legate.filters.sip.ext_authz",
                "legate.filters.sip.header_mutation",
                "legate.filters.sip.peer_limits",
                "legate.filters.sip.router",
                "legate.filters.sip.translation",
            ]
        );
    }
}
