//! Typed config of the authn filter, as written in YAML, and its checked form for one listener.

use std::sync::Arc;

use legate_sip::HeaderKind;
use serde::Deserialize;

use super::cidr::Cidr;
use legate_filters_api::{FilterConfigError, Side};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthnConfig {
    /// Our domains: an external request must be addressed to one of them.
    #[serde(default)]
    pub local_domains: Vec<String>,
    /// Internal listeners only: the CIDRs of the organisation's IM servers.
    #[serde(default)]
    pub trusted_sources: Option<Vec<String>>,
    /// Headers that assert identity; checked and then removed on external listeners.
    #[serde(default)]
    pub identity_headers: Option<Vec<String>>,
}

/// The identity headers checked when the config names none.
pub const DEFAULT_IDENTITY_HEADERS: [&str; 3] = [
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Remote-Party-ID",
];

/// The config checked for one listener; requests only read it.
#[derive(Debug)]
pub(crate) struct Compiled {
    /// Lower-case.
    pub local_domains: Vec<String>,
    /// Empty on external listeners.
    pub trusted_sources: Vec<Cidr>,
    pub identity_headers: Vec<String>,
}

impl AuthnConfig {
    /// Parses the filter's `config` block. Errors carry the field path.
    pub fn from_yaml(value: &serde_yaml::Value) -> Result<Self, FilterConfigError> {
        if value.is_null() {
            return Err(FilterConfigError::new(
                "local_domains",
                "authn needs a config with at least `local_domains`",
            ));
        }
        // Deserialising a `Value` directly loses the field path; the text parser keeps it.
        let text = serde_yaml::to_string(value)
            .map_err(|error| FilterConfigError::new("", error.to_string()))?;
        serde_yaml::from_str(&text).map_err(|error| FilterConfigError::from_yaml(&error))
    }

    /// Checks the config for a listener on `side`.
    pub(crate) fn compile(&self, side: Side) -> Result<Arc<Compiled>, FilterConfigError> {
        if self.local_domains.is_empty() {
            return Err(FilterConfigError::new(
                "local_domains",
                "at least one of the organisation's domains is required",
            ));
        }
        let mut local_domains = Vec::with_capacity(self.local_domains.len());
        for (i, domain) in self.local_domains.iter().enumerate() {
            local_domains.push(check_domain(domain, &format!("local_domains[{i}]"))?);
        }
        let trusted_sources = match (side, &self.trusted_sources) {
            (Side::External, Some(_)) => {
                return Err(FilterConfigError::new(
                    "trusted_sources",
                    "must not be set on an external listener: partners are authenticated by \
                     their TLS certificate",
                ))
            }
            (Side::External, None) => Vec::new(),
            (Side::Internal, None) => {
                return Err(FilterConfigError::new(
                    "trusted_sources",
                    "required on an internal listener: the CIDRs of the organisation's IM servers",
                ))
            }
            (Side::Internal, Some(list)) if list.is_empty() => {
                return Err(FilterConfigError::new(
                    "trusted_sources",
                    "an empty list trusts no one; name the CIDRs of the organisation's IM servers",
                ))
            }
            (Side::Internal, Some(list)) => list
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    Cidr::parse(text).map_err(|message| {
                        FilterConfigError::new(format!("trusted_sources[{i}]"), message)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let identity_headers = match &self.identity_headers {
            None => DEFAULT_IDENTITY_HEADERS.map(String::from).to_vec(),
            Some(list) => {
                for (i, name) in list.iter().enumerate() {
                    check_header_name(name, &format!("identity_headers[{i}]"))?;
                }
                list.clone()
            }
        };
        Ok(Arc::new(Compiled {
            local_domains,
            trusted_sources,
            identity_headers,
        }))
    }

    /// A complete example for an internal listener, the one in the module docs (parsed by a
    /// test).
    pub fn example() -> &'static str {
        r#"
local_domains: [acme.example]
trusted_sources: [127.0.0.0/8, 10.1.0.0/16]
identity_headers: [P-Asserted-Identity, P-Preferred-Identity, Remote-Party-ID]
"#
    }
}

/// A host name: letters, digits, `-` and `.`; returned lower-case.
fn check_domain(domain: &str, path: &str) -> Result<String, FilterConfigError> {
    let valid = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid {
        return Err(FilterConfigError::new(
            path,
            format!("`{domain}` is not a domain name (letters, digits, `-` and `.`)"),
        ));
    }
    Ok(domain.to_ascii_lowercase())
}

/// Identity headers are removed from external requests, so Contact is off limits as well.
fn check_header_name(name: &str, path: &str) -> Result<(), FilterConfigError> {
    legate_filters_api::header_name::check(
        name,
        path,
        &[HeaderKind::Contact],
        "cannot be an identity header",
    )
}
