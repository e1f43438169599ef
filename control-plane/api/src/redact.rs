//! Renders a configuration for display (`/config_dump`, debug logs) with secrets hidden.
//!
//! Typed secrets ([`Secret`](crate::Secret)) hide themselves when serialized. Filter configs
//! are raw YAML whose schema this crate does not know, so they are redacted by shape: a
//! secret-shaped mapping (`{ value: ... }`) and any value under a key that names a credential
//! (`password`, `token`, `secret`, ...) are replaced.

use serde_json::{json, Map, Number, Value as Json};
use serde_yaml::Value as Yaml;

use crate::config::Config;

/// What a hidden value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Key fragments that mark a filter config value as a credential.
const SENSITIVE_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "api_key",
    "apikey",
];

/// The configuration as JSON with every secret replaced by `"[redacted]"`.
pub fn redacted_json(config: &Config) -> Json {
    // Filter configs are converted separately: YAML allows keys JSON cannot hold, and they
    // need shape-based redaction.
    let mut shell = config.clone();
    for listener in &mut shell.listeners {
        for filter in &mut listener.filters {
            filter.config = Yaml::Null;
        }
    }
    let mut rendered = match serde_json::to_value(&shell) {
        Ok(rendered) => rendered,
        Err(error) => {
            return json!({ "error": format!("cannot render the configuration: {error}") })
        }
    };
    for (i, listener) in config.listeners.iter().enumerate() {
        for (j, filter) in listener.filters.iter().enumerate() {
            let pointer = format!("/listeners/{i}/filters/{j}/config");
            if let Some(slot) = rendered.pointer_mut(&pointer) {
                *slot = redacted_filter_config(&filter.config);
            }
        }
    }
    rendered
}

/// A filter's raw config as JSON, with credential-looking values replaced.
pub(crate) fn redacted_filter_config(value: &Yaml) -> Json {
    match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => number(n),
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(redacted_filter_config).collect()),
        Yaml::Mapping(mapping) => {
            if mapping.len() == 1 && mapping.contains_key("value") {
                return json!({ "value": REDACTED });
            }
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = key_text(key);
                let value = if is_sensitive(&key) {
                    Json::String(REDACTED.to_owned())
                } else {
                    redacted_filter_config(value)
                };
                object.insert(key, value);
            }
            Json::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let mut object = Map::new();
            object.insert(
                tagged.tag.to_string(),
                redacted_filter_config(&tagged.value),
            );
            Json::Object(object)
        }
    }
}

fn number(n: &serde_yaml::Number) -> Json {
    if let Some(i) = n.as_i64() {
        Json::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Json::Number(u.into())
    } else {
        // JSON has no NaN or infinity; show them as YAML writes them.
        n.as_f64()
            .and_then(Number::from_f64)
            .map_or_else(|| Json::String(n.to_string()), Json::Number)
    }
}

fn key_text(key: &Yaml) -> String {
    match key {
        Yaml::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_else(|_| format!("{other:?}")),
    }
}

fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE_KEY_PARTS.iter().any(|part| key.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Yaml {
        serde_yaml::from_str(text).unwrap_or(Yaml::Null)
    }

    #[test]
    fn credential_keys_and_secret_shapes_are_hidden() {
        let rendered = redacted_filter_config(&yaml(
            "{ users: [ { name: alice, password: hunter2 } ], key: { value: s3cr3t }, api_token_file: /x }",
        ));
        let text = rendered.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_eq!(rendered["users"][0]["name"], "alice");
        assert_eq!(rendered["users"][0]["password"], REDACTED);
    }

    #[test]
    fn header_values_are_not_mistaken_for_secrets() {
        let rendered = redacted_filter_config(&yaml("{ name: X-Legate-Side, value: internal }"));
        assert_eq!(rendered["value"], "internal");
    }

    #[test]
    fn yaml_only_shapes_still_render() {
        let rendered = redacted_filter_config(&yaml("{ 1: one, [a]: list, f: .nan, t: !tag x }"));
        assert_eq!(rendered["1"], "one");
        assert_eq!(rendered["- a"], "list");
        assert_eq!(rendered["f"], ".nan");
        assert_eq!(rendered["t"]["!tag"], "x");
    }
}
