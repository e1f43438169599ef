//! The address tables and the rewriting of one URI, one header, one message.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use legate_filters_api::RequestView;
use legate_sip::{Header, HeaderKind, Message, NameAddr, Text, Uri};

use crate::address_list::split_addresses;

/// Identity headers that carry addresses to map besides From, To and Contact.
pub(super) const IDENTITY_HEADERS: [&str; 2] = ["P-Asserted-Identity", "P-Preferred-Identity"];

/// A domain, or one user's address; lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Address {
    Domain(Text),
    User { user: Text, domain: Text },
}

impl Address {
    pub fn parse(text: &str) -> Result<Address, String> {
        let text = text.trim().to_ascii_lowercase();
        let valid_domain = |d: &str| {
            !d.is_empty()
                && d.split('.').all(|label| {
                    !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        };
        match text.split_once('@') {
            Some((user, domain)) if !user.is_empty() && valid_domain(domain) => {
                if user
                    .chars()
                    .any(|c| c.is_whitespace() || "<>\"@;:".contains(c))
                {
                    return Err(format!(
                        "`{text}`: the user part holds characters a SIP user cannot"
                    ));
                }
                Ok(Address::User {
                    user: user.into(),
                    domain: domain.into(),
                })
            }
            None if valid_domain(&text) => Ok(Address::Domain(text.into())),
            _ => Err(format!(
                "`{text}` is neither a domain nor a user@domain address"
            )),
        }
    }

    pub fn is_domain(&self) -> bool {
        matches!(self, Address::Domain(_))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Domain(domain) => f.write_str(domain),
            Address::User { user, domain } => write!(f, "{user}@{domain}"),
        }
    }
}

/// Addresses a directory mapped for one message (see `directory_mapping`).
pub(super) type Resolved = HashMap<Address, Address>;

/// The user addresses in the Request-URI (of a request), From, To and identity headers: what a
/// directory is asked about before the message is mapped.
pub(super) fn user_addresses(message: &Message) -> Vec<Address> {
    let mut uris: Vec<Uri> = Vec::new();
    if let Some(uri) = message.request_uri().and_then(|u| Uri::parse(u).ok()) {
        uris.push(uri);
    }
    for kind in [HeaderKind::From, HeaderKind::To] {
        if let Some(address) = message
            .headers
            .first(kind)
            .and_then(|v| NameAddr::parse(v).ok())
        {
            uris.push(address.uri);
        }
    }
    for name in IDENTITY_HEADERS {
        for header in message.headers.by_name(name) {
            uris.extend(
                split_addresses(&header.value)
                    .filter_map(|part| NameAddr::parse(part).ok())
                    .map(|address| address.uri),
            );
        }
    }
    let mut addresses: Vec<Address> = uris
        .into_iter()
        .filter(|uri| matches!(uri.scheme.as_str(), "sip" | "sips"))
        .filter_map(|uri| {
            let user = uri.user.as_deref()?;
            Some(Address::User {
                user: Text::new(user.split(':').next().unwrap_or(user)).to_ascii_lowercase(),
                domain: uri.host_lowercase(),
            })
        })
        .collect();
    addresses.sort_by_key(|a| a.to_string());
    addresses.dedup();
    addresses
}

/// Which way addresses are mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Toward {
    /// Internal → federated: messages leaving the organisation.
    External,
    /// Federated → internal: messages entering it.
    Internal,
}

impl Toward {
    pub fn reverse(self) -> Toward {
        match self {
            Toward::External => Toward::Internal,
            Toward::Internal => Toward::External,
        }
    }
}

/// The rule tables are probed several times per request and filled only from the config: a
/// fast hasher.
type Table<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Both directions of every rule.
#[derive(Debug, Default)]
pub(crate) struct AddressMap {
    to_external: Table<Address, Address>,
    to_internal: Table<Address, Address>,
    /// Address rules by user part alone, for Contacts (whose host is a device, not a domain);
    /// `None` when two rules share a user part, so a Contact is never mapped by a guess.
    users_to_external: Table<Text, Option<Text>>,
    users_to_internal: Table<Text, Option<Text>>,
}

impl AddressMap {
    pub fn add(&mut self, internal: Address, external: Address) {
        if let (Address::User { user: from, .. }, Address::User { user: to, .. }) =
            (&internal, &external)
        {
            note_user(&mut self.users_to_external, from, to);
            note_user(&mut self.users_to_internal, to, from);
        }
        self.to_external.insert(internal.clone(), external.clone());
        self.to_internal.insert(external, internal);
    }

    /// Maps the user part of a Contact by an address rule; its host and port say where the
    /// device is and stay (leaving the organisation, topology hiding replaces the whole Contact).
    fn map_contact_user(&self, uri: &mut Uri, toward: Toward) -> bool {
        let users = match toward {
            Toward::External => &self.users_to_external,
            Toward::Internal => &self.users_to_internal,
        };
        let Some(user) = uri.user.as_ref().map(Text::to_ascii_lowercase) else {
            return false;
        };
        match users.get(&user) {
            Some(Some(mapped)) => {
                uri.user = Some(mapped.clone());
                true
            }
            _ => false,
        }
    }

    /// Maps `uri` in place; true when it changed. A directory answer wins over an address rule,
    /// which wins over its domain's rule.
    pub fn map_uri(&self, uri: &mut Uri, toward: Toward, resolved: &Resolved) -> bool {
        if !matches!(uri.scheme.as_str(), "sip" | "sips") {
            return false;
        }
        let table = match toward {
            Toward::External => &self.to_external,
            Toward::Internal => &self.to_internal,
        };
        let domain = uri.host_lowercase();
        let user = uri.user.as_deref().map(|u| {
            // A password in the userinfo is not part of the address.
            Text::new(u.split(':').next().unwrap_or(u)).to_ascii_lowercase()
        });
        let address = user.map(|user| Address::User {
            user,
            domain: domain.clone(),
        });
        let by_address = address.as_ref().and_then(|address| table.get(address));
        let by_directory = address
            .as_ref()
            .filter(|_| !resolved.is_empty())
            .and_then(|address| resolved.get(address));
        let rule = by_directory
            .or(by_address)
            .or_else(|| table.get(&Address::Domain(domain)));
        match rule {
            Some(Address::User { user, domain }) => {
                uri.user = Some(user.clone());
                uri.host = domain.clone();
            }
            Some(Address::Domain(domain)) => uri.host = domain.clone(),
            None => return false,
        }
        // The port belonged to the host the address named before.
        uri.port = None;
        true
    }

    /// Maps the Request-URI, From, To, Contact and identity headers of a request.
    /// Maps a request's Request-URI, From, To, Contact and identity headers. The addresses
    /// are taken from `view`, the request's addressing as already parsed, and `view` is kept
    /// in step with what is rewritten.
    pub fn map_request(
        &self,
        message: &mut Message,
        view: &mut RequestView,
        toward: Toward,
        resolved: &Resolved,
    ) {
        // Coming in, an in-dialog Request-URI is the Contact we gave the other side: when no
        // address rule names it, its user part goes back the way that Contact was mapped.
        let our_contact = toward == Toward::Internal && view.to_tag().is_some();
        if let Some(uri) = &mut view.request_uri {
            if self.map_uri(uri, toward, resolved)
                || (our_contact && self.map_contact_user(uri, toward))
            {
                message.set_request_uri(uri.to_text());
            }
        }
        for (kind, address) in [
            (HeaderKind::From, &mut view.from),
            (HeaderKind::To, &mut view.to),
        ] {
            if let Some(address) = address {
                if self.map_uri(&mut address.uri, toward, resolved) {
                    message.headers.set(kind, address.to_text());
                }
            }
        }
        self.map_contacts(message, toward);
        self.map_identities(message, toward, resolved);
    }

    /// Maps the Contact and identity headers of a response (From and To are restored instead).
    pub fn map_response(&self, message: &mut Message, toward: Toward, resolved: &Resolved) {
        self.map_contacts(message, toward);
        self.map_identities(message, toward, resolved);
    }

    fn map_address(&self, value: &[u8], toward: Toward, resolved: &Resolved) -> Option<String> {
        let mut address = NameAddr::parse(value).ok()?;
        self.map_uri(&mut address.uri, toward, resolved)
            .then(|| address.to_text())
    }

    fn map_contacts(&self, message: &mut Message, toward: Toward) {
        let contacts = message.headers.values(HeaderKind::Contact);
        let mapped: Vec<Option<String>> = contacts
            .iter()
            .map(|c| {
                let mut contact = NameAddr::parse(c).ok()?;
                self.map_contact_user(&mut contact.uri, toward)
                    .then(|| contact.to_text())
            })
            .collect();
        if mapped.iter().all(Option::is_none) {
            return;
        }
        message.headers.remove_all(HeaderKind::Contact);
        for (original, mapped) in contacts.into_iter().zip(mapped) {
            let value = mapped.map(Bytes::from).unwrap_or(original);
            message
                .headers
                .push(Header::new(HeaderKind::Contact, value));
        }
    }

    fn map_identities(&self, message: &mut Message, toward: Toward, resolved: &Resolved) {
        for name in IDENTITY_HEADERS {
            let lines: Vec<Bytes> = message
                .headers
                .by_name(name)
                .map(|h| h.value.clone())
                .collect();
            if lines.is_empty() {
                continue;
            }
            let rewritten: Vec<String> = lines
                .iter()
                .map(|line| {
                    split_addresses(line)
                        .map(|part| {
                            self.map_address(part, toward, resolved).unwrap_or_else(|| {
                                String::from_utf8_lossy(part.trim_ascii()).into_owned()
                            })
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect();
            message.headers.remove_by_name(name);
            for line in rewritten {
                message.headers.push(Header::other(name, line));
            }
        }
    }
}

fn note_user(users: &mut Table<Text, Option<Text>>, from: &str, to: &str) {
    users
        .entry(Text::new(from))
        .and_modify(|existing| {
            if existing.as_deref() != Some(to) {
                *existing = None;
            }
        })
        .or_insert_with(|| Some(Text::new(to)));
}
