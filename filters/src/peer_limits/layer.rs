//! The factory: takes the partners' limits from the snapshot's `Peers`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::service::{PeerLimits, Rates};
use super::NAME;
use crate::{BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, Peers};

pub struct PeerLimitsFactory;

impl FilterFactory for PeerLimitsFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn safe_for_untrusted(&self) -> bool {
        true
    }

    fn build(
        &self,
        config: &serde_yaml::Value,
        context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        FilterConfigError::expect_no_config(
            config,
            "peer_limits takes no config: the limits are each peer's `limits` section",
        )?;
        let limits = context
            .resources
            .get::<Peers>()
            .map(|peers| {
                peers
                    .iter()
                    .filter_map(|peer| {
                        let rate = peer.limits.requests_per_second?;
                        Some((peer.name.clone(), (rate, peer.limits.burst)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let rates = Arc::new(Rates {
            limits,
            buckets: Mutex::new(HashMap::new()),
        });
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(PeerLimits::new(rates.clone(), inner))
        }))
    }
}
