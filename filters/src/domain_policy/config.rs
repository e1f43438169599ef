//! Typed config of the domain_policy filter, as written in YAML. Checked and compiled by
//! [`super::compile`].

use std::fmt;

use serde::Deserialize;

use super::classify::Service;
use legate_filters_api::FilterConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainPolicyConfig {
    /// The name of a directory in the snapshot's `directories`; needed for group conditions and
    /// `exposed_groups`.
    #[serde(default)]
    pub directory: Option<String>,
    /// When set, only local users in one of these groups exist for inbound requests.
    #[serde(default)]
    pub exposed_groups: Option<Vec<String>>,
    /// What happens when no rule matches.
    pub default: Action,
    /// Checked in order; the first match decides.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// One rule. Every condition that is present must hold; an absent condition matches anything.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique within the filter; shows up in audit records and logs.
    pub id: String,
    pub action: Action,
    /// Exact domains (`partner.example`) or wildcards (`*.partner.example`, which matches
    /// subdomains only).
    #[serde(default)]
    pub remote_domains: Option<Vec<String>>,
    /// The local user must be in one of these groups (of `directory`).
    #[serde(default)]
    pub local_groups: Option<Vec<String>>,
    /// The local user must be one of these (`user@domain`).
    #[serde(default)]
    pub local_users: Option<Vec<String>>,
    #[serde(default)]
    pub services: Option<Vec<Service>>,
    #[serde(default)]
    pub direction: Option<Direction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Seen from the organisation: inbound requests come from federated peers (an `external`
/// listener), outbound ones from the organisation's own systems (an `internal` listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DomainPolicyConfig {
    /// Parses the filter's `config` block. Errors carry the field path
    /// (`rules[3].services[0]`).
    pub fn from_yaml(value: &serde_yaml::Value) -> Result<Self, FilterConfigError> {
        if value.is_null() {
            return Err(FilterConfigError::new(
                "default",
                "domain_policy needs a config with at least `default: allow` or `default: deny`",
            ));
        }
        // Deserialising a `Value` directly loses the field path; the text parser keeps it.
        let text = serde_yaml::to_string(value)
            .map_err(|error| FilterConfigError::new("", error.to_string()))?;
        serde_yaml::from_str(&text).map_err(|error| FilterConfigError::from_yaml(&error))
    }

    /// A complete example, the one in the module docs (parsed by a test).
    pub fn example() -> &'static str {
        r#"
directory: corp
exposed_groups: [federated]
default: deny
rules:
  - id: allow-partners-im
    action: allow
    remote_domains: [partner.example, "*.partner.example"]
    local_groups: [sales]
    services: [im, presence]
    direction: outbound
  - id: block-competitor
    action: deny
    remote_domains: [competitor.example]
"#
    }
}
