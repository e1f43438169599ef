//! `legate-dlp`: Legate with the example filters. Everything else (`run`, `validate`,
//! `filters`, the built-in filters) is the stock binary's.

use std::process::ExitCode;

/// Legate's allocator, which gives memory back after a flood.
#[global_allocator]
static ALLOCATOR: legate::Allocator = legate::Allocator;

fn main() -> ExitCode {
    let mut gateway = legate::Gateway::new();
    for factory in legate_dlp_filter::factories() {
        gateway = gateway.with_filter(factory);
    }
    gateway.run()
}
