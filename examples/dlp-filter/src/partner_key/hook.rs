//! The factory and the per-request side: find the partner by its key, check the From is its
//! own, and vouch for it.

use legate_filters_api::{
    hook_layer, Authenticated, BuildContext, FilterConfigError, FilterFactory, FilterLayer, Hook,
    Peers, Refusal, Side, SipRequest, Verdict,
};
use sha2::{Digest, Sha256};

use super::config::{Compiled, PartnerKeyConfig};
use super::NAME;

pub struct PartnerKeyFactory;

impl FilterFactory for PartnerKeyFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn safe_for_untrusted(&self) -> bool {
        true
    }

    fn authenticates_peers(&self) -> bool {
        true
    }

    fn build(
        &self,
        config: &serde_yaml::Value,
        context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        let peers = context
            .resources
            .get::<Peers>()
            .cloned()
            .unwrap_or_default();
        let compiled = PartnerKeyConfig::from_yaml(config)?.compile(&peers)?;
        Ok(hook_layer(PartnerKey {
            compiled,
            side: context.listener.side,
        }))
    }
}

pub struct PartnerKey {
    compiled: Compiled,
    side: Side,
}

impl Hook for PartnerKey {
    async fn on_request(&self, request: &mut SipRequest) -> Verdict {
        if self.side == Side::Internal {
            return Verdict::Continue;
        }
        match self.authenticate(request) {
            Ok(who) => {
                // The key proves the partner to Legate only; it goes no further.
                request
                    .message
                    .headers
                    .remove_by_name(&self.compiled.header);
                request.context.insert(who);
                Verdict::Continue
            }
            Err(rule) => {
                let refusal = Refusal::new(NAME, 403, "Forbidden")
                    .warning("partner not authenticated")
                    .rule(rule);
                Verdict::Refuse(refusal)
            }
        }
    }
}

impl PartnerKey {
    /// The partner the request is from, or the rule it fails.
    fn authenticate(&self, request: &SipRequest) -> Result<Authenticated, &'static str> {
        let header = request
            .message
            .headers
            .by_name(&self.compiled.header)
            .next();
        let key = header.ok_or("missing-key")?;
        let digest: [u8; 32] = Sha256::digest(&key.value).into();
        let partner = self.compiled.by_digest.get(&digest).ok_or("unknown-key")?;
        let from = request
            .message
            .from_header()
            .map_err(|_| "domain-not-owned")?;
        let domain = from.uri.host_lowercase();
        if !partner.domains.iter().any(|owned| *owned == domain) {
            return Err("domain-not-owned");
        }
        Ok(Authenticated::Peer {
            name: partner.name.clone(),
            domain: domain.into(),
        })
    }
}
