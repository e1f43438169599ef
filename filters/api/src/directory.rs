//! Directories: where the users and groups that policy talks about come from.
//!
//! A directory answers one question, "who is `user@domain`, and which groups is that user in?".
//! Filters ask it by name: the proxy builds every directory of a configuration snapshot once,
//! puts them into [`crate::BuildContext::resources`] as one [`Directories`] value, and a filter
//! (`domain_policy`) picks its own out at build time.
//!
//! Legate reads two kinds: a static YAML file (read once, answered from memory) and an LDAP
//! server (searched over a connection pool with a cache), which is why the lookup is
//! asynchronous. The static file looks like this:
//!
//! ```yaml
//! users:
//!   - user: alice
//!     domain: corp.example
//!     groups: [sales, federated]
//!     attributes: { imHomeSystem: legacy }
//!   - { user: bob, domain: corp.example, groups: [engineering] }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One user as a directory knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryUser {
    /// The local part of the address, lower-case.
    pub user: String,
    /// The domain, lower-case.
    pub domain: String,
    pub groups: Vec<String>,
    pub attributes: BTreeMap<String, String>,
}

impl DirectoryUser {
    /// Whether the user is in at least one of `groups`.
    pub fn in_any_group<S: AsRef<str>>(&self, groups: &[S]) -> bool {
        self.groups
            .iter()
            .any(|mine| groups.iter().any(|g| g.as_ref() == mine))
    }
}

/// A lookup could not be answered. "No such user" is not an error: it is `Ok(None)`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DirectoryError {
    /// The directory could not be asked (server down, timeout); a later attempt may succeed.
    #[error("directory unavailable: {reason}")]
    Unavailable { reason: String },
}

/// The future a lookup returns.
pub type LookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Arc<DirectoryUser>>, DirectoryError>> + Send + 'a>>;

/// Looks users up.
pub trait Directory: Send + Sync + 'static {
    /// Finds `user@domain`, ignoring case; `Ok(None)` when there is no such user.
    fn lookup<'a>(&'a self, user: &'a str, domain: &'a str) -> LookupFuture<'a>;

    /// Finds the user whose `attribute` is `value` (ignoring case), for mappings that run the
    /// other way (a federated address back to its user). `Ok(None)` when no one has it, or when
    /// the directory cannot search by attribute.
    fn find_by_attribute<'a>(&'a self, attribute: &'a str, value: &'a str) -> LookupFuture<'a> {
        let _ = (attribute, value);
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// The directories of one configuration snapshot, by name.
#[derive(Clone, Default)]
pub struct Directories {
    by_name: HashMap<String, Arc<dyn Directory>>,
}

impl Directories {
    pub fn new() -> Self {
        Directories::default()
    }

    /// Adds (or replaces) the directory called `name`.
    pub fn insert(&mut self, name: impl Into<String>, directory: Arc<dyn Directory>) {
        self.by_name.insert(name.into(), directory);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Directory>> {
        self.by_name.get(name).cloned()
    }

    /// The names, sorted (for error messages).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Debug for Directories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directories")
            .field("names", &self.names())
            .finish()
    }
}
