//! Watches the configuration directory by reading it every [`PERIOD`]: simpler than file
//! notifications and dependable on ConfigMap mounts, whose files change by a symlink swap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use legate_api::ConfigError;

use crate::config_dir::{self, DirFiles};
use crate::plane::ControlPlane;

pub const PERIOD: Duration = Duration::from_millis(250);

/// Reads `dir` now and hands the result to `plane`; returns what was read, for [`watch`].
pub async fn load(dir: PathBuf, plane: Arc<ControlPlane>) -> Option<Result<DirFiles, ConfigError>> {
    let loaded = tokio::task::spawn_blocking(move || {
        let read = config_dir::read(&dir);
        plane.apply(read.clone());
        read
    })
    .await;
    match loaded {
        Ok(read) => Some(read),
        Err(error) => {
            tracing::error!(%error, "checking the configuration failed");
            None
        }
    }
}

/// Checks `dir` again whenever its files differ from the last reading. `last` is the reading
/// [`load`] made at start.
pub async fn watch(
    dir: PathBuf,
    plane: Arc<ControlPlane>,
    mut last: Option<Result<DirFiles, ConfigError>>,
) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let reading_dir = dir.clone();
        let read = tokio::task::spawn_blocking(move || config_dir::read(&reading_dir)).await;
        let Ok(read) = read else {
            continue;
        };
        // Unchanged files were already checked; a refusal is not logged again every tick.
        if last.as_ref() == Some(&read) {
            continue;
        }
        let checking = plane.clone();
        let applied = tokio::task::spawn_blocking(move || {
            checking.apply(read.clone());
            read
        })
        .await;
        last = applied.ok();
    }
}
