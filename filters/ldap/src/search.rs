//! One lookup against the server: find the user's entry, then the user's groups, and turn
//! them into a [`DirectoryUser`]. The whole lookup is bounded by `timeout` and runs in a task
//! of its own, so neither a silent server nor a failure inside the LDAP client can hold up or
//! take down the request that asked.

use std::sync::Arc;

use ldap3::{Ldap, Scope, SearchEntry, SearchOptions};

use super::dn::group_name;
use super::pool::Pool;
use super::{describe, Failure};
use legate_directory::ldap::{escape_into, Values};
use legate_directory::ldap::{Groups, LdapSettings};
use legate_filters_api::{DirectoryError, DirectoryUser};

/// LDAP result codes this module tells apart.
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;

pub(super) struct Searcher {
    settings: Arc<LdapSettings>,
    pool: Pool,
}

impl Searcher {
    pub(super) fn new(settings: Arc<LdapSettings>) -> Searcher {
        Searcher {
            pool: Pool::new(settings.clone()),
            settings,
        }
    }

    /// Looks `user@domain` (already lower-cased) up; `Ok(None)` when there is no such user.
    pub(super) async fn find(
        self: &Arc<Self>,
        user: String,
        domain: String,
    ) -> Result<Option<DirectoryUser>, DirectoryError> {
        let searcher = self.clone();
        self.bounded(async move { searcher.find_now(&user, &domain).await })
            .await
    }

    /// The user part (the value of the attribute `user_filter` compares `{user}` with) of the
    /// one entry whose `attribute` is `value`; `Ok(None)` when no entry, or more than one, has
    /// it, or when `user_filter` does not say where the user part is.
    pub(super) async fn user_with(
        self: &Arc<Self>,
        attribute: String,
        value: String,
    ) -> Result<Option<String>, DirectoryError> {
        let Some(user_attribute) = self.settings.user_filter.user_attribute() else {
            return Ok(None);
        };
        let user_attribute = user_attribute.to_string();
        let searcher = self.clone();
        self.bounded(async move {
            let mut lease = searcher.pool.lease().await?;
            let mut filter = format!("({attribute}=");
            escape_into(&value, &mut filter);
            filter.push(')');
            let result = lease
                .ldap()
                .with_search_options(SearchOptions::new().sizelimit(2))
                .search(
                    &searcher.settings.user_base,
                    Scope::Subtree,
                    &filter,
                    vec![user_attribute.as_str()],
                )
                .await
                .map_err(|e| Failure::Connection(format!("attribute search failed: {e}")))?;
            lease.release();
            let (entries, outcome) = (result.0, result.1);
            if outcome.rc != 0 || entries.len() != 1 {
                // Nothing found, or a value several entries share: no one is chosen.
                return Ok(None);
            }
            let entry = entries.into_iter().next().map(SearchEntry::construct);
            Ok(entry.and_then(|entry| values(&entry, &user_attribute).first().cloned()))
        })
        .await
    }

    /// The LDAP attribute the directory attribute `name` is mapped to.
    pub(super) fn attribute_for(&self, name: &str) -> Option<&str> {
        self.settings
            .attributes
            .iter()
            .find(|(mapped, _)| mapped == name)
            .map(|(_, ldap)| ldap.as_str())
    }

    /// Runs `job` on a task of its own, bounded by `timeout`.
    async fn bounded<T: Send + 'static>(
        &self,
        job: impl std::future::Future<Output = Result<T, Failure>> + Send + 'static,
    ) -> Result<T, DirectoryError> {
        let mut task = tokio::spawn(job);
        let url = &self.settings.url;
        let outcome = match tokio::time::timeout(self.settings.timeout, &mut task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(failed)) => Err(Failure::Connection(format!(
                "the lookup stopped unexpectedly: {failed}"
            ))),
            Err(_) => {
                // Dropping the lookup's connection: its answer may still be on the way.
                task.abort();
                Err(Failure::Connection(format!(
                    "no answer within {:?}",
                    self.settings.timeout
                )))
            }
        };
        outcome.map_err(|failure| DirectoryError::Unavailable {
            reason: format!("ldap directory {url}: {failure}"),
        })
    }

    async fn find_now(&self, user: &str, domain: &str) -> Result<Option<DirectoryUser>, Failure> {
        let mut lease = self.pool.lease().await?;
        let mut outcome = self.search(lease.ldap(), user, domain).await;
        // A pooled connection may have died while idle (the server restarted): one fresh
        // attempt tells that apart from a server that is really gone.
        if matches!(outcome, Err(Failure::Connection(_))) && lease.reused() {
            lease.reconnect().await?;
            outcome = self.search(lease.ldap(), user, domain).await;
        }
        match outcome {
            Err(Failure::Connection(reason)) => Err(Failure::Connection(reason)),
            other => {
                lease.release();
                other
            }
        }
    }

    async fn search(
        &self,
        ldap: &mut Ldap,
        user: &str,
        domain: &str,
    ) -> Result<Option<DirectoryUser>, Failure> {
        let settings = &self.settings;
        let filter = settings.user_filter.render(&Values {
            user,
            domain,
            dn: "",
        });
        // Two is enough to tell "one user" from "the filter is ambiguous".
        let result = ldap
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(
                &settings.user_base,
                Scope::Subtree,
                &filter,
                settings.user_attributes(),
            )
            .await
            .map_err(|e| Failure::Connection(format!("user search failed: {e}")))?;
        let (entries, outcome) = (result.0, result.1);
        match outcome.rc {
            0 | SIZE_LIMIT_EXCEEDED => {}
            NO_SUCH_OBJECT => {
                return Err(Failure::Answer(format!(
                    "user_base `{}` does not exist on the server",
                    settings.user_base
                )))
            }
            _ => {
                return Err(Failure::Answer(format!(
                    "user search refused: {}",
                    describe(&outcome)
                )))
            }
        }
        if entries.len() > 1 || outcome.rc == SIZE_LIMIT_EXCEEDED {
            return Err(Failure::Answer(format!(
                "user_filter matches more than one entry for `{user}@{domain}`; it must \
                 match one"
            )));
        }
        let Some(entry) = entries.into_iter().next() else {
            return Ok(None);
        };
        let entry = SearchEntry::construct(entry);
        let groups = match &settings.groups {
            Groups::None => Vec::new(),
            Groups::MemberOf(attribute) => values(&entry, attribute)
                .iter()
                .filter_map(|dn| group_name(dn))
                .collect(),
            Groups::Search { base, filter } => {
                let filter = filter.render(&Values {
                    user,
                    domain,
                    dn: &entry.dn,
                });
                self.search_groups(ldap, base, &filter).await?
            }
        };
        let attributes = settings
            .attributes
            .iter()
            .filter_map(|(name, attribute)| {
                let value = values(&entry, attribute).first()?.clone();
                Some((name.clone(), value))
            })
            .collect();
        Ok(Some(DirectoryUser {
            user: user.to_string(),
            domain: domain.to_string(),
            groups: dedup(groups),
            attributes,
        }))
    }

    /// The `cn` of every group the filter finds.
    async fn search_groups(
        &self,
        ldap: &mut Ldap,
        base: &str,
        filter: &str,
    ) -> Result<Vec<String>, Failure> {
        let result = ldap
            .search(base, Scope::Subtree, filter, vec!["cn"])
            .await
            .map_err(|e| Failure::Connection(format!("group search failed: {e}")))?;
        let (entries, outcome) = (result.0, result.1);
        match outcome.rc {
            0 => {}
            NO_SUCH_OBJECT => {
                return Err(Failure::Answer(format!(
                    "group_base `{base}` does not exist on the server"
                )))
            }
            _ => {
                return Err(Failure::Answer(format!(
                    "group search refused: {}",
                    describe(&outcome)
                )))
            }
        }
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                let entry = SearchEntry::construct(entry);
                values(&entry, "cn").first().cloned()
            })
            .collect())
    }
}

/// The values of `attribute`; servers may spell the name differently than the config does.
fn values<'e>(entry: &'e SearchEntry, attribute: &str) -> &'e [String] {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
        .map_or(&[], |(_, values)| values.as_slice())
}

fn dedup(mut groups: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    groups.retain(|g| seen.insert(g.clone()));
    groups
}
