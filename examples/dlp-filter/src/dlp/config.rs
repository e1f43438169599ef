//! The filter's typed config, checked and compiled once per snapshot: every error names the
//! field it is about, relative to the filter's `config` block.

use bytes::Bytes;
use legate_filters_api::{check_header_name, FilterConfigError};
use legate_sip::Method;
use regex::bytes::{Regex, RegexSet};
use serde::Deserialize;

use super::ENCODED_BODY_RULE;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlpConfig {
    /// Searched in order; the first that matches names the refusal.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    #[serde(default)]
    pub action: Action,
    /// The methods whose bodies are searched: MESSAGE, INFO.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// With `action: tag`, the header listing the rules that matched.
    #[serde(default = "default_tag_header")]
    pub tag_header: String,
    /// Appended to every text/plain MESSAGE that passes.
    #[serde(default)]
    pub disclaimer: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Shown in the refusal's Warning and in the tag: letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// A regular expression (`regex` crate syntax) searched in the body's bytes.
    pub pattern: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Refuse with 403.
    #[default]
    Deny,
    /// Pass, with the matching rule ids in `tag_header`.
    Tag,
}

fn default_methods() -> Vec<String> {
    vec!["MESSAGE".into()]
}

fn default_tag_header() -> String {
    "X-Legate-DLP".into()
}

/// What requests read: rules compiled into one set, searched in one pass over the body.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub rule_ids: Vec<String>,
    pub patterns: RegexSet,
    pub action: Action,
    pub methods: Vec<Method>,
    pub tag_header: String,
    pub disclaimer: Option<Bytes>,
}

impl DlpConfig {
    pub fn from_yaml(value: &serde_yaml::Value) -> Result<DlpConfig, FilterConfigError> {
        if value.is_null() {
            return Err(FilterConfigError::new(
                "",
                "the dlp filter needs a config with `rules` (or a `disclaimer`)",
            ));
        }
        serde_yaml::from_value(value.clone()).map_err(|e| FilterConfigError::from_yaml(&e))
    }

    pub(crate) fn compile(&self) -> Result<Compiled, FilterConfigError> {
        if self.rules.is_empty() && self.disclaimer.is_none() {
            return Err(FilterConfigError::new(
                "rules",
                "no rules and no disclaimer: the filter would do nothing",
            ));
        }
        let mut rule_ids: Vec<String> = Vec::with_capacity(self.rules.len());
        for (index, rule) in self.rules.iter().enumerate() {
            check_rule(rule, index, &rule_ids)?;
            rule_ids.push(rule.id.clone());
        }
        let patterns = RegexSet::new(self.rules.iter().map(|rule| &rule.pattern))
            .map_err(|e| FilterConfigError::new("rules", format!("rules do not compile: {e}")))?;
        check_header_name(&self.tag_header, "tag_header")?;
        Ok(Compiled {
            rule_ids,
            patterns,
            action: self.action,
            methods: self.methods()?,
            tag_header: self.tag_header.clone(),
            disclaimer: self.disclaimer()?,
        })
    }

    fn methods(&self) -> Result<Vec<Method>, FilterConfigError> {
        if self.methods.is_empty() {
            return Err(FilterConfigError::new(
                "methods",
                "names no method, so nothing would be searched",
            ));
        }
        let mut methods = Vec::with_capacity(self.methods.len());
        for (index, name) in self.methods.iter().enumerate() {
            match Method::parse(name.as_bytes()) {
                Ok(method @ (Method::Message | Method::Info)) => methods.push(method),
                _ => {
                    return Err(FilterConfigError::new(
                        format!("methods[{index}]"),
                        format!("`{name}`: only MESSAGE and INFO bodies are searched"),
                    ))
                }
            }
        }
        Ok(methods)
    }

    fn disclaimer(&self) -> Result<Option<Bytes>, FilterConfigError> {
        match self.disclaimer.as_deref() {
            None => Ok(None),
            Some(text) if text.trim().is_empty() || text.contains('\0') => Err(
                FilterConfigError::new("disclaimer", "must be text (not empty, no NUL)"),
            ),
            Some(text) => Ok(Some(Bytes::copy_from_slice(text.as_bytes()))),
        }
    }
}

fn check_rule(
    rule: &RuleConfig,
    index: usize,
    earlier: &[String],
) -> Result<(), FilterConfigError> {
    let id_path = format!("rules[{index}].id");
    let id_is_token = !rule.id.is_empty()
        && rule
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !id_is_token {
        return Err(FilterConfigError::new(
            id_path,
            format!("`{}`: ids are letters, digits, `-`, `_` and `.`", rule.id),
        ));
    }
    if rule.id == ENCODED_BODY_RULE {
        return Err(FilterConfigError::new(
            id_path,
            format!("`{ENCODED_BODY_RULE}` is the filter's own rule for bodies it cannot read"),
        ));
    }
    if let Some(first) = earlier.iter().position(|id| *id == rule.id) {
        return Err(FilterConfigError::new(
            id_path,
            format!("`{}` is already the id of rules[{first}]", rule.id),
        ));
    }
    let pattern_path = format!("rules[{index}].pattern");
    let regex = Regex::new(&rule.pattern)
        .map_err(|e| FilterConfigError::new(&pattern_path, format!("invalid regex: {e}")))?;
    // Such a pattern matches every body, empty or not: surely not what was meant.
    if regex.is_match(b"") {
        return Err(FilterConfigError::new(
            pattern_path,
            "matches the empty text, so it would match every message",
        ));
    }
    Ok(())
}
