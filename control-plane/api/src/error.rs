//! [`ConfigError`]: a configuration problem, located in the file it came from.

use std::fmt;

/// A configuration problem a user can act on: which file, where in it, which field, and what
/// is wrong.
///
/// Displays as `origin:line:column: field.path: message`, leaving out the parts that are not
/// known, so editors and terminals can jump straight to the spot.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{}", Located(self))]
pub struct ConfigError {
    /// The file path, or a name like `<embedded quickstart>`.
    pub origin: String,
    /// 1-based line, when the position is known.
    pub line: Option<usize>,
    /// 1-based column, when the position is known.
    pub column: Option<usize>,
    /// Dotted path of the field, e.g. `listeners[0].transport`; empty for the whole file.
    pub field_path: String,
    /// What is wrong, and where useful what was expected.
    pub message: String,
}

impl ConfigError {
    /// An error about the file as a whole (unreadable, empty, ...).
    pub fn whole_file(origin: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: origin.to_owned(),
            line: None,
            column: None,
            field_path: String::new(),
            message: message.into(),
        }
    }
}

/// Renders the error without allocating the prefix separately.
struct Located<'a>(&'a ConfigError);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        if !e.origin.is_empty() {
            write!(f, "{}:", e.origin)?;
            if let Some(line) = e.line {
                write!(f, "{line}:")?;
                if let Some(column) = e.column {
                    write!(f, "{column}:")?;
                }
            }
            f.write_str(" ")?;
        }
        if !e.field_path.is_empty() {
            write!(f, "{}: ", e.field_path)?;
        }
        f.write_str(&e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: Option<usize>, column: Option<usize>, path: &str) -> ConfigError {
        ConfigError {
            origin: "legate.yaml".into(),
            line,
            column,
            field_path: path.into(),
            message: "bad".into(),
        }
    }

    #[test]
    fn display_includes_every_known_part() {
        assert_eq!(
            error(Some(3), Some(7), "listeners[0].transport").to_string(),
            "legate.yaml:3:7: listeners[0].transport: bad"
        );
    }

    #[test]
    fn display_omits_unknown_parts() {
        assert_eq!(
            error(Some(3), None, "admin").to_string(),
            "legate.yaml:3: admin: bad"
        );
        assert_eq!(
            error(None, None, "admin").to_string(),
            "legate.yaml: admin: bad"
        );
        assert_eq!(error(None, None, "").to_string(), "legate.yaml: bad");
        // A column without a line means nothing to a reader, so it is not shown.
        assert_eq!(error(None, Some(4), "").to_string(), "legate.yaml: bad");
    }
}
