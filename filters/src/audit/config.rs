//! Typed config of the audit filter, as written in YAML, and its compiled form.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;
use serde::Deserialize;

use super::body::BodyCapture;
use legate_filters_api::{FilterConfigError, Peers};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilterConfig {
    /// What happens when a record cannot be made durable. Default `open`.
    #[serde(default)]
    pub fail_mode: FailMode,
    /// Per federation partner (by peer name): a fail mode of its own, and whether to record
    /// message bodies.
    #[serde(default)]
    pub partners: BTreeMap<String, PartnerAuditConfig>,
}

/// `open`: requests go on while a sink is down, records wait in the spool. `closed`: a request
/// goes on only once the record of it is in every sink; otherwise it is refused with 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    #[default]
    Open,
    Closed,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerAuditConfig {
    /// Overrides the filter's `fail_mode` for this partner.
    pub fail_mode: Option<FailMode>,
    /// Record the bodies of this partner's requests (none are recorded otherwise).
    pub bodies: Option<BodiesConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodiesConfig {
    /// At most this many bytes of a body are kept, after redaction. Default 4096.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Regular expressions whose matches are replaced by `[redacted]` before the cap applies.
    #[serde(default)]
    pub redact: Vec<String>,
}

fn default_max_bytes() -> usize {
    4096
}

/// What the filter does for one partner.
#[derive(Debug, Clone)]
pub(crate) struct PartnerPolicy {
    pub fail_mode: FailMode,
    pub bodies: Option<BodyCapture>,
}

/// The config, checked and with its regexes compiled.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub default: PartnerPolicy,
    pub partners: HashMap<String, PartnerPolicy>,
}

impl Compiled {
    pub fn policy_for(&self, partner: Option<&str>) -> &PartnerPolicy {
        partner
            .and_then(|name| self.partners.get(name))
            .unwrap_or(&self.default)
    }
}

impl AuditFilterConfig {
    /// Parses the filter's `config` block (absent means the defaults). Errors carry the field
    /// path (`partners.partner.bodies.max_bytes`).
    pub fn from_yaml(value: &serde_yaml::Value) -> Result<Self, FilterConfigError> {
        if value.is_null() {
            return Ok(AuditFilterConfig::default());
        }
        // Deserialising a `Value` directly loses the field path; the text parser keeps it.
        let text = serde_yaml::to_string(value)
            .map_err(|error| FilterConfigError::new("", error.to_string()))?;
        serde_yaml::from_str(&text).map_err(|error| FilterConfigError::from_yaml(&error))
    }

    /// Checks partner names against the configured `peers` and compiles the redactions.
    pub(crate) fn compile(&self, peers: &Peers) -> Result<Compiled, FilterConfigError> {
        let mut partners = HashMap::new();
        for (name, partner) in &self.partners {
            let at = |field: &str| format!("partners.{name}{field}");
            if peers.by_name(name).is_none() {
                let known: Vec<&str> = peers.iter().map(|p| p.name.as_str()).collect();
                return Err(FilterConfigError::new(
                    at(""),
                    format!(
                        "no peer named `{name}` (peers: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
            let bodies = match &partner.bodies {
                None => None,
                Some(bodies) => {
                    if bodies.max_bytes == 0 {
                        return Err(FilterConfigError::new(
                            at(".bodies.max_bytes"),
                            "must be at least 1 (leave `bodies` out to record no bodies)",
                        ));
                    }
                    let mut redact = Vec::with_capacity(bodies.redact.len());
                    for (index, pattern) in bodies.redact.iter().enumerate() {
                        let regex = Regex::new(pattern).map_err(|error| {
                            FilterConfigError::new(
                                at(&format!(".bodies.redact[{index}]")),
                                format!("not a regular expression: {error}"),
                            )
                        })?;
                        redact.push(regex);
                    }
                    Some(BodyCapture::new(bodies.max_bytes, redact))
                }
            };
            partners.insert(
                name.clone(),
                PartnerPolicy {
                    fail_mode: partner.fail_mode.unwrap_or(self.fail_mode),
                    bodies,
                },
            );
        }
        Ok(Compiled {
            default: PartnerPolicy {
                fail_mode: self.fail_mode,
                bodies: None,
            },
            partners,
        })
    }

    /// A complete example, the one in the module docs (parsed by a test).
    pub fn example() -> &'static str {
        r#"
fail_mode: open
partners:
  partner:
    fail_mode: closed
    bodies: { max_bytes: 2048, redact: ['\b\d{13,19}\b'] }
"#
    }
}
