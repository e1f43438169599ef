//! The proxy's side of the push protocol ([`legate_api::push`]): it long-polls the control
//! plane for configuration snapshots, builds each one off the hot path, swaps it in (or refuses
//! it, keeping the running one), answers with an ACK or a NACK, and keeps the last good snapshot
//! on disk so a restart without the control plane still has a configuration.
//!
//! `commands` calls [`boot_config`] before binding; `server` spawns [`poll_loop::run`] once the
//! engine serves.

mod apply;
mod boot;
mod client;
mod live_rules;
mod metrics;
pub mod poll_loop;
mod state_file;

pub use apply::Applier;
pub use boot::boot_config;
pub use client::ControlPlane;
pub use metrics::ConfigMetrics;

use std::path::PathBuf;

/// What `legate run --control-plane` was told.
#[derive(Clone)]
pub struct Settings {
    pub control_plane: ControlPlane,
    pub node: String,
    pub state_dir: PathBuf,
}
