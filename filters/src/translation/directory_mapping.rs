//! Mapping by a directory attribute: each user's federated address is an attribute of their
//! directory entry (`federatedAddress: alice@acme.example`). Leaving, the user is looked up
//! and the attribute taken; entering, the directory is searched for the entry that has it.

use std::sync::Arc;

use super::mapping::{Address, Resolved, Toward};
use legate_filters_api::{Directory, DirectoryError};

pub(super) struct DirectoryMapping {
    pub directory: Arc<dyn Directory>,
    pub attribute: String,
}

impl DirectoryMapping {
    /// What the directory maps each of `addresses` to; addresses it does not know are left to
    /// the rules. A directory that cannot be asked is an error: passing the message on
    /// unmapped could show an internal address outside.
    pub async fn resolve(
        &self,
        addresses: &[Address],
        toward: Toward,
    ) -> Result<Resolved, DirectoryError> {
        let mut resolved = Resolved::new();
        for address in addresses {
            let Address::User { user, domain } = address else {
                continue;
            };
            let mapped = match toward {
                Toward::External => self
                    .directory
                    .lookup(user, domain)
                    .await?
                    .and_then(|entry| entry.attributes.get(&self.attribute).cloned())
                    .and_then(|value| Address::parse(&value).ok())
                    .filter(|mapped| !mapped.is_domain()),
                Toward::Internal => self
                    .directory
                    .find_by_attribute(&self.attribute, &address.to_string())
                    .await?
                    .map(|entry| Address::User {
                        user: entry.user.as_str().into(),
                        domain: entry.domain.as_str().into(),
                    }),
            };
            if let Some(mapped) = mapped {
                resolved.insert(address.clone(), mapped);
            }
        }
        Ok(resolved)
    }
}
