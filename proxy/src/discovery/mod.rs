//! Finding a federation partner's SIP servers in DNS, as RFC 3263 §4 describes for TLS:
//!
//! 1. NAPTR records of the domain offering `SIPS+D2T`, in order and preference, name SRV
//!    records;
//! 2. without such NAPTR records, the SRV records `_sips._tcp.<domain>`;
//! 3. SRV records are tried by priority, then weight (RFC 2782), each target's A/AAAA
//!    addresses on the SRV port;
//! 4. with neither NAPTR nor SRV records, the domain's own A/AAAA addresses on port 5061.
//!
//! A URI with an IP address or an explicit port skips the first steps, as RFC 3263 says.
//! The router calls [`Discovery::locate`] for routes to peers with `reach: { dns: true }` and
//! tries the addresses in the order given. The resolver caches answers for their TTL.

mod naptr;
mod resolver;
mod srv;

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{Name, ResolveError, TokioResolver};
use legate_api::DnsConfig;

use naptr::Naptr;
use srv::SrvTarget;

/// The port of SIP over TLS when DNS names none (RFC 3261 §19.1.2).
const SIPS_PORT: u16 = 5061;

/// Why a domain gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// DNS answered: the domain has no SIP server (no such name, or none of the records).
    #[error("{domain} has no SIP service in DNS")]
    NotFound { domain: String },
    /// DNS gave no usable answer (timeout, server failure): later may work.
    #[error("looking up {domain} in DNS failed: {reason}")]
    Failed { domain: String, reason: String },
}

/// RFC 3263 server location over one resolver (and its cache).
pub struct Discovery {
    resolver: TokioResolver,
}

impl Discovery {
    /// A discovery over the name servers of `config` (the system's when it lists none).
    pub fn new(config: &DnsConfig) -> Result<Discovery, String> {
        Ok(Discovery {
            resolver: resolver::build(config)?,
        })
    }

    /// The addresses to try for SIP over TLS to `host` (a URI's host, with its `port` if it
    /// has one), best first.
    pub async fn locate(
        &self,
        host: &str,
        port: Option<u16>,
    ) -> Result<Vec<SocketAddr>, DiscoveryError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port.unwrap_or(SIPS_PORT))]);
        }
        let domain = host.trim_end_matches('.').to_ascii_lowercase();
        let lookup = Lookup {
            resolver: &self.resolver,
            domain: &domain,
        };
        let found = match port {
            Some(port) => lookup.addresses(&domain, port).await?,
            None => lookup.rfc3263().await?,
        };
        if found.is_empty() {
            return Err(DiscoveryError::NotFound { domain });
        }
        Ok(found)
    }
}

/// One discovery run, for error messages that name the domain asked for.
struct Lookup<'a> {
    resolver: &'a TokioResolver,
    domain: &'a str,
}

impl Lookup<'_> {
    async fn rfc3263(&self) -> Result<Vec<SocketAddr>, DiscoveryError> {
        let mut srv_names = naptr::sips_srv_names(self.naptr().await?);
        if srv_names.is_empty() {
            srv_names.push(format!("_sips._tcp.{}.", self.domain));
        }
        let mut found = Vec::new();
        for name in srv_names {
            let targets = srv::order(self.srv(&name).await?, &mut rand::thread_rng());
            for target in targets {
                for addr in self.addresses(&target.host, target.port).await? {
                    if !found.contains(&addr) {
                        found.push(addr);
                    }
                }
            }
        }
        if found.is_empty() {
            found = self.addresses(self.domain, SIPS_PORT).await?;
        }
        Ok(found)
    }

    async fn naptr(&self) -> Result<Vec<Naptr>, DiscoveryError> {
        let Some(answer) = self.query(self.domain, RecordType::NAPTR).await? else {
            return Ok(Vec::new());
        };
        Ok(answer
            .iter()
            .filter_map(|rdata| match rdata {
                RData::NAPTR(naptr) => Some(Naptr {
                    order: naptr.order(),
                    preference: naptr.preference(),
                    flags: String::from_utf8_lossy(naptr.flags()).into_owned(),
                    services: String::from_utf8_lossy(naptr.services()).into_owned(),
                    replacement: naptr.replacement().to_ascii(),
                }),
                _ => None,
            })
            .collect())
    }

    async fn srv(&self, name: &str) -> Result<Vec<SrvTarget>, DiscoveryError> {
        let Some(answer) = self.query(name, RecordType::SRV).await? else {
            return Ok(Vec::new());
        };
        Ok(answer
            .iter()
            .filter_map(|rdata| match rdata {
                // A target of "." says the service is not offered there (RFC 2782).
                RData::SRV(srv) if !srv.target().is_root() => Some(SrvTarget {
                    priority: srv.priority(),
                    weight: srv.weight(),
                    port: srv.port(),
                    host: srv.target().to_ascii(),
                }),
                _ => None,
            })
            .collect())
    }

    async fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, DiscoveryError> {
        let name = self.name(host)?;
        match self.resolver.lookup_ip(name).await {
            Ok(ips) => Ok(ips.iter().map(|ip| SocketAddr::new(ip, port)).collect()),
            Err(error) if is_no_data(&error) => Ok(Vec::new()),
            Err(error) => Err(self.failed(&error)),
        }
    }

    /// The records of `rtype` at `name`; `None` when DNS says there are none.
    async fn query(
        &self,
        name: &str,
        rtype: RecordType,
    ) -> Result<Option<hickory_resolver::lookup::Lookup>, DiscoveryError> {
        let name = self.name(name)?;
        match self.resolver.lookup(name, rtype).await {
            Ok(answer) => Ok(Some(answer)),
            Err(error) if is_no_data(&error) => Ok(None),
            Err(error) => Err(self.failed(&error)),
        }
    }

    /// `host` as an absolute name, so no search domain is ever appended.
    fn name(&self, host: &str) -> Result<Name, DiscoveryError> {
        let absolute = format!("{}.", host.trim_end_matches('.'));
        Name::from_ascii(&absolute).map_err(|_| DiscoveryError::NotFound {
            domain: self.domain.to_string(),
        })
    }

    fn failed(&self, error: &ResolveError) -> DiscoveryError {
        DiscoveryError::Failed {
            domain: self.domain.to_string(),
            reason: error.to_string(),
        }
    }
}

/// An answer saying there is nothing (NXDOMAIN, or the name has no records of the type), as
/// opposed to no usable answer at all.
fn is_no_data(error: &ResolveError) -> bool {
    match error.proto().map(|proto| proto.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => {
            matches!(
                *response_code,
                ResponseCode::NoError | ResponseCode::NXDomain
            )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A discovery over a name server nobody runs: the cases below must not ask it.
    fn offline() -> Discovery {
        let config = DnsConfig {
            servers: vec![SocketAddr::from(([127, 0, 0, 1], 9))],
            timeout: std::time::Duration::from_millis(100),
        };
        Discovery::new(&config).unwrap()
    }

    #[tokio::test]
    async fn an_address_is_used_as_it_is_on_the_sips_port_or_its_own() {
        let discovery = offline();
        assert_eq!(
            discovery.locate("192.0.2.7", None).await,
            Ok(vec![SocketAddr::from(([192, 0, 2, 7], 5061))])
        );
        assert_eq!(
            discovery.locate("[2001:db8::1]", Some(5071)).await,
            Ok(vec!["[2001:db8::1]:5071".parse().unwrap()])
        );
    }

    #[tokio::test]
    async fn a_name_that_cannot_be_a_domain_is_not_found() {
        let discovery = offline();
        assert!(matches!(
            discovery.locate("bad..name", None).await,
            Err(DiscoveryError::NotFound { .. })
        ));
    }
}
