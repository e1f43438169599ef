//! `legate-control-plane`: keeps the Legate configuration files, checks every change the way a
//! proxy would, and pushes accepted ones to the proxies as versioned snapshots over the
//! protocol of [`legate_api::push`], recording their ACKs and NACKs.
//!
//! - [`config_dir`] reads the source of truth: `legate.yaml` and `nodes/<node-id>.yaml`.
//!   for the proxy's router).
//! - [`history`] turns accepted files into versions; [`plane`] holds them and the nodes;
//!   [`watcher`] notices changes; [`api`] serves the protocol; [`status_client`] is the
//!   `status` command.

#![forbid(unsafe_code)]

pub mod api;
pub mod check;
mod command;
pub mod config_dir;
pub mod history;
pub mod nodes;
pub mod plane;
pub mod status_client;
pub mod watcher;

pub use command::ControlPlaneBinary;
pub use plane::{ControlPlane, Errors};
