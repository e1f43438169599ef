//! The federation partners of one config snapshot, as filters see them: the proxy puts a
//! [`Peers`] into `BuildContext.resources`; `authn` uses it to decide who a request is from.

use std::collections::HashMap;
use std::sync::Arc;

pub use legate_api::PeerConfig;

/// The configured peers, indexed by the (lower-case) domains they own.
#[derive(Clone, Default)]
pub struct Peers {
    all: Arc<Vec<PeerConfig>>,
    by_domain: Arc<HashMap<String, usize>>,
}

impl Peers {
    pub fn new(peers: Vec<PeerConfig>) -> Peers {
        let by_domain = peers
            .iter()
            .enumerate()
            .flat_map(|(index, peer)| {
                peer.domains
                    .iter()
                    .map(move |d| (d.to_ascii_lowercase(), index))
            })
            .collect();
        Peers {
            all: Arc::new(peers),
            by_domain: Arc::new(by_domain),
        }
    }

    /// The partner that owns `domain`, if any.
    pub fn owner_of(&self, domain: &str) -> Option<&PeerConfig> {
        let index = *self.by_domain.get(&domain.to_ascii_lowercase())?;
        self.all.get(index)
    }

    pub fn by_name(&self, name: &str) -> Option<&PeerConfig> {
        self.all.iter().find(|peer| peer.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PeerConfig> {
        self.all.iter()
    }
}
