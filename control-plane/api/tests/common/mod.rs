//! What the configuration error tests share: a minimal valid listener and cluster, and the
//! assertion that an error names the right field, line and advice.

#![allow(dead_code)]

use legate_api::{load_str, ConfigError};

pub const LISTENER: &str = "\
listeners:
  - name: internal
    address: 127.0.0.1:5060
    transport: udp
    side: internal
";

pub fn error(text: &str) -> ConfigError {
    match load_str(text, "legate.yaml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error,
    }
}

/// 1-based line of the first line containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    match text.lines().position(|line| line.contains(needle)) {
        Some(index) => index + 1,
        None => panic!("`{needle}` is not in the text"),
    }
}

/// Asserts the error's path, that it points at the line containing `needle`, and that its
/// message mentions `says`.
#[track_caller]
pub fn assert_error(text: &str, path: &str, needle: &str, says: &str) {
    let error = error(text);
    assert_eq!(error.field_path, path, "{error}");
    assert_eq!(error.line, Some(line_of(text, needle)), "{error}");
    assert!(error.column.is_some(), "{error}");
    assert!(error.message.contains(says), "`{says}` not in: {error}");
    assert_eq!(error.origin, "legate.yaml");
}

pub const CLUSTER: &str = "\
clusters:
  - name: remote-peer
    transport: udp
    endpoints: [127.0.0.1:5070]
";
