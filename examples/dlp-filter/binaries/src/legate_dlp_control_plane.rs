//! `legate-dlp-control-plane`: Legate's control plane checking configs with the example filters
//! too, so a config naming them is pushed like any other.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut plane = legate_control_plane::ControlPlaneBinary::new();
    for factory in legate_dlp_filter::factories() {
        plane = plane.with_filter(factory);
    }
    plane.run()
}
