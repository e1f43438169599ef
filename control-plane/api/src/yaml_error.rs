//! Turns a serde_yaml error into a [`ConfigError`] with separate position, field path and
//! message, adding "did you mean" hints for misspelt names.
//!
//! serde_yaml 0.9 folds the path and the position into its message text
//! (`listeners[0].transport: unknown variant ... at line 4 column 16`) and exposes only the
//! position as data, so the path is split back out of the text here.

use crate::error::ConfigError;
use crate::source::Source;
use crate::suggest::closest;

pub(crate) fn from_yaml_error(source: &Source, error: &serde_yaml::Error) -> ConfigError {
    let location = error.location();
    let mut text = error.to_string();
    if let Some(location) = &location {
        let suffix = format!(" at line {} column {}", location.line(), location.column());
        text = text.replacen(&suffix, "", 1);
    }
    text = remove_position_offset(&text);

    let (path, message) = split_path(&text);
    if message.starts_with("EOF while parsing") || is_empty_document(source, &path, &message) {
        return ConfigError::whole_file(
            &source.origin,
            "the configuration is empty: it needs at least a `listeners` list",
        );
    }
    let (path, message) = explain(path, message);

    match location {
        Some(location) => ConfigError {
            origin: source.origin.clone(),
            line: Some(location.line()),
            column: Some(location.column()),
            field_path: path,
            message,
        },
        None if !path.is_empty() => source.error(&path, message),
        None => ConfigError::whole_file(&source.origin, message),
    }
}

/// serde_yaml reads a document with no content as an empty mapping, which would surface as
/// "missing field `listeners`" at line 1; say what actually happened instead.
fn is_empty_document(source: &Source, path: &str, message: &str) -> bool {
    path.is_empty()
        && message.starts_with("missing field `listeners`")
        && matches!(
            serde_yaml::from_str::<serde_yaml::Value>(&source.text),
            Ok(serde_yaml::Value::Null)
        )
}

/// Drops libyaml's ` at position N`, shown when it has a byte offset but no line.
fn remove_position_offset(text: &str) -> String {
    const MARK: &str = " at position ";
    if let Some(start) = text.find(MARK) {
        let digits_start = start + MARK.len();
        let digits = text[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits > 0 {
            let mut out = text[..start].to_owned();
            out.push_str(&text[digits_start + digits..]);
            return out;
        }
    }
    text.to_owned()
}

/// Splits `listeners[0].transport: message` into its path and message. Schema paths are made
/// of field names, indices and dots only, which is what tells a path apart from a message
/// that merely contains a colon.
fn split_path(text: &str) -> (String, String) {
    if let Some((head, tail)) = text.split_once(": ") {
        let is_path = !head.is_empty()
            && head.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']' | '?')
            });
        if is_path {
            let path = if head == "." { "" } else { head };
            return (path.to_owned(), tail.to_owned());
        }
    }
    (String::new(), text.to_owned())
}

/// Makes serde's wording point at what the user wrote: an unknown field's path includes the
/// field, likely typos get a suggestion, and Rust type names become YAML terms.
fn explain(path: String, message: String) -> (String, String) {
    if let Some(name) = backticked_after(&message, "unknown field `") {
        let field_path = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        let message = with_suggestion(&message, name);
        return (field_path, message);
    }
    if let Some(name) = backticked_after(&message, "unknown variant `") {
        let message = with_suggestion(&message, name);
        return (path, message);
    }
    (path, with_hint(&plain_type_names(&message)))
}

/// Adds what a valid value looks like where serde's wording alone leaves the user guessing.
fn with_hint(message: &str) -> String {
    let hint = if message.ends_with("expected a duration") {
        ", such as `500ms`, `30s` or `12h`"
    } else if message == "invalid socket address syntax" {
        ": expected `ip:port`, such as `127.0.0.1:5060` or `[::1]:5060`"
    } else if message.starts_with("did not find expected key") {
        " (check the indentation)"
    } else {
        ""
    };
    let message = ["usize", "u32", "u64", "u16"]
        .iter()
        .fold(message.to_owned(), |m, ty| {
            m.replace(
                &format!("expected {ty}"),
                "expected a whole number, 0 or more",
            )
        });
    format!("{message}{hint}")
}

/// The text between `prefix` (which ends in a backtick) and the next backtick.
fn backticked_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    let end = rest.find('`')?;
    Some(&rest[..end])
}

fn with_suggestion(message: &str, name: &str) -> String {
    let expected: Vec<&str> = match message.split_once("expected") {
        Some((_, list)) => list.split('`').skip(1).step_by(2).collect(),
        None => Vec::new(),
    };
    match closest(name, &expected) {
        Some(candidate) => format!("{message} (did you mean `{candidate}`?)"),
        None => message.to_owned(),
    }
}

/// `expected struct ListenerConfig` says nothing to someone writing YAML.
fn plain_type_names(message: &str) -> String {
    const MARK: &str = "expected struct ";
    let Some(start) = message.find(MARK) else {
        return message.to_owned();
    };
    let name_start = start + MARK.len();
    let name_len = message[name_start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .count();
    format!(
        "{}expected a mapping{}",
        &message[..start],
        &message[name_start + name_len..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths_from_messages() {
        assert_eq!(
            split_path("listeners[0].transport: unknown variant `x`"),
            (
                "listeners[0].transport".into(),
                "unknown variant `x`".into()
            )
        );
        assert_eq!(
            split_path("did not find expected key: here"),
            (String::new(), "did not find expected key: here".into())
        );
        assert_eq!(split_path(".: x"), (String::new(), "x".into()));
    }

    #[test]
    fn unknown_fields_join_the_path_and_suggest() {
        let (path, message) = explain(
            "admin".into(),
            "unknown field `adress`, expected `address` or `token_file`".into(),
        );
        assert_eq!(path, "admin.adress");
        assert_eq!(
            message,
            "unknown field `adress`, expected `address` or `token_file` (did you mean `address`?)"
        );
    }

    #[test]
    fn struct_names_become_yaml_terms() {
        assert_eq!(
            plain_type_names("invalid type: string \"x\", expected struct ListenerConfig"),
            "invalid type: string \"x\", expected a mapping"
        );
    }

    #[test]
    fn hints_show_valid_values() {
        assert_eq!(
            with_hint("invalid value: string \"30\", expected a duration"),
            "invalid value: string \"30\", expected a duration, such as `500ms`, `30s` or `12h`"
        );
        assert_eq!(
            with_hint("invalid type: integer `-1`, expected usize"),
            "invalid type: integer `-1`, expected a whole number, 0 or more"
        );
    }

    #[test]
    fn position_offsets_are_removed() {
        assert_eq!(
            remove_position_offset("bad at position 12, more"),
            "bad, more"
        );
        assert_eq!(remove_position_offset("at position x"), "at position x");
    }
}
