//! The typed config, checked against the partners of the snapshot it is built in.

use std::collections::HashMap;

use legate_filters_api::{check_header_name, FilterConfigError, Peers};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerKeyConfig {
    #[serde(default = "default_header")]
    pub header: String,
    pub keys: Vec<KeyConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// A `peers[].name`.
    pub peer: String,
    /// The SHA-256 of the partner's key, 64 hex digits.
    pub sha256: String,
}

fn default_header() -> String {
    "X-Example-Partner-Key".into()
}

/// One partner a key stands for: its name and the domains it may speak for (lower-case).
#[derive(Debug, Clone)]
pub(crate) struct Partner {
    pub name: String,
    pub domains: Vec<String>,
}

/// What requests read: partners by the digest of their key.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub header: String,
    pub by_digest: HashMap<[u8; 32], Partner>,
}

impl PartnerKeyConfig {
    pub fn from_yaml(value: &serde_yaml::Value) -> Result<PartnerKeyConfig, FilterConfigError> {
        serde_yaml::from_value(value.clone()).map_err(|e| FilterConfigError::from_yaml(&e))
    }

    pub(crate) fn compile(&self, peers: &Peers) -> Result<Compiled, FilterConfigError> {
        check_header_name(&self.header, "header")?;
        if self.keys.is_empty() {
            return Err(FilterConfigError::new(
                "keys",
                "names no partner, so nothing would pass",
            ));
        }
        let mut by_digest = HashMap::new();
        for (index, key) in self.keys.iter().enumerate() {
            let Some(peer) = peers.by_name(&key.peer) else {
                return Err(FilterConfigError::new(
                    format!("keys[{index}].peer"),
                    format!("`{}` is not the name of one of `peers`", key.peer),
                ));
            };
            let digest = parse_digest(&key.sha256).ok_or_else(|| {
                FilterConfigError::new(format!("keys[{index}].sha256"), "must be 64 hex digits")
            })?;
            let partner = Partner {
                name: peer.name.clone(),
                domains: peer
                    .domains
                    .iter()
                    .map(|d| d.to_ascii_lowercase())
                    .collect(),
            };
            if by_digest.insert(digest, partner).is_some() {
                return Err(FilterConfigError::new(
                    format!("keys[{index}].sha256"),
                    "the same key is given to two partners",
                ));
            }
        }
        Ok(Compiled {
            header: self.header.clone(),
            by_digest,
        })
    }
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (index, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(digest)
}
