//! `legate`: the stock gateway, with the built-in filters.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    legate::Gateway::new().run()
}
