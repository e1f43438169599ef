//! The factory: takes the partners' limits from the snapshot's `Peers`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::metrics::PartnerMetrics;
use super::service::{Partner, PeerLimits};
use super::usage::PartnerUsage;
use super::NAME;
use crate::TokenBucket;
use legate_filters_api::{
    BoxSipService, BuildContext, FilterConfigError, FilterFactory, FilterLayer, FilterStatus, Peers,
};

pub struct PeerLimitsFactory;

impl FilterFactory for PeerLimitsFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn safe_for_untrusted(&self) -> bool {
        true
    }

    fn status(&self) -> FilterStatus {
        FilterStatus::Stable
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
        let now = Instant::now();
        let mut partners = HashMap::new();
        for peer in context
            .resources
            .get::<Peers>()
            .into_iter()
            .flat_map(Peers::iter)
        {
            let limits = peer.limits;
            let bucket = limits
                .requests_per_second
                .map(|rate| Mutex::new(TokenBucket::new(rate, limits.burst, now)));
            let partner = Partner {
                limits,
                bucket,
                usage: PartnerUsage::of(&peer.name),
                metrics: Arc::new(PartnerMetrics::register(&context.metrics, &peer.name)?),
            };
            partners.insert(peer.name.clone(), partner);
        }
        let partners = Arc::new(partners);
        Ok(Arc::new(move |inner: BoxSipService| {
            BoxSipService::new(PeerLimits::new(partners.clone(), inner))
        }))
    }
}
