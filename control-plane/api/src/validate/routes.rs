//! Checks for the `routes` section: names, domain patterns, and the cluster or peer each
//! route sends to.

use std::collections::HashMap;

use super::domain::check_domain_pattern;
use super::Problems;
use crate::config::{
    ClusterConfig, DirectoryConfig, ListenerConfig, PeerConfig, RouteConfig, Transport,
};
use crate::suggest::closest;

/// What routes may refer to.
pub(super) struct Targets<'c> {
    pub clusters: &'c [ClusterConfig],
    pub peers: &'c [PeerConfig],
    pub directories: &'c [DirectoryConfig],
    pub listeners: &'c [ListenerConfig],
}

pub(super) fn check(routes: &[RouteConfig], targets: &Targets<'_>, problems: &mut Problems<'_>) {
    let cluster_names: Vec<&str> = targets.clusters.iter().map(|c| c.name.as_str()).collect();
    let peer_names: Vec<&str> = targets.peers.iter().map(|p| p.name.as_str()).collect();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, route) in routes.iter().enumerate() {
        let at = |field: &str| format!("routes[{i}].{field}");

        if route.name.trim().is_empty() {
            problems.report(&at("name"), "must not be empty");
        } else if let Some(&first) = names.get(route.name.as_str()) {
            problems.report(
                &at("name"),
                format!(
                    "route name `{}` is already used by routes[{first}]",
                    route.name
                ),
            );
        } else {
            names.insert(&route.name, i);
        }

        if let Err(problem) = check_domain_pattern(&route.matcher.domain) {
            problems.report(&at("match.domain"), problem);
        } else if let Some(first) = routes[..i].iter().position(|earlier| {
            earlier.matcher.side == route.matcher.side
                && earlier
                    .matcher
                    .domain
                    .eq_ignore_ascii_case(&route.matcher.domain)
        }) {
            problems.report(
                &at("match"),
                format!(
                    "matches exactly what routes[{first}] (`{}`) matches, so it can never be chosen",
                    routes[first].name
                ),
            );
        }

        match (&route.cluster, &route.peer) {
            (None, None) => problems.report(
                &format!("routes[{i}]"),
                "say where the route sends requests: `cluster: NAME` or `peer: NAME`",
            ),
            (Some(_), Some(_)) => {
                problems.report(&at("peer"), "give either `cluster` or `peer`, not both")
            }
            (Some(cluster), None) => {
                if !cluster_names.contains(&cluster.as_str()) {
                    problems.report(&at("cluster"), unknown("cluster", cluster, &cluster_names));
                }
            }
            (None, Some(peer)) => match targets.peers.iter().position(|p| &p.name == peer) {
                None => problems.report(&at("peer"), unknown("peer", peer, &peer_names)),
                Some(k) => {
                    if let Some(problem) = nothing_to_present(k, targets) {
                        problems.report(&at("peer"), problem);
                    }
                    if route.by_directory_attribute.is_some() {
                        problems.report(
                            &at("by_directory_attribute"),
                            "picks among clusters; a route to a peer has no clusters to pick from",
                        );
                    }
                }
            },
        }

        if let Some(by) = &route.by_directory_attribute {
            if !targets.directories.iter().any(|d| d.name == by.directory) {
                problems.report(
                    &at("by_directory_attribute.directory"),
                    format!("no directory named `{}` in `directories`", by.directory),
                );
            }
            if by.attribute.trim().is_empty() {
                problems.report(&at("by_directory_attribute.attribute"), "must not be empty");
            }
            if by.clusters.is_empty() {
                problems.report(
                    &at("by_directory_attribute.clusters"),
                    "map at least one attribute value to a cluster",
                );
            }
            for (value, cluster) in &by.clusters {
                if !cluster_names.contains(&cluster.as_str()) {
                    problems.report(
                        &at(&format!("by_directory_attribute.clusters.{value}")),
                        unknown("cluster", cluster, &cluster_names),
                    );
                }
            }
        }
    }
}

/// Partners verify Legate's certificate as Legate verifies theirs (RFC 5922): a route to a peer
/// needs a certificate to present, a TLS listener's or the peer's own `client_certificate`.
fn nothing_to_present(peer: usize, targets: &Targets<'_>) -> Option<String> {
    let has_tls_listener = targets
        .listeners
        .iter()
        .any(|l| l.transport == Transport::Tls && l.tls.is_some());
    let config = targets.peers.get(peer)?;
    (!has_tls_listener && config.client_certificate.is_none()).then(|| {
        format!(
            "peer `{}` is reached over TLS with Legate's domain certificate, and there is none: \
             add a `tls` listener (its certificate is presented) or set \
             `peers[{peer}].client_certificate`",
            config.name
        )
    })
}

/// "unknown cluster `x`", with a likely intended name or the list of known ones.
fn unknown(kind: &str, name: &str, known: &[&str]) -> String {
    if known.is_empty() {
        return format!("unknown {kind} `{name}`: no {kind}s are defined");
    }
    match closest(name, known) {
        Some(candidate) => format!("unknown {kind} `{name}` (did you mean `{candidate}`?)"),
        None => {
            let listed: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "unknown {kind} `{name}`, expected one of {}",
                listed.join(", ")
            )
        }
    }
}
