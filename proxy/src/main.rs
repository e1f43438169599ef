//! `legate`: the stock gateway, with the built-in filters.

#![forbid(unsafe_code)]

use std::process::ExitCode;

/// jemalloc, with its background threads purging freed pages: memory comes back to the system
/// after a flood. With glibc's allocator, and with mimalloc, 1.2 to 1.3 GB stayed resident
/// once a flood's transactions had all expired (`examples/bench/flood.sh`).
#[global_allocator]
static ALLOCATOR: legate::Allocator = legate::Allocator;

fn main() -> ExitCode {
    legate::Gateway::new().run()
}
