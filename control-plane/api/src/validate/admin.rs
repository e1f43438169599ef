//! Checks for the `admin` section.

use super::Problems;
use crate::config::AdminConfig;

pub(super) fn check(admin: &AdminConfig, problems: &mut Problems<'_>) {
    match &admin.token_file {
        None if !admin.address.ip().is_loopback() => problems.report(
            "admin.address",
            format!(
                "the admin API on {} is reachable from other hosts, so `admin.token_file` must be \
                 set (or bind the admin API to 127.0.0.1)",
                admin.address
            ),
        ),
        Some(path) if path.as_os_str().is_empty() => {
            problems.report("admin.token_file", "must not be empty")
        }
        _ => {}
    }
}
