//! Semantic checks: what the schema alone cannot express (unique names, references between
//! sections, values that only make sense together).
//!
//! Every problem is reported with its field path and the line and column where that field is
//! written. All checks run, and [`validate`] reports the problem that comes first in the file,
//! so fixing errors top to bottom works; [`validate_all`] returns every problem at once.

mod admin;
mod audit;
mod clusters;
mod directories;
mod dns;
mod domain;
mod ldap_directory;
mod listeners;
mod peers;
mod proxy;
mod routes;
mod telemetry;

use std::time::Duration;

use crate::error::ConfigError;
use crate::source::{LoadedConfig, Source};

pub use domain::check_domain_pattern;

/// Checks a parsed configuration; the error is the first problem in file order.
pub fn validate(loaded: &LoadedConfig) -> Result<(), ConfigError> {
    match validate_all(loaded).into_iter().next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Every problem in a parsed configuration, in file order (problems without a position last).
pub fn validate_all(loaded: &LoadedConfig) -> Vec<ConfigError> {
    let mut problems = Problems {
        source: &loaded.source,
        found: Vec::new(),
    };
    let config = &loaded.config;
    admin::check(&config.admin, &mut problems);
    proxy::check(&config.proxy, &mut problems);
    listeners::check(&config.listeners, &mut problems);
    clusters::check(&config.clusters, &mut problems);
    let targets = routes::Targets {
        clusters: &config.clusters,
        peers: &config.peers,
        directories: &config.directories,
        listeners: &config.listeners,
    };
    routes::check(&config.routes, &targets, &mut problems);
    directories::check(&config.directories, &mut problems);
    peers::check(&config.peers, &mut problems);
    dns::check(&config.dns, &mut problems);
    if let Some(audit) = &config.audit {
        audit::check(audit, &mut problems);
    }
    telemetry::check(&config.telemetry, &mut problems);

    let mut found = problems.found;
    // Stable, so problems at the same spot keep the order the checks found them in.
    found.sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column.unwrap_or(usize::MAX)));
    found
}

/// Collects problems, locating each in the source text.
struct Problems<'s> {
    source: &'s Source,
    found: Vec<ConfigError>,
}

impl Problems<'_> {
    fn report(&mut self, field_path: &str, message: impl Into<String>) {
        self.found.push(self.source.error(field_path, message));
    }
}

/// Durations as the user writes them (`500ms`, `4s`).
fn human(duration: Duration) -> String {
    humantime_serde::re::humantime::format_duration(duration).to_string()
}
