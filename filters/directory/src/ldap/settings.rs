//! [`LdapSettings`]: an `ldap` directory's configuration made ready to use (templates compiled,
//! the password read, the TLS trust loaded), once per configuration snapshot.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use legate_api::{
    FilterTemplate, LdapCacheConfig, LdapDirectoryConfig, Secret, DEFAULT_GROUP_FILTER,
};

use super::filter::{CompiledFilter, Placeholder};

/// A setting that cannot be used; `field` is the key under `ldap:` it came from.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LdapConfigError {
    pub field: &'static str,
    pub message: String,
}

fn error(field: &'static str, message: impl Into<String>) -> LdapConfigError {
    LdapConfigError {
        field,
        message: message.into(),
    }
}

/// The DN and password of a simple bind. `Debug` hides the password.
pub struct Bind {
    pub dn: String,
    pub password: String,
}

impl fmt::Debug for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bind")
            .field("dn", &self.dn)
            .field("password", &legate_api::REDACTED)
            .finish()
    }
}

/// Where a user's groups come from.
#[derive(Debug)]
pub enum Groups {
    /// The directory has no groups.
    None,
    /// Group DNs listed in this attribute of the user's entry.
    MemberOf(String),
    /// Groups found under `base` by `filter`.
    Search {
        base: String,
        filter: CompiledFilter,
    },
}

/// Everything a lookup needs, checked and prepared.
pub struct LdapSettings {
    pub url: String,
    pub bind: Option<Bind>,
    pub start_tls: bool,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Lower-cased; empty means every domain is asked (the filter uses `{domain}`).
    pub domains: Vec<String>,
    pub user_base: String,
    pub user_filter: CompiledFilter,
    pub groups: Groups,
    /// Directory attribute name -> LDAP attribute.
    pub attributes: Vec<(String, String)>,
    pub pool_size: usize,
    pub timeout: Duration,
    pub cache: LdapCacheConfig,
}

impl fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("bind", &self.bind)
            .field("start_tls", &self.start_tls)
            .field("tls", &self.tls.is_some())
            .field("domains", &self.domains)
            .field("user_base", &self.user_base)
            .field("groups", &self.groups)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl LdapSettings {
    /// Prepares a validated config. Paths (`tls_ca`, a password file) are used as given: the
    /// caller resolves relative ones. Nothing is connected here.
    pub fn from_config(config: &LdapDirectoryConfig) -> Result<LdapSettings, LdapConfigError> {
        let bind = match (&config.bind_dn, &config.bind_password) {
            (Some(dn), Some(secret)) => {
                let bytes = secret.read().map_err(|e| {
                    let message = match secret {
                        Secret::File(path) => format!("cannot read {}: {e}", path.display()),
                        Secret::Value(_) => format!("cannot read the password: {e}"),
                    };
                    error("bind_password", message)
                })?;
                let password = String::from_utf8(bytes)
                    .map_err(|_| error("bind_password", "the password is not UTF-8 text"))?;
                Some(Bind {
                    dn: dn.clone(),
                    password,
                })
            }
            (None, None) => None,
            _ => return Err(error("bind_dn", "bind_dn and bind_password go together")),
        };
        let tls = match (&config.tls_ca, config.uses_tls()) {
            (Some(path), true) => Some(client_config(path)?),
            (None, true) => {
                return Err(error(
                    "tls_ca",
                    "TLS needs `tls_ca`: the PEM CAs the server's certificate must chain to",
                ))
            }
            (_, false) => None,
        };
        let user_filter = CompiledFilter::compile(
            &config.user_filter,
            &[Placeholder::User, Placeholder::Domain],
        )
        .map_err(|message| error("user_filter", message))?;
        let groups = match (&config.member_of, &config.group_base) {
            (Some(attribute), None) => Groups::MemberOf(attribute.clone()),
            (None, Some(base)) => {
                let default = FilterTemplate(DEFAULT_GROUP_FILTER.to_string());
                let template = config.group_filter.as_ref().unwrap_or(&default);
                let filter = CompiledFilter::compile(
                    template,
                    &[Placeholder::Dn, Placeholder::User, Placeholder::Domain],
                )
                .map_err(|message| error("group_filter", message))?;
                Groups::Search {
                    base: base.clone(),
                    filter,
                }
            }
            (None, None) => Groups::None,
            (Some(_), Some(_)) => {
                return Err(error(
                    "member_of",
                    "groups come from `member_of` or `group_base`, not both",
                ))
            }
        };
        Ok(LdapSettings {
            url: config.url.clone(),
            bind,
            start_tls: config.start_tls,
            tls,
            domains: config
                .domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            user_base: config.user_base.clone(),
            user_filter,
            groups,
            attributes: config
                .attributes
                .iter()
                .map(|(name, attribute)| (name.clone(), attribute.clone()))
                .collect(),
            pool_size: config.pool_size.max(1),
            timeout: config.timeout,
            cache: config.cache,
        })
    }

    /// The LDAP attributes a user search asks for; `1.1` (none) when nothing is needed.
    pub fn user_attributes(&self) -> Vec<String> {
        let mut wanted: Vec<String> = self.attributes.iter().map(|(_, a)| a.clone()).collect();
        if let Groups::MemberOf(attribute) = &self.groups {
            wanted.push(attribute.clone());
        }
        if wanted.is_empty() {
            wanted.push("1.1".to_string());
        }
        wanted
    }
}

/// Trusts the PEM CAs in `path` only.
fn client_config(path: &Path) -> Result<Arc<rustls::ClientConfig>, LdapConfigError> {
    legate_tls::client_config(path, None)
        .map(Arc::new)
        .map_err(|e| error("tls_ca", e.to_string()))
}
