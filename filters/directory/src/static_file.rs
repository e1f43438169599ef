//! The static directory: users and groups from a YAML file, read once per configuration
//! snapshot and then only read from memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use legate_api::config::StaticUser;
use legate_filters_api::{Directory, DirectoryUser, LookupFuture};

/// Why a static directory file could not be used. Every variant names where it came from.
#[derive(Debug, thiserror::Error)]
pub enum StaticDirectoryError {
    #[error("{origin}: cannot read the directory file: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    /// The YAML did not parse or has fields the directory does not know.
    #[error("{origin}: {message}")]
    Invalid {
        origin: String,
        /// 1-based, when the parser knows it.
        line: Option<usize>,
        message: String,
    },
    /// A user entry whose values make no sense (an empty user, an `@` in the user part).
    #[error("{origin}: users[{index}].{field}: {message}")]
    BadEntry {
        origin: String,
        index: usize,
        field: &'static str,
        message: String,
    },
    #[error(
        "{origin}: users[{index}]: `{user}@{domain}` is listed twice (first at users[{first}])"
    )]
    Duplicate {
        origin: String,
        index: usize,
        first: usize,
        user: String,
        domain: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    users: Vec<StaticUser>,
}

/// Users from a YAML file, looked up by `user@domain` ignoring case.
#[derive(Debug, Default)]
pub struct StaticDirectory {
    /// Keyed by the lower-cased `user@domain`, so a lookup needs one string, not two.
    users: HashMap<String, Arc<DirectoryUser>>,
    /// `(attribute, lower-cased value)` → the user with it; `None` when several users share
    /// the value, so a search by it finds no one rather than a guess.
    by_attribute: HashMap<(String, String), Option<Arc<DirectoryUser>>>,
}

impl StaticDirectory {
    /// Parses the YAML text of a directory file; `origin` (a path, or `inline`) prefixes errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<StaticDirectory, StaticDirectoryError> {
        let file: File =
            serde_yaml::from_str(text).map_err(|error| StaticDirectoryError::Invalid {
                origin: origin.to_string(),
                line: error.location().map(|l| l.line()),
                message: error.to_string(),
            })?;
        StaticDirectory::from_users(file.users, origin)
    }

    /// The directory of `entries` (a file's list, or one written in the configuration);
    /// `origin` prefixes errors.
    pub fn from_users(
        entries: Vec<StaticUser>,
        origin: &str,
    ) -> Result<StaticDirectory, StaticDirectoryError> {
        let mut users = HashMap::with_capacity(entries.len());
        let mut first_index = HashMap::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let bad = |field: &'static str, message: &str| StaticDirectoryError::BadEntry {
                origin: origin.to_string(),
                index,
                field,
                message: message.to_string(),
            };
            let user = entry.user.trim().to_lowercase();
            let domain = entry.domain.trim().to_ascii_lowercase();
            if user.is_empty() || user.contains('@') {
                return Err(bad("user", "a user is the non-empty part before the `@`"));
            }
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                return Err(bad("domain", "a domain is a non-empty host name"));
            }
            let key = key(&user, &domain);
            if let Some(&first) = first_index.get(&key) {
                return Err(StaticDirectoryError::Duplicate {
                    origin: origin.to_string(),
                    index,
                    first,
                    user,
                    domain,
                });
            }
            first_index.insert(key.clone(), index);
            let record = DirectoryUser {
                user,
                domain,
                groups: entry.groups,
                attributes: entry.attributes,
            };
            users.insert(key, Arc::new(record));
        }
        let mut by_attribute = HashMap::new();
        for record in users.values() {
            for (name, value) in &record.attributes {
                by_attribute
                    .entry((name.clone(), value.to_lowercase()))
                    .and_modify(|shared| *shared = None)
                    .or_insert_with(|| Some(record.clone()));
            }
        }
        Ok(StaticDirectory {
            users,
            by_attribute,
        })
    }

    /// Reads and parses a directory file; errors name the path.
    pub fn load(path: &Path) -> Result<StaticDirectory, StaticDirectoryError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| StaticDirectoryError::Read {
            origin: origin.clone(),
            source,
        })?;
        StaticDirectory::from_yaml(&text, &origin)
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    fn find(&self, user: &str, domain: &str) -> Option<Arc<DirectoryUser>> {
        self.users
            .get(&key(&user.to_lowercase(), &domain.to_ascii_lowercase()))
            .cloned()
    }
}

fn key(user: &str, domain: &str) -> String {
    legate_sip::concat(&[user, "@", domain])
}

impl Directory for StaticDirectory {
    fn lookup<'a>(&'a self, user: &'a str, domain: &'a str) -> LookupFuture<'a> {
        Box::pin(std::future::ready(Ok(self.find(user, domain))))
    }

    fn find_by_attribute<'a>(&'a self, attribute: &'a str, value: &'a str) -> LookupFuture<'a> {
        let found = self
            .by_attribute
            .get(&(attribute.to_string(), value.to_lowercase()))
            .cloned()
            .flatten();
        Box::pin(std::future::ready(Ok(found)))
    }
}
