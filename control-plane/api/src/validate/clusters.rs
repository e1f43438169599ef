//! Checks for the `clusters` section: names, endpoints, TLS settings and health checks.

use std::collections::HashMap;

use super::domain::check_domain_pattern;
use super::{human, Problems};
use crate::config::{ClusterConfig, Endpoint, HealthCheckConfig, Transport};

pub(super) fn check(clusters: &[ClusterConfig], problems: &mut Problems<'_>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, cluster) in clusters.iter().enumerate() {
        let at = |field: &str| format!("clusters[{i}].{field}");

        if cluster.name.trim().is_empty() {
            problems.report(&at("name"), "must not be empty");
        } else if let Some(&first) = names.get(cluster.name.as_str()) {
            problems.report(
                &at("name"),
                format!(
                    "cluster name `{}` is already used by clusters[{first}]",
                    cluster.name
                ),
            );
        } else {
            names.insert(&cluster.name, i);
        }

        if cluster.endpoints.is_empty() {
            problems.report(
                &at("endpoints"),
                "a cluster needs at least one endpoint to send requests to",
            );
        }
        for (k, endpoint) in cluster.endpoints.iter().enumerate() {
            let path = format!("clusters[{i}].endpoints[{k}]");
            if let Err(problem) = check_endpoint(endpoint) {
                problems.report(&path, problem);
            } else if let Some(first) = cluster.endpoints[..k].iter().position(|e| e == endpoint) {
                problems.report(
                    &path,
                    format!("{endpoint} is already listed as endpoints[{first}]"),
                );
            }
        }

        if cluster.transport != Transport::Tls {
            for (field, set) in [
                ("tls_server_name", cluster.tls_server_name.is_some()),
                ("tls_ca", cluster.tls_ca.is_some()),
            ] {
                if set {
                    problems.report(
                        &at(field),
                        format!(
                            "only applies to `tls` clusters; this cluster's transport is `{}`",
                            cluster.transport
                        ),
                    );
                }
            }
        }
        if cluster
            .tls_server_name
            .as_deref()
            .is_some_and(str::is_empty)
        {
            problems.report(&at("tls_server_name"), "must not be empty");
        }

        if let Some(health) = &cluster.health_check {
            check_health(i, health, problems);
        }
    }
}

fn check_health(i: usize, health: &HealthCheckConfig, problems: &mut Problems<'_>) {
    let at = |field: &str| format!("clusters[{i}].health_check.{field}");
    if health.interval.is_zero() {
        problems.report(&at("interval"), "must be greater than zero");
    }
    if health.timeout.is_zero() {
        problems.report(&at("timeout"), "must be greater than zero");
    } else if health.timeout >= health.interval && !health.interval.is_zero() {
        problems.report(
            &at("timeout"),
            format!(
                "{} must be shorter than the interval ({}), or probes would overlap",
                human(health.timeout),
                human(health.interval)
            ),
        );
    }
    for (field, value) in [
        ("unhealthy_threshold", health.unhealthy_threshold),
        ("healthy_threshold", health.healthy_threshold),
    ] {
        if value == 0 {
            problems.report(&at(field), "must be at least 1");
        }
    }
}

/// An endpoint requests can be sent to: a real address and port, or a host name and port.
fn check_endpoint(endpoint: &Endpoint) -> Result<(), String> {
    let unusable =
        || format!("{endpoint} cannot be sent to; give the endpoint's real address and port");
    match endpoint {
        Endpoint::Address(address) if address.port() == 0 || address.ip().is_unspecified() => {
            Err(unusable())
        }
        Endpoint::Address(_) => Ok(()),
        Endpoint::Name { port: 0, .. } => Err(unusable()),
        Endpoint::Name { host, .. } if host == "*" || host.starts_with("*.") => Err(format!(
            "`{host}` is not a host name: an endpoint names one host (or an address)"
        )),
        Endpoint::Name { host, .. } => check_domain_pattern(host),
    }
}
