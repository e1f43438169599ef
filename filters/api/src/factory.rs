//! The filter factory: parses typed config once and stamps the filter over the rest of the chain.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{BoxSipService, FilterConfigError, ListenerInfo, Metrics};

/// Wraps the rest of the chain (`inner`) in one filter instance. Built once per snapshot and
/// listener; the result is shared by every dialog that runs under that snapshot.
pub type FilterLayer = Arc<dyn Fn(BoxSipService) -> BoxSipService + Send + Sync>;

/// What a factory may look at while building: the listener the chain belongs to, the resources
/// of the snapshot by type (the [`Directories`](crate::Directories), the
/// [`Peers`](crate::Peers), the [`ConfigFolder`]), and the process's [`Metrics`].
#[derive(Clone)]
pub struct BuildContext {
    pub listener: ListenerInfo,
    pub resources: http::Extensions,
    pub metrics: Metrics,
}

impl BuildContext {
    /// The context for building `listener`'s chain, with no resources and metrics of its own.
    pub fn new(listener: ListenerInfo) -> BuildContext {
        BuildContext {
            listener,
            resources: http::Extensions::new(),
            metrics: Metrics::new(),
        }
    }

    /// The same with `resource` among the resources.
    pub fn with<T: Clone + Send + Sync + 'static>(mut self, resource: T) -> BuildContext {
        self.resources.insert(resource);
        self
    }
}

/// The folder of the configuration file, a resource for filters whose config names files: a
/// relative path is taken from it, so a config and its files move together. Absent for built-in
/// configs, where paths are used as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFolder(pub PathBuf);

impl ConfigFolder {
    /// The folder of the configuration file named `origin`; none for built-in texts
    /// (`<embedded quickstart>`), whose paths are used as written.
    pub fn of_config(origin: &str) -> Option<ConfigFolder> {
        if origin.starts_with('<') {
            return None;
        }
        Path::new(origin)
            .parent()
            .map(|folder| ConfigFolder(folder.to_path_buf()))
    }

    /// `file` taken from the folder of the configuration file named `origin`.
    pub fn beside(origin: &str, file: &Path) -> PathBuf {
        match ConfigFolder::of_config(origin) {
            Some(folder) => folder.resolve(file),
            None => file.to_path_buf(),
        }
    }

    pub fn resolve(&self, file: &Path) -> PathBuf {
        if file.is_absolute() {
            file.to_path_buf()
        } else {
            self.0.join(file)
        }
    }
}

/// Makes one kind of filter. Implementations are registered by name in the [`crate::Registry`].
pub trait FilterFactory: Send + Sync + 'static {
    /// `<vendor>.filters.sip.<name>` (`legate.` is Legate's own). Names are API: never rename,
    /// add an alias instead.
    fn name(&self) -> &'static str;

    /// Older names that still select this filter.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether this filter may face untrusted (federated) peers without an authenticator in
    /// front of it.
    fn safe_for_untrusted(&self) -> bool;

    /// Whether this filter proves who an external peer is: it refuses what it cannot
    /// authenticate and attaches [`Authenticated`](crate::Authenticated) to what it passes. On
    /// an external listener, filters not [safe for untrusted peers](Self::safe_for_untrusted)
    /// must come after one.
    fn authenticates_peers(&self) -> bool {
        false
    }

    /// How settled the filter's name, config and behaviour are. New filters start experimental;
    /// a filter declares itself stable once its config is a promise.
    fn status(&self) -> FilterStatus {
        FilterStatus::Experimental
    }

    /// Parses and validates the filter's config (`null` when the config block is absent) and
    /// returns the layer. Errors name the offending field relative to the config block.
    fn build(
        &self,
        config: &serde_yaml::Value,
        context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError>;
}

/// How settled a filter is, as shown by `legate filters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterStatus {
    /// Name, config and behaviour change only compatibly (new optional fields, aliases).
    Stable,
    /// May still change between releases.
    Experimental,
}

impl FilterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterStatus::Stable => "stable",
            FilterStatus::Experimental => "experimental",
        }
    }
}

impl std::fmt::Display for FilterStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
