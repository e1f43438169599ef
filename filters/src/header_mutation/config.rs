//! Typed config of the header_mutation filter, and its compiled form.

use regex::Regex;
use serde::Deserialize;

use legate_filters_api::FilterConfigError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMutationConfig {
    #[serde(default)]
    pub request: HeaderRules,
    #[serde(default)]
    pub response: HeaderRules,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRules {
    /// Appended after the existing headers.
    #[serde(default)]
    pub add: Vec<HeaderValueRule>,
    /// Replaces every header of that name with one, or appends it.
    #[serde(default)]
    pub set: Vec<HeaderValueRule>,
    /// Removes every header of that name.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Regex replacement on the value of every header of that name.
    #[serde(default)]
    pub rewrite: Vec<RewriteRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValueRule {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewriteRule {
    pub name: String,
    pub pattern: String,
    pub replacement: String,
}

/// Rules checked and compiled once; requests only read them.
#[derive(Debug, Default)]
pub(crate) struct CompiledRules {
    pub add: Vec<(String, String)>,
    pub set: Vec<(String, String)>,
    pub remove: Vec<String>,
    pub rewrite: Vec<(String, Regex, String)>,
}

impl CompiledRules {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.set.is_empty()
            && self.remove.is_empty()
            && self.rewrite.is_empty()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Compiled {
    pub request: CompiledRules,
    pub response: CompiledRules,
}

impl HeaderMutationConfig {
    pub(crate) fn from_yaml(value: &serde_yaml::Value) -> Result<Self, FilterConfigError> {
        if value.is_null() {
            return Ok(HeaderMutationConfig::default());
        }
        serde_yaml::from_value(value.clone()).map_err(|e| FilterConfigError::from_yaml(&e))
    }

    pub(crate) fn compile(&self) -> Result<Compiled, FilterConfigError> {
        Ok(Compiled {
            request: self.request.compile("request")?,
            response: self.response.compile("response")?,
        })
    }
}

impl HeaderRules {
    fn compile(&self, side: &str) -> Result<CompiledRules, FilterConfigError> {
        let mut compiled = CompiledRules::default();
        for (i, rule) in self.add.iter().enumerate() {
            let path = format!("{side}.add[{i}]");
            check_name(&rule.name, &path)?;
            check_value(&rule.value, &path)?;
            compiled.add.push((rule.name.clone(), rule.value.clone()));
        }
        for (i, rule) in self.set.iter().enumerate() {
            let path = format!("{side}.set[{i}]");
            check_name(&rule.name, &path)?;
            check_value(&rule.value, &path)?;
            compiled.set.push((rule.name.clone(), rule.value.clone()));
        }
        for (i, name) in self.remove.iter().enumerate() {
            legate_filters_api::header_name::check(
                name,
                &format!("{side}.remove[{i}]"),
                &[],
                "cannot be mutated",
            )?;
            compiled.remove.push(name.clone());
        }
        for (i, rule) in self.rewrite.iter().enumerate() {
            let path = format!("{side}.rewrite[{i}]");
            check_name(&rule.name, &path)?;
            let regex = Regex::new(&rule.pattern).map_err(|e| {
                FilterConfigError::new(format!("{path}.pattern"), format!("invalid regex: {e}"))
            })?;
            compiled
                .rewrite
                .push((rule.name.clone(), regex, rule.replacement.clone()));
        }
        Ok(compiled)
    }
}

/// A rule's `name` field: a header name the filter may change.
fn check_name(name: &str, path: &str) -> Result<(), FilterConfigError> {
    legate_filters_api::header_name::check(name, &format!("{path}.name"), &[], "cannot be mutated")
}

fn check_value(value: &str, path: &str) -> Result<(), FilterConfigError> {
    if !legate_filters_api::header_name::is_single_line(value) {
        return Err(FilterConfigError::new(
            format!("{path}.value"),
            "header values cannot contain CR, LF or NUL",
        ));
    }
    Ok(())
}
