//! Checks for the `dns` section: name server addresses and the query timeout.

use super::Problems;
use crate::config::DnsConfig;

pub(super) fn check(dns: &DnsConfig, problems: &mut Problems<'_>) {
    for (k, server) in dns.servers.iter().enumerate() {
        let path = format!("dns.servers[{k}]");
        if server.port() == 0 || server.ip().is_unspecified() {
            problems.report(
                &path,
                format!("{server} cannot be asked; give the name server's address and port"),
            );
        } else if let Some(first) = dns.servers[..k].iter().position(|s| s == server) {
            problems.report(
                &path,
                format!("{server} is already listed as servers[{first}]"),
            );
        }
    }
    if dns.timeout.is_zero() {
        problems.report("dns.timeout", "must be greater than zero");
    }
}
