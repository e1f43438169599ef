//! [`Source`] and [`LoadedConfig`]: a parsed config together with the text it came from, so
//! checks made after parsing can still report `file:line:column`.

use std::fmt;

use crate::config::Config;
use crate::error::ConfigError;
use crate::locate::locate;

/// The text a configuration was read from.
///
/// `Debug` shows the origin and the text's size only: the text may hold inline secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    /// The file path, or a name like `<embedded quickstart>` for built-in texts.
    pub origin: String,
    /// The YAML text.
    pub text: String,
}

impl Source {
    /// A source named `origin` holding `text`.
    pub fn new(origin: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            origin: origin.into(),
            text: text.into(),
        }
    }

    /// An error about `field_path` (e.g. `listeners[0].filters[1].config.rules[0]`), placed at
    /// the line and column where that field is written.
    ///
    /// When the path only partly exists in the text (a default that was never written, or a
    /// path into a filter config the text does not contain), the error points at the deepest
    /// part that does exist.
    pub fn error(&self, field_path: &str, message: impl Into<String>) -> ConfigError {
        let position = locate(&self.text, field_path);
        ConfigError {
            origin: self.origin.clone(),
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            field_path: field_path.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("origin", &self.origin)
            .field("text_bytes", &self.text.len())
            .finish()
    }
}

/// A parsed and validated configuration with the source it came from.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// The typed configuration.
    pub config: Config,
    /// Where it came from, for locating errors found later.
    pub source: Source,
}

impl LoadedConfig {
    /// Resolves the clusters' endpoint names (see [`crate::Endpoint`]); a proxy does this when
    /// it loads a configuration, before it uses it. The error names the endpoint.
    pub fn resolve_endpoint_names(&mut self) -> Result<(), ConfigError> {
        for (i, cluster) in self.config.clusters.iter_mut().enumerate() {
            for (k, endpoint) in cluster.endpoints.iter_mut().enumerate() {
                endpoint.resolve().map_err(|message| {
                    self.source
                        .error(&format!("clusters[{i}].endpoints[{k}]"), message)
                })?;
            }
        }
        Ok(())
    }
}
