//! The typed config, parsed and checked once per snapshot.

use std::collections::HashMap;

use serde::Deserialize;

use super::mapping::{Address, AddressMap};
use legate_filters_api::FilterConfigError;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TranslationConfig {
    #[serde(default)]
    pub address_mapping: Vec<AddressRule>,
    /// Each user's federated address kept in a directory attribute.
    pub directory_mapping: Option<DirectoryMappingConfig>,
}

/// `directory_mapping: { directory: corp, attribute: federatedAddress }`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DirectoryMappingConfig {
    pub directory: String,
    pub attribute: String,
}

/// One mapping: two domains, or two `user@domain` addresses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddressRule {
    pub internal: String,
    pub external: String,
}

impl TranslationConfig {
    pub fn from_yaml(config: &serde_yaml::Value) -> Result<TranslationConfig, FilterConfigError> {
        if config.is_null() {
            return Err(FilterConfigError::new(
                "address_mapping",
                "the translation filter needs `address_mapping` (a list of { internal, external }) or `directory_mapping`",
            ));
        }
        serde_yaml::from_value(config.clone())
            .map_err(|error| FilterConfigError::new("", error.to_string()))
    }

    /// Checks every rule and builds the two lookup tables.
    pub(super) fn compile(&self) -> Result<AddressMap, FilterConfigError> {
        if self.address_mapping.is_empty() && self.directory_mapping.is_none() {
            return Err(FilterConfigError::new(
                "address_mapping",
                "must list at least one { internal, external } rule (or use `directory_mapping`)",
            ));
        }
        let mut map = AddressMap::default();
        let mut seen: HashMap<(bool, Address), usize> = HashMap::new();
        for (index, rule) in self.address_mapping.iter().enumerate() {
            let at = |field: &str| format!("address_mapping[{index}].{field}");
            let internal = Address::parse(&rule.internal)
                .map_err(|m| FilterConfigError::new(at("internal"), m))?;
            let external = Address::parse(&rule.external)
                .map_err(|m| FilterConfigError::new(at("external"), m))?;
            if internal.is_domain() != external.is_domain() {
                return Err(FilterConfigError::new(
                    at("external"),
                    "map a domain to a domain, or a user@domain address to an address",
                ));
            }
            for (outward, address, field) in [
                (false, &internal, "internal"),
                (true, &external, "external"),
            ] {
                if let Some(first) = seen.insert((outward, address.clone()), index) {
                    return Err(FilterConfigError::new(
                        at(field),
                        format!("`{address}` is already mapped by address_mapping[{first}]; a mapping must be reversible"),
                    ));
                }
            }
            map.add(internal, external);
        }
        Ok(map)
    }
}
