//! `directories[].ldap`: users, groups and attributes looked up in an LDAP server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Secret;

/// The group search used when `group_base` is given without `group_filter`.
pub const DEFAULT_GROUP_FILTER: &str = "(&(objectClass=groupOfNames)(member={dn}))";

/// An LDAP server as a directory.
///
/// ```yaml
/// ldap:
///   url: "ldaps://ldap.corp.example"        # or ldap://host:389, with start_tls: true
///   tls_ca: /etc/legate/ldap-ca.pem         # needed for ldaps:// and start_tls
///   bind_dn: "cn=legate,ou=services,dc=corp,dc=example"
///   bind_password: { file: /run/secrets/legate-ldap }
///   domains: [corp.example]
///   user_base: "ou=people,dc=corp,dc=example"
///   user_filter: "(&(objectClass=inetOrgPerson)(uid={user}))"
///   group_base: "ou=groups,dc=corp,dc=example"  # groups whose `member` is the user's DN ...
///   # member_of: memberOf                   # ... or group DNs listed on the user's entry
///   attributes: { imHomeSystem: description }
///   pool_size: 4
///   timeout: 2s
///   cache: { ttl: 5m, negative_ttl: 30s, max_entries: 10000 }
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LdapDirectoryConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// The DN to bind as; without it (and `bind_password`) the searches are anonymous.
    pub bind_dn: Option<String>,
    pub bind_password: Option<Secret>,
    /// Upgrade an `ldap://` connection to TLS with StartTLS before binding.
    #[serde(default)]
    pub start_tls: bool,
    /// PEM CAs the server's certificate must chain to; required with TLS, since a directory
    /// that answers group questions must not be impersonated.
    pub tls_ca: Option<PathBuf>,
    /// The domains whose users this directory knows; a lookup for any other domain finds no
    /// one without asking the server. May be left out only when `user_filter` uses `{domain}`.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Where users are searched (subtree).
    pub user_base: String,
    /// The search for one user; `{user}` and `{domain}` are replaced by the looked-up values,
    /// escaped (RFC 4515) so they can never change the filter's structure.
    #[serde(default = "default_user_filter")]
    pub user_filter: FilterTemplate,
    /// An attribute of the user's entry that lists the DNs of the user's groups.
    pub member_of: Option<String>,
    /// Where groups are searched (subtree) with `group_filter`.
    pub group_base: Option<String>,
    /// The search for the user's groups; `{dn}` is the user's DN (also `{user}`, `{domain}`).
    /// Defaults to [`DEFAULT_GROUP_FILTER`].
    pub group_filter: Option<FilterTemplate>,
    /// Directory attribute name -> LDAP attribute of the user's entry (first value is used).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Connections kept open to the server; also the most lookups in flight at once.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// The longest one lookup may take: waiting for a connection, connecting, binding and
    /// searching together. Past it the lookup fails as unavailable.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default)]
    pub cache: LdapCacheConfig,
}

fn default_user_filter() -> FilterTemplate {
    FilterTemplate("(&(objectClass=inetOrgPerson)(uid={user}))".into())
}

fn default_pool_size() -> usize {
    4
}

fn default_timeout() -> Duration {
    Duration::from_secs(2)
}

impl LdapDirectoryConfig {
    /// Whether connections use TLS (`ldaps://` or StartTLS).
    pub fn uses_tls(&self) -> bool {
        self.start_tls || self.url.to_ascii_lowercase().starts_with("ldaps://")
    }
}

/// How long answers are kept. Errors are never cached.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LdapCacheConfig {
    /// A found user is kept this long; `0s` turns caching off. Default 5m.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// "No such user" is kept this long; `0s` asks the server every time. Default 30s.
    #[serde(with = "humantime_serde")]
    pub negative_ttl: Duration,
    /// The most users (found or not) kept at once. Default 10000.
    pub max_entries: usize,
}

impl Default for LdapCacheConfig {
    fn default() -> Self {
        LdapCacheConfig {
            ttl: Duration::from_secs(5 * 60),
            negative_ttl: Duration::from_secs(30),
            max_entries: 10_000,
        }
    }
}

/// An LDAP search filter with `{name}` placeholders.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct FilterTemplate(pub String);

/// A piece of a [`FilterTemplate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart<'a> {
    /// Filter text, used as written.
    Text(&'a str),
    /// The name between `{` and `}`.
    Placeholder(&'a str),
}

impl FilterTemplate {
    /// The template cut into text and placeholders. A `{` always opens a placeholder (LDAP
    /// filters write a literal brace as `\7b`), so an unclosed or empty one is an error.
    pub fn parts(&self) -> Result<Vec<TemplatePart<'_>>, String> {
        let mut parts = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TemplatePart::Text(&rest[..open]));
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(format!(
                    "`{}`: a `{{` is not closed (write a literal brace as `\\7b`)",
                    self.0
                ));
            };
            let name = &after[..close];
            if name.is_empty() || name.contains('{') {
                return Err(format!(
                    "`{}`: `{{{name}}}` is not a placeholder (write a literal brace as `\\7b`)",
                    self.0
                ));
            }
            parts.push(TemplatePart::Placeholder(name));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Text(rest));
        }
        Ok(parts)
    }
}
