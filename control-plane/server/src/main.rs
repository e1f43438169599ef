//! The `legate-control-plane` binary: the stock control plane, checking configs with the
//! built-in filters.

use std::process::ExitCode;

fn main() -> ExitCode {
    legate_control_plane::ControlPlaneBinary::new().run()
}
