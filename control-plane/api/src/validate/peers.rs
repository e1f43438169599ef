//! Checks for the `peers` section: names, owned domains, reachability and limits.

use std::collections::HashMap;

use super::{domain::check_domain_pattern, Problems};
use crate::config::PeerConfig;

pub(super) fn check(peers: &[PeerConfig], problems: &mut Problems<'_>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    // A domain belongs to one partner at most, or a peer could speak for another's users.
    let mut owners: HashMap<String, usize> = HashMap::new();
    for (i, peer) in peers.iter().enumerate() {
        let at = |field: &str| format!("peers[{i}].{field}");
        if peer.name.trim().is_empty() {
            problems.report(&at("name"), "must not be empty");
        } else if let Some(&first) = names.get(peer.name.as_str()) {
            problems.report(
                &at("name"),
                format!(
                    "peer name `{}` is already used by peers[{first}]",
                    peer.name
                ),
            );
        } else {
            names.insert(&peer.name, i);
        }

        if peer.domains.is_empty() {
            problems.report(
                &at("domains"),
                "a peer needs at least one domain: the domains its requests may speak for",
            );
        }
        for (k, domain) in peer.domains.iter().enumerate() {
            let path = format!("peers[{i}].domains[{k}]");
            if domain.contains('*') {
                problems.report(
                    &path,
                    format!("`{domain}`: a peer owns exact domains; list each one (no wildcards)"),
                );
                continue;
            }
            if let Err(message) = check_domain_pattern(domain) {
                problems.report(&path, message);
                continue;
            }
            let key = domain.to_ascii_lowercase();
            if let Some(&owner) = owners.get(&key) {
                problems.report(
                    &path,
                    format!(
                        "`{domain}` is already owned by peers[{owner}]; a domain has one owner"
                    ),
                );
            } else {
                owners.insert(key, i);
            }
        }

        match (&peer.reach.address, peer.reach.dns) {
            (None, false) => problems.report(
                &at("reach"),
                "say how to reach the peer: `address: host:port`, or `dns: true` to discover it",
            ),
            (Some(_), true) => problems.report(
                &at("reach"),
                "give either a fixed `address` or `dns: true`, not both",
            ),
            (Some(address), false) if address.port() == 0 || address.ip().is_unspecified() => {
                problems.report(&at("reach.address"), format!("{address} cannot be sent to"))
            }
            _ => {}
        }

        if peer.trust_bundle.as_os_str().is_empty() {
            problems.report(&at("trust_bundle"), "must not be empty");
        }
        if let Some(own) = &peer.client_certificate {
            for (field, path) in [
                ("certificate", &own.certificate),
                ("private_key", &own.private_key),
            ] {
                if path.as_os_str().is_empty() {
                    problems.report(
                        &at(&format!("client_certificate.{field}")),
                        "must not be empty",
                    );
                }
            }
        }

        let limits = &peer.limits;
        for (name, value) in [
            ("max_sessions", limits.max_sessions),
            ("max_subscriptions", limits.max_subscriptions),
            ("requests_per_second", limits.requests_per_second),
            ("burst", limits.burst),
            (
                "max_subscriptions_per_user",
                limits.max_subscriptions_per_user,
            ),
        ] {
            if value == Some(0) {
                problems.report(
                    &at(&format!("limits.{name}")),
                    "must be at least 1 (leave it out for no limit)",
                );
            }
        }
        if limits.burst.is_some() && limits.requests_per_second.is_none() {
            problems.report(&at("limits.burst"), "a burst needs `requests_per_second`");
        }
    }
}
