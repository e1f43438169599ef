//! The LDAP client of Legate's directories: users, their groups and attributes looked up in an LDAP server
//! (OpenLDAP, Active Directory, 389-ds ...).
//!
//! A lookup goes cache → pool → server: a recent answer is served from the [`cache`]; otherwise
//! a pooled connection ([`pool`]) runs the user search and then the group search
//! ([`search`]). Searches are built from the templates `legate-directory` compiled, whose
//! placeholders are filled in escaped, so a user part cannot change what is searched for.
//!
//! Connections are opened on first use, not when the directory is built, so a configuration
//! loads (and `legate validate` passes) while the server is down. A server that is down, slow
//! or refuses the bind makes the lookup fail with [`DirectoryError::Unavailable`] and a reason
//! naming the server and what went wrong; it is never taken for "no such user".
//!
//! ```yaml
//! directories:
//!   - name: corp
//!     ldap:
//!       url: "ldap://127.0.0.1:389"
//!       bind_dn: "cn=legate,ou=services,dc=corp,dc=example"
//!       bind_password: { file: /run/secrets/legate-ldap }
//!       domains: [corp.example]
//!       user_base: "ou=people,dc=corp,dc=example"
//!       user_filter: "(&(objectClass=inetOrgPerson)(uid={user}))"
//!       group_base: "ou=groups,dc=corp,dc=example"
//!       attributes: { imHomeSystem: description }
//! ```

mod cache;
mod dn;
mod pool;
mod search;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use legate_api::LdapDirectoryConfig;

use cache::Cache;
use legate_directory::{LdapConfigError, LdapSettings};
use legate_filters_api::{Directory, DirectoryError, DirectoryUser, LookupFuture};
use search::Searcher;

/// The client [`legate_directory::build_directories`] is given to connect LDAP directories.
pub fn client(settings: LdapSettings) -> Arc<dyn Directory> {
    Arc::new(LdapDirectory::new(settings))
}

/// An LDAP server as a [`Directory`].
pub struct LdapDirectory {
    searcher: Arc<Searcher>,
    cache: Cache,
    /// Lower-cased; empty means every domain is asked.
    domains: Vec<String>,
    url: String,
}

impl LdapDirectory {
    /// Prepares the directory; connects nothing.
    pub fn new(settings: LdapSettings) -> LdapDirectory {
        let settings = Arc::new(settings);
        LdapDirectory {
            cache: Cache::new(&settings.cache),
            domains: settings.domains.clone(),
            url: settings.url.clone(),
            searcher: Arc::new(Searcher::new(settings)),
        }
    }

    /// [`LdapSettings::from_config`], then [`LdapDirectory::new`].
    pub fn from_config(config: &LdapDirectoryConfig) -> Result<LdapDirectory, LdapConfigError> {
        Ok(LdapDirectory::new(LdapSettings::from_config(config)?))
    }

    /// The LDAP attribute a directory attribute name is mapped to.
    fn ldap_attribute(&self, attribute: &str) -> Option<&str> {
        self.searcher.attribute_for(attribute)
    }

    async fn find(
        &self,
        user: &str,
        domain: &str,
    ) -> Result<Option<Arc<DirectoryUser>>, DirectoryError> {
        let user = user.to_lowercase();
        let domain = domain.to_ascii_lowercase();
        if user.is_empty() || (!self.domains.is_empty() && !self.domains.contains(&domain)) {
            return Ok(None);
        }
        let key = format!("{user}@{domain}");
        if let Some(answer) = self.cache.get(&key) {
            return Ok(answer);
        }
        let answer = self.searcher.find(user, domain).await?.map(Arc::new);
        self.cache.insert(key, answer.clone());
        Ok(answer)
    }
}

impl Directory for LdapDirectory {
    fn lookup<'a>(&'a self, user: &'a str, domain: &'a str) -> LookupFuture<'a> {
        Box::pin(self.find(user, domain))
    }

    /// Searches for the entry whose mapped attribute has `value`, then looks its user up as
    /// usual. Works when the directory serves one domain (the entry does not say which) and
    /// `user_filter` compares `{user}` with an attribute; otherwise no one is found.
    fn find_by_attribute<'a>(&'a self, attribute: &'a str, value: &'a str) -> LookupFuture<'a> {
        Box::pin(async move {
            let [domain] = self.domains.as_slice() else {
                return Ok(None);
            };
            let Some(ldap_attribute) = self.ldap_attribute(attribute) else {
                return Ok(None);
            };
            let found = self
                .searcher
                .user_with(ldap_attribute.to_string(), value.to_string())
                .await?;
            match found {
                Some(user) => self.find(&user, domain).await,
                None => Ok(None),
            }
        })
    }
}

impl fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.url)
            .field("domains", &self.domains)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed, and so what to do with its connection.
#[derive(Debug)]
enum Failure {
    /// The connection broke or never came up: drop it (and try a fresh one if it was pooled).
    Connection(String),
    /// The server answered with an error: the connection is still good.
    Answer(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connection(reason) | Failure::Answer(reason) => f.write_str(reason),
        }
    }
}

/// An LDAP result as a reason: `invalid credentials (49)`, with the server's message if any.
fn describe(result: &ldap3::LdapResult) -> String {
    let name = match result.rc {
        1 => "operations error",
        3 => "time limit exceeded",
        4 => "size limit exceeded",
        10 => "referral (not followed)",
        32 => "no such object",
        34 => "invalid DN syntax",
        48 => "inappropriate authentication",
        49 => "invalid credentials",
        50 => "insufficient access rights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwilling to perform",
        _ => "error",
    };
    if result.text.is_empty() {
        format!("{name} ({})", result.rc)
    } else {
        format!("{name} ({}): {}", result.rc, result.text)
    }
}
