//! Entry points that turn a file or a text into a validated [`LoadedConfig`].

use std::path::Path;

use crate::config::Config;
use crate::error::ConfigError;
use crate::source::{LoadedConfig, Source};
use crate::validate::validate;
use crate::yaml_error::from_yaml_error;

/// Reads, parses and validates the configuration file at `path`.
///
/// An unreadable file is reported as an error naming the file and the reason.
pub fn load_file(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigError::whole_file(
            &origin,
            format!("cannot read the configuration file: {error}"),
        )
    })?;
    load_str(&text, &origin)
}

/// Parses and validates a configuration text; `origin` names it in errors (a file path, or
/// something like `<embedded quickstart>`).
pub fn load_str(text: &str, origin: &str) -> Result<LoadedConfig, ConfigError> {
    let source = Source::new(origin, text);
    let config: Config =
        serde_yaml::from_str(text).map_err(|error| from_yaml_error(&source, &error))?;
    let loaded = LoadedConfig { config, source };
    validate(&loaded)?;
    Ok(loaded)
}
