//! The DNS resolver discovery asks: the configured name servers, or the system's.

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use legate_api::DnsConfig;

/// Answers kept at once; each for its TTL.
const CACHE_ENTRIES: usize = 1024;
/// Tries of one query (on each name server) before it counts as failed.
const ATTEMPTS: usize = 2;

/// A resolver for `config`. Building one sends nothing; the first lookup does.
pub(super) fn build(config: &DnsConfig) -> Result<TokioResolver, String> {
    let mut builder = if config.servers.is_empty() {
        TokioResolver::builder_tokio().map_err(|error| {
            format!(
                "the system resolver configuration cannot be read ({error}); \
                 list name servers in `dns.servers`"
            )
        })?
    } else {
        let mut servers = ResolverConfig::new();
        for server in &config.servers {
            // UDP first; TCP for answers too large for a datagram.
            servers.add_name_server(NameServerConfig::new(*server, Protocol::Udp));
            servers.add_name_server(NameServerConfig::new(*server, Protocol::Tcp));
        }
        TokioResolver::builder_with_config(servers, TokioConnectionProvider::default())
    };
    let options = builder.options_mut();
    options.timeout = config.timeout;
    options.attempts = ATTEMPTS;
    options.cache_size = CACHE_ENTRIES;
    // A partner's servers come from DNS only: a local hosts file must not stand in for them.
    options.use_hosts_file = ResolveHosts::Never;
    Ok(builder.build())
}
