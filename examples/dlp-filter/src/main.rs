//! `legate-dlp`: Legate with the DLP filter. Everything else (`run`, `validate`, `filters`, the
//! built-in filters) is the stock binary's.

use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    legate::Gateway::new()
        .with_filter(Arc::new(legate_dlp_filter::DlpFactory))
        .run()
}
