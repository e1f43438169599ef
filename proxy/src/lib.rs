//! Legate, the federation gateway for instant messaging and presence, as a library: everything
//! the `legate` binary does, behind one entry point, so a custom binary can add its own filters.
//!
//! A custom binary registers its filter factories and hands over to Legate's command line; the
//! filters are then usable in config by name like the built-ins (`legate validate` included),
//! and `filters` lists them with the rest:
//!
//! ```no_run
//! use std::process::ExitCode;
//! use std::sync::Arc;
//!
//! # mod my_filters {
//! #     use legate_filters_api::{BuildContext, FilterConfigError, FilterFactory, FilterLayer};
//! #     pub struct Factory;
//! #     impl FilterFactory for Factory {
//! #         fn name(&self) -> &'static str { "legate.filters.sip.mine" }
//! #         fn safe_for_untrusted(&self) -> bool { true }
//! #         fn build(&self, _: &serde_yaml::Value, _: &BuildContext)
//! #             -> Result<FilterLayer, FilterConfigError> {
//! #             Ok(std::sync::Arc::new(|inner| inner))
//! #         }
//! #     }
//! # }
//! fn main() -> ExitCode {
//!     legate::Gateway::new()
//!         .with_filter(Arc::new(my_filters::Factory))
//!         .run()
//! }
//! ```
//!
//! `examples/dlp-filter` in the repository is a complete one; `filters/api/README.md` is the guide to
//! writing filters.

#![forbid(unsafe_code)]

mod audit;
mod audit_cli;
mod cli;
mod commands;
mod control;
mod core;
mod dialogs;
mod discovery;
mod engine;
mod filter_metrics;
mod filter_table;
#[doc(hidden)]
pub mod fuzzing;
mod gateway;
mod lifecycle;
mod router;
mod server;
mod snapshot;
mod sources;
mod start;
mod telemetry;
mod transport;
mod workers;

pub use gateway::Gateway;

/// The allocator the stock binary runs on: jemalloc, whose background threads give freed
/// memory back to the system (after a flood, say; glibc's allocator kept it). A custom binary
/// opts in the same way:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: legate::Allocator = legate::Allocator;
/// ```
pub use tikv_jemallocator::Jemalloc as Allocator;
