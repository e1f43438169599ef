//! `legate-dlp`: Legate with the DLP filter. Everything else (`run`, `validate`, `filters`, the
//! built-in filters) is the stock binary's.

use std::process::ExitCode;
use std::sync::Arc;

/// Legate's allocator, which gives memory back after a flood.
#[global_allocator]
static ALLOCATOR: legate::Allocator = legate::Allocator;

fn main() -> ExitCode {
    legate::Gateway::new()
        .with_filter(Arc::new(legate_dlp_filter::DlpFactory))
        .run()
}
