//! The configuration a proxy under a control plane starts on, before it binds anything: the
//! last good snapshot from the state directory, else the `--config` file, else the first
//! snapshot the control plane sends (waited for).

use std::path::Path;

use anyhow::Result;
use legate_api::push::SnapshotPush;
use legate_api::LoadedConfig;

use super::poll_loop::{send_ack, verdict_ack, Backoff, Link};
use super::{state_file, Settings};
use crate::snapshot::Snapshot;

pub struct BootConfig {
    pub loaded: LoadedConfig,
    /// The version to report and poll from: 0 when the config did not come from the control
    /// plane, so any snapshot it holds replaces it.
    pub version: u64,
}

pub fn boot_config(settings: &Settings, config_file: Option<&Path>) -> Result<BootConfig> {
    let state_dir = &settings.state_dir;
    match state_file::load(state_dir) {
        Ok(Some(push)) => match legate_api::load_str(&push.yaml, &push.origin) {
            Ok(loaded) => {
                tracing::info!(version = push.version, file = %state_file::path(state_dir).display(), "starting on the last good snapshot");
                return Ok(BootConfig {
                    loaded,
                    version: push.version,
                });
            }
            Err(error) => tracing::warn!(%error, "the saved snapshot is no longer valid"),
        },
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "the saved snapshot is unusable"),
    }
    if let Some(file) = config_file {
        let loaded = legate_api::load_file(file)?;
        tracing::info!(file = %file.display(), "no saved snapshot: starting on the config file until the control plane sends one");
        return Ok(BootConfig { loaded, version: 0 });
    }
    tracing::info!(control_plane = ?settings.control_plane, "no saved snapshot and no config file: waiting for the first snapshot from the control plane");
    first_snapshot(settings)
}

/// Polls until the control plane sends a snapshot that builds; NACKs those that do not.
fn first_snapshot(settings: &Settings) -> Result<BootConfig> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut version = 0;
    let mut backoff = Backoff::new();
    let mut link = Link::Unknown;
    loop {
        let answer = runtime.block_on(settings.control_plane.poll(&settings.node, version));
        match answer {
            Ok(Some(push)) => {
                link.up(&settings.control_plane);
                backoff.reset();
                version = push.version;
                let verdict = check(&push);
                let accepted = verdict.as_ref().map(|_| ()).map_err(Clone::clone);
                let ack = verdict_ack(&settings.node, push.version, accepted);
                if let Err(error) = &verdict {
                    tracing::warn!(version, %error, "first snapshot refused, waiting for another");
                } else if let Err(error) = state_file::save(&settings.state_dir, &push) {
                    tracing::warn!(%error, "cannot keep the snapshot on disk");
                }
                runtime.block_on(send_ack(&settings.control_plane, &ack));
                if let Ok(loaded) = verdict {
                    return Ok(BootConfig { loaded, version });
                }
            }
            Ok(None) => link.up(&settings.control_plane),
            Err(error) => {
                link.down(&settings.control_plane, &error);
                std::thread::sleep(backoff.next_wait());
            }
        }
    }
}

/// Everything `legate validate` checks, on the pushed text.
fn check(push: &SnapshotPush) -> Result<LoadedConfig, String> {
    if crate::snapshot::hash_of(&push.yaml) != push.hash {
        return Err(format!(
            "{}: the configuration does not match its hash",
            push.origin
        ));
    }
    let loaded = legate_api::load_str(&push.yaml, &push.origin).map_err(|e| e.to_string())?;
    let audit = crate::audit::build(&loaded).map_err(|e| e.to_string())?;
    let probe = loaded.clone();
    Snapshot::build(probe, push.version, None, audit.as_ref()).map_err(|e| e.to_string())?;
    Ok(loaded)
}
