//! Rules checked once and compiled into indexes, and the evaluation every request runs.
//!
//! A rule is filed under one key per combination of its conditions: direction (or any),
//! service (or any), remote domain (an exact domain, a wildcard suffix, or any) and local
//! subject (a user, a group, or anyone). Each key holds its rules' indexes in config order. A
//! request probes only the keys it could match (its direction or any, its service or any, its
//! domain, each of its suffixes that some wildcard names, or any, and its user, each of its
//! groups, or anyone) and takes the lowest rule index found: the first matching rule, without
//! looking at the rules that cannot match.

use std::collections::HashMap as StdHashMap;

/// The indexes are probed a few dozen times per request with the remote domain, its suffixes
/// and the local user's groups: a fast hasher, as nothing an attacker sends is ever inserted.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;
use std::sync::Arc;

use super::classify::Service;
use super::config::{Action, Direction, DomainPolicyConfig, RuleConfig};
use legate_filters_api::FilterConfigError;
use legate_filters_api::{Directories, Directory};

/// What one request is checked on. Strings are lower-case.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    pub direction: Direction,
    pub service: Service,
    pub remote_domain: &'a str,
    /// `user@domain`; `None` when the request names no local user.
    pub local_user: Option<&'a str>,
    /// The local user's groups from the directory; empty when unknown.
    pub local_groups: &'a [String],
}

/// The outcome of [`CompiledPolicy::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The index of the matching rule; `None` when the default decided.
    pub rule: Option<usize>,
    pub action: Action,
}

/// The policy of one filter instance, shared by every request of a snapshot.
pub struct CompiledPolicy {
    rules: Vec<Rule>,
    index: Index,
    default: Action,
    directory: Option<Arc<dyn Directory>>,
    exposed_groups: Option<Vec<String>>,
    has_group_rules: bool,
}

struct Rule {
    id: Box<str>,
    action: Action,
    /// Groups still to check at evaluation time: only for rules with both `local_users` (the
    /// key they are filed under) and `local_groups`.
    residual_groups: Option<Box<[String]>>,
}

/// Key parts: 0 means "any" (no condition), ids of names start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    direction: u8,
    service: u8,
    domain: u32,
    local: u32,
}

const ANY: u32 = 0;
const ANY_DIRECTION: u8 = 0;
const ANY_SERVICE: u8 = 0;

#[derive(Default)]
struct Index {
    /// Exact domains and wildcard suffixes (the part after `*.`) share one id space.
    exact: HashMap<Box<str>, u32>,
    suffix: HashMap<Box<str>, u32>,
    /// Users (`user@domain`) and groups share another.
    users: HashMap<Box<str>, u32>,
    groups: HashMap<Box<str>, u32>,
    next_domain: u32,
    next_local: u32,
    buckets: HashMap<Key, Vec<u32>>,
}

fn intern(map: &mut HashMap<Box<str>, u32>, next: &mut u32, name: &str) -> u32 {
    if let Some(&id) = map.get(name) {
        return id;
    }
    *next += 1;
    map.insert(name.into(), *next);
    *next
}

fn direction_key(direction: Direction) -> u8 {
    match direction {
        Direction::Inbound => 1,
        Direction::Outbound => 2,
    }
}

fn service_key(service: Service) -> u8 {
    // `index()` is dense from 0; 0 here means any.
    service.index() as u8 + 1
}

impl CompiledPolicy {
    /// Checks `config` and compiles it. `directories` is the snapshot's (from the build
    /// context); errors name the field (`rules[3].remote_domains[0]`).
    pub fn compile(
        config: &DomainPolicyConfig,
        directories: Option<&Directories>,
    ) -> Result<CompiledPolicy, FilterConfigError> {
        let directory = match &config.directory {
            None => None,
            Some(name) => Some(find_directory(name, directories)?),
        };
        let exposed_groups = match &config.exposed_groups {
            None => None,
            Some(groups) => {
                if directory.is_none() {
                    return Err(FilterConfigError::new(
                        "exposed_groups",
                        "exposed_groups needs `directory`, the directory that knows the groups",
                    ));
                }
                Some(check_names(groups, "exposed_groups", "group")?)
            }
        };
        let mut policy = CompiledPolicy {
            rules: Vec::with_capacity(config.rules.len()),
            index: Index::default(),
            default: config.default,
            directory,
            exposed_groups,
            has_group_rules: false,
        };
        let mut first_ids: StdHashMap<&str, usize> = StdHashMap::with_capacity(config.rules.len());
        for (i, rule) in config.rules.iter().enumerate() {
            let path = format!("rules[{i}]");
            if rule.id.trim().is_empty() {
                return Err(FilterConfigError::new(
                    format!("{path}.id"),
                    "every rule needs a non-empty id (it shows up in audit records)",
                ));
            }
            if let Some(first) = first_ids.insert(&rule.id, i) {
                return Err(FilterConfigError::new(
                    format!("{path}.id"),
                    format!("duplicate id `{}` (first at rules[{first}])", rule.id),
                ));
            }
            policy.add_rule(i, rule, &path)?;
        }
        Ok(policy)
    }

    fn add_rule(
        &mut self,
        i: usize,
        rule: &RuleConfig,
        path: &str,
    ) -> Result<(), FilterConfigError> {
        let domains = match &rule.remote_domains {
            None => None,
            Some(list) => Some(check_domains(list, &format!("{path}.remote_domains"))?),
        };
        let users = match &rule.local_users {
            None => None,
            Some(list) => Some(check_users(list, &format!("{path}.local_users"))?),
        };
        let groups = match &rule.local_groups {
            None => None,
            Some(list) => {
                if self.directory.is_none() {
                    return Err(FilterConfigError::new(
                        format!("{path}.local_groups"),
                        "group conditions need `directory`, the directory that knows the groups",
                    ));
                }
                Some(check_names(list, &format!("{path}.local_groups"), "group")?)
            }
        };
        let services = match &rule.services {
            Some(list) if list.is_empty() => return Err(empty_list(&format!("{path}.services"))),
            Some(list) => list.iter().map(|&s| service_key(s)).collect(),
            None => vec![ANY_SERVICE],
        };
        let direction = rule.direction.map_or(ANY_DIRECTION, direction_key);
        self.has_group_rules |= groups.is_some();

        let index = &mut self.index;
        let domain_ids: Vec<u32> = match &domains {
            None => vec![ANY],
            Some(list) => list
                .iter()
                .map(|pattern| match pattern {
                    DomainPattern::Exact(name) => {
                        intern(&mut index.exact, &mut index.next_domain, name)
                    }
                    DomainPattern::Suffix(name) => {
                        intern(&mut index.suffix, &mut index.next_domain, name)
                    }
                })
                .collect(),
        };
        // A rule with users is filed under its users (the narrower condition); its groups, if
        // any, are checked when it comes up.
        let (local_ids, residual_groups): (Vec<u32>, _) = match (&users, groups) {
            (Some(users), groups) => (
                users
                    .iter()
                    .map(|u| intern(&mut index.users, &mut index.next_local, u))
                    .collect(),
                groups.map(Vec::into_boxed_slice),
            ),
            (None, Some(groups)) => (
                groups
                    .iter()
                    .map(|g| intern(&mut index.groups, &mut index.next_local, g))
                    .collect(),
                None,
            ),
            (None, None) => (vec![ANY], None),
        };
        let rule_index = u32::try_from(i)
            .map_err(|_| FilterConfigError::new(path, "too many rules (at most 2^32)"))?;
        for &service in &services {
            for &domain in &domain_ids {
                for &local in &local_ids {
                    let key = Key {
                        direction,
                        service,
                        domain,
                        local,
                    };
                    let bucket = index.buckets.entry(key).or_default();
                    // The same rule may name a domain or group twice; file it once.
                    if bucket.last() != Some(&rule_index) {
                        bucket.push(rule_index);
                    }
                }
            }
        }
        self.rules.push(Rule {
            id: rule.id.as_str().into(),
            action: rule.action,
            residual_groups,
        });
        Ok(())
    }

    /// The first rule that matches `input`, or the default. This is all the per-request work
    /// of the policy: a few hash probes, however many rules there are.
    pub fn evaluate(&self, input: &PolicyInput<'_>) -> Verdict {
        let index = &self.index;
        let mut domains = Vec::with_capacity(4);
        domains.push(ANY);
        if let Some(&id) = index.exact.get(input.remote_domain) {
            domains.push(id);
        }
        if !index.suffix.is_empty() {
            // `*.partner.example` matches `a.partner.example` and `a.b.partner.example`, never
            // `partner.example` itself: try every suffix after a dot.
            let mut rest = input.remote_domain;
            while let Some(dot) = rest.find('.') {
                rest = &rest[dot + 1..];
                if let Some(&id) = index.suffix.get(rest) {
                    domains.push(id);
                }
            }
        }
        let mut locals = Vec::with_capacity(2 + input.local_groups.len());
        locals.push(ANY);
        if let Some(user) = input.local_user {
            if let Some(&id) = index.users.get(user) {
                locals.push(id);
            }
        }
        for group in input.local_groups {
            if let Some(&id) = index.groups.get(group.as_str()) {
                locals.push(id);
            }
        }

        let mut best: Option<u32> = None;
        for direction in [ANY_DIRECTION, direction_key(input.direction)] {
            for service in [ANY_SERVICE, service_key(input.service)] {
                for &domain in &domains {
                    for &local in &locals {
                        let key = Key {
                            direction,
                            service,
                            domain,
                            local,
                        };
                        let Some(bucket) = index.buckets.get(&key) else {
                            continue;
                        };
                        for &rule in bucket {
                            if best.is_some_and(|b| rule >= b) {
                                break;
                            }
                            if self.residual_matches(rule, input) {
                                best = Some(rule);
                                break;
                            }
                        }
                    }
                }
            }
        }
        match best.and_then(|i| Some((i as usize, self.rules.get(i as usize)?))) {
            Some((i, rule)) => Verdict {
                rule: Some(i),
                action: rule.action,
            },
            None => Verdict {
                rule: None,
                action: self.default,
            },
        }
    }

    fn residual_matches(&self, rule: u32, input: &PolicyInput<'_>) -> bool {
        match self.rules.get(rule as usize).map(|r| &r.residual_groups) {
            Some(Some(groups)) => input.local_groups.iter().any(|g| groups.contains(g)),
            Some(None) => true,
            None => false,
        }
    }

    /// The id of rule `index` (from a [`Verdict`]).
    pub fn rule_id(&self, index: usize) -> Option<&str> {
        self.rules.get(index).map(|r| &*r.id)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn default_action(&self) -> Action {
        self.default
    }

    pub fn directory(&self) -> Option<&Arc<dyn Directory>> {
        self.directory.as_ref()
    }

    pub fn exposed_groups(&self) -> Option<&[String]> {
        self.exposed_groups.as_deref()
    }

    /// Whether any rule names groups (then requests need a directory lookup).
    pub fn has_group_rules(&self) -> bool {
        self.has_group_rules
    }
}

fn find_directory(
    name: &str,
    directories: Option<&Directories>,
) -> Result<Arc<dyn Directory>, FilterConfigError> {
    if let Some(directory) = directories.and_then(|d| d.get(name)) {
        return Ok(directory);
    }
    let known = directories.map(Directories::names).unwrap_or_default();
    let known = if known.is_empty() {
        "none is configured".to_string()
    } else {
        format!("known: {}", known.join(", "))
    };
    Err(FilterConfigError::new(
        "directory",
        format!("no directory named `{name}` ({known})"),
    ))
}

fn empty_list(path: &str) -> FilterConfigError {
    FilterConfigError::new(
        path,
        "an empty list matches nothing; leave the field out to match anything",
    )
}

fn check_names(list: &[String], path: &str, what: &str) -> Result<Vec<String>, FilterConfigError> {
    if list.is_empty() {
        return Err(empty_list(path));
    }
    list.iter()
        .enumerate()
        .map(|(j, name)| {
            if name.trim().is_empty() {
                Err(FilterConfigError::new(
                    format!("{path}[{j}]"),
                    format!("a {what} name cannot be empty"),
                ))
            } else {
                Ok(name.clone())
            }
        })
        .collect()
}

fn check_users(list: &[String], path: &str) -> Result<Vec<String>, FilterConfigError> {
    if list.is_empty() {
        return Err(empty_list(path));
    }
    list.iter()
        .enumerate()
        .map(|(j, address)| {
            let lower = address.trim().to_lowercase();
            match lower.split_once('@') {
                Some((user, domain))
                    if !user.is_empty() && is_domain(domain) && !domain.contains('@') =>
                {
                    Ok(lower)
                }
                _ => Err(FilterConfigError::new(
                    format!("{path}[{j}]"),
                    format!("`{address}` is not a `user@domain` address"),
                )),
            }
        })
        .collect()
}

enum DomainPattern {
    Exact(String),
    /// The part after `*.`.
    Suffix(String),
}

fn check_domains(list: &[String], path: &str) -> Result<Vec<DomainPattern>, FilterConfigError> {
    if list.is_empty() {
        return Err(empty_list(path));
    }
    list.iter()
        .enumerate()
        .map(|(j, text)| {
            let lower = text.trim().to_ascii_lowercase();
            let bad = |message: String| FilterConfigError::new(format!("{path}[{j}]"), message);
            if lower == "*" {
                return Err(bad(
                    "`*` matches every domain: leave `remote_domains` out instead".into(),
                ));
            }
            match lower.strip_prefix("*.") {
                Some(suffix) if is_domain(suffix) => Ok(DomainPattern::Suffix(suffix.into())),
                _ if lower.contains('*') => Err(bad(format!(
                    "`{text}` is not a valid wildcard: write `*.` followed by a domain \
                     (`*.partner.example`)"
                ))),
                _ if is_domain(&lower) => Ok(DomainPattern::Exact(lower)),
                _ => Err(bad(format!("`{text}` is not a valid domain name"))),
            }
        })
        .collect()
}

/// Host names as SIP carries them: dot-separated non-empty labels of letters, digits, `-`, `_`.
fn is_domain(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> CompiledPolicy {
        let config: DomainPolicyConfig = serde_yaml::from_str(yaml).unwrap();
        let mut directories = Directories::new();
        directories.insert(
            "corp",
            Arc::new(legate_directory::StaticDirectory::default()),
        );
        CompiledPolicy::compile(&config, Some(&directories)).unwrap()
    }

    fn input<'a>(domain: &'a str, user: Option<&'a str>, groups: &'a [String]) -> PolicyInput<'a> {
        PolicyInput {
            direction: Direction::Outbound,
            service: Service::Im,
            remote_domain: domain,
            local_user: user,
            local_groups: groups,
        }
    }

    #[test]
    fn the_lowest_matching_index_wins_across_buckets() {
        let p = policy(
            r#"
directory: corp
default: deny
rules:
  - { id: r0, action: allow, remote_domains: [other.example] }
  - { id: r1, action: deny, local_groups: [sales], services: [voice] }
  - { id: r2, action: allow, remote_domains: ["*.partner.example"], direction: outbound }
  - { id: r3, action: deny, remote_domains: [a.partner.example] }
  - { id: r4, action: allow }
"#,
        );
        let sales = vec!["sales".to_string()];
        let v = p.evaluate(&input("a.partner.example", None, &sales));
        assert_eq!((v.rule, v.action), (Some(2), Action::Allow));
        let v = p.evaluate(&input("partner.example", None, &sales));
        assert_eq!(v.rule, Some(4));
        let mut voice = input("x.example", None, &sales);
        voice.service = Service::Voice;
        assert_eq!(p.evaluate(&voice).rule, Some(1));
        voice.direction = Direction::Inbound;
        voice.remote_domain = "b.partner.example";
        assert_eq!(p.evaluate(&voice).rule, Some(1));
    }

    #[test]
    fn users_and_groups_together_need_both() {
        let p = policy(
            r#"
directory: corp
default: deny
rules:
  - { id: both, action: allow, local_users: [alice@corp.example], local_groups: [sales] }
"#,
        );
        let sales = vec!["sales".to_string()];
        let v = p.evaluate(&input("x.example", Some("alice@corp.example"), &sales));
        assert_eq!(v.rule, Some(0));
        let v = p.evaluate(&input("x.example", Some("alice@corp.example"), &[]));
        assert_eq!((v.rule, v.action), (None, Action::Deny));
        let v = p.evaluate(&input("x.example", Some("bob@corp.example"), &sales));
        assert_eq!(v.rule, None);
    }
}
