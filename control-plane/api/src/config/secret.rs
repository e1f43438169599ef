//! [`Secret`]: a sensitive value given inline or read from a file, never printed.

use std::fmt;
use std::path::PathBuf;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::redact::REDACTED;

/// A secret written either inline or as a path to a file holding it.
///
/// ```yaml
/// record_route_secret: { value: "s3cr3t" }
/// # or
/// record_route_secret: { file: /run/secrets/legate-rr }
/// ```
///
/// `Debug` and `Serialize` print an inline value as `[redacted]`, so neither logs nor
/// `/config_dump` can leak it. A file path is not secret and is shown.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The secret itself.
    Value(String),
    /// A file whose contents are the secret.
    File(PathBuf),
}

impl Secret {
    /// The secret's bytes. For a file, one trailing line break is dropped because editors
    /// and `echo` add one that the author never meant as part of the key.
    pub fn read(&self) -> Result<Vec<u8>, std::io::Error> {
        match self {
            Secret::Value(value) => Ok(value.as_bytes().to_vec()),
            Secret::File(path) => {
                let mut bytes = std::fs::read(path)?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                Ok(bytes)
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Value(_) => f.debug_tuple("Value").field(&REDACTED).finish(),
            Secret::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Secret::Value(_) => map.serialize_entry("value", REDACTED)?,
            Secret::File(path) => map.serialize_entry("file", path)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SecretVisitor)
    }
}

/// Reads `{ value: ... }` or `{ file: ... }`. The checks run inside the visitor so the YAML
/// deserializer attributes errors to the secret's own path, not its parent's.
struct SecretVisitor;

const FIELDS: &[&str] = &["value", "file"];

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with `value` or `file`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let mut found: Option<Secret> = None;
        while let Some(key) = map.next_key::<String>()? {
            let secret = match key.as_str() {
                "value" => Secret::Value(map.next_value()?),
                "file" => Secret::File(map.next_value()?),
                other => return Err(A::Error::unknown_field(other, FIELDS)),
            };
            if found.is_some() {
                return Err(A::Error::custom(
                    "a secret takes either `value` or `file`, not both",
                ));
            }
            found = Some(secret);
        }
        found.ok_or_else(|| A::Error::custom("a secret needs `value: ...` or `file: path`"))
    }
}
