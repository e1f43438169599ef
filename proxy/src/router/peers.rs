//! Routes to federation partners: where a partner's domain is reached (its fixed address, or
//! RFC 3263 discovery in DNS), and the answer when it cannot be.
//!
//! A request to a partner always leaves over TLS. The server must present a certificate that
//! chains to the partner's `trust_bundle` and names the target domain (the Request-URI host,
//! also sent as SNI); Legate presents the certificate of the TLS listener it leaves by (see
//! `transport::tls_clients`).

use std::collections::HashMap;
use std::net::SocketAddr;

use legate_api::{DnsConfig, PeerConfig, Transport};
use legate_filters_api::SipResponse;
use legate_sip::Uri;

use super::attempts::Attempts;
use super::failover::{Destination, Endpoints};
use crate::discovery::{Discovery, DiscoveryError};
use crate::transport::ServerTrust;

enum Reach {
    Address(SocketAddr),
    Dns,
}

/// The partners of one snapshot, as the router reaches them.
#[derive(Default)]
pub struct PeerRoutes {
    reach: HashMap<String, Reach>,
    /// Present only when a partner is discovered in DNS: otherwise no query is ever made.
    discovery: Option<Discovery>,
}

impl PeerRoutes {
    /// The error says what is wrong with the `dns` section.
    pub fn new(peers: &[PeerConfig], dns: &DnsConfig) -> Result<PeerRoutes, String> {
        let reach: HashMap<String, Reach> = peers
            .iter()
            .map(|peer| {
                let reach = match peer.reach.address {
                    Some(address) => Reach::Address(address),
                    None => Reach::Dns,
                };
                (peer.name.clone(), reach)
            })
            .collect();
        let discovery = match reach.values().any(|r| matches!(r, Reach::Dns)) {
            true => Some(Discovery::new(dns)?),
            false => None,
        };
        Ok(PeerRoutes { reach, discovery })
    }

    /// Where a request for `uri` routed to `peer` may go, or Legate's answer when nowhere.
    pub(super) async fn destination<'a>(
        &self,
        peer: &'a str,
        uri: &Uri,
        attempts: &Attempts<'_>,
    ) -> Result<Destination<'a>, SipResponse> {
        let domain = uri.host_lowercase();
        let addresses = match self.reach.get(peer) {
            Some(Reach::Address(address)) => vec![*address],
            Some(Reach::Dns) => match &self.discovery {
                Some(discovery) => discovery
                    .locate(&domain, uri.port)
                    .await
                    .map_err(|error| unresolved(attempts, peer, &error))?,
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let bare = domain.trim_start_matches('[').trim_end_matches(']');
        Ok(Destination {
            what: format!("partner {peer} ({domain})").into(),
            metric_label: format!("peer:{peer}").into(),
            transport: Transport::Tls,
            server_name: Some(bare.to_string()),
            trust: ServerTrust::Peer(peer),
            endpoints: Endpoints::Listed(addresses),
        })
    }
}

/// The answer when DNS gives no address. The Warning names the domain only: resolver
/// addresses and errors stay in Legate's log.
fn unresolved(attempts: &Attempts<'_>, peer: &str, error: &DiscoveryError) -> SipResponse {
    tracing::info!(peer, %error, "partner not found in dns");
    match error {
        DiscoveryError::NotFound { domain } => attempts.local(
            404,
            "Not Found",
            &format!("domain {domain} has no SIP service in DNS"),
        ),
        DiscoveryError::Failed { domain, .. } => {
            attempts.unavailable(&format!("domain {domain} cannot be looked up in DNS now"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(yaml: &str) -> PeerConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn dns_is_set_up_only_for_partners_discovered_in_it() {
        let fixed = peer("{ name: a, domains: [a.example], reach: { address: 192.0.2.1:5061 }, trust_bundle: a.pem }");
        let routes = PeerRoutes::new(std::slice::from_ref(&fixed), &DnsConfig::default()).unwrap();
        assert!(routes.discovery.is_none());
        let open =
            peer("{ name: b, domains: [b.example], reach: { dns: true }, trust_bundle: b.pem }");
        let dns = DnsConfig {
            servers: vec![SocketAddr::from(([127, 0, 0, 1], 53))],
            ..DnsConfig::default()
        };
        let routes = PeerRoutes::new(&[fixed, open], &dns).unwrap();
        assert!(routes.discovery.is_some());
    }
}
