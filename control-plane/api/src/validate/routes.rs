//! Checks for the `routes` section: names, domain patterns and cluster references.

use std::collections::HashMap;

use super::domain::check_domain_pattern;
use super::Problems;
use crate::config::{ClusterConfig, DirectoryConfig, RouteConfig};
use crate::suggest::closest;

pub(super) fn check(
    routes: &[RouteConfig],
    clusters: &[ClusterConfig],
    directories: &[DirectoryConfig],
    problems: &mut Problems<'_>,
) {
    let cluster_names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
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

        if !cluster_names.contains(&route.cluster.as_str()) {
            problems.report(
                &at("cluster"),
                unknown_cluster(&route.cluster, &cluster_names),
            );
        }

        if let Some(by) = &route.by_directory_attribute {
            if !directories.iter().any(|d| d.name == by.directory) {
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
                        unknown_cluster(cluster, &cluster_names),
                    );
                }
            }
        }
    }
}

fn unknown_cluster(name: &str, known: &[&str]) -> String {
    if known.is_empty() {
        return format!("unknown cluster `{name}`: no clusters are defined");
    }
    match closest(name, known) {
        Some(candidate) => format!("unknown cluster `{name}` (did you mean `{candidate}`?)"),
        None => {
            let listed: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "unknown cluster `{name}`, expected one of {}",
                listed.join(", ")
            )
        }
    }
}
