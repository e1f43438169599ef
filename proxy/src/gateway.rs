//! The entry point of a `legate` binary: the stock one, or a custom one that adds its own filters
//! and hands over to Legate's command line.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use legate_filters_api::{FilterFactory, Registry, RegistryError};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, LogFormat};
use crate::snapshot::install_registry;

/// A Legate binary in the making: the built-in filters, the router, and the filters added with
/// [`Gateway::with_filter`]. [`Gateway::run`] parses the command line and does what it says
/// (`run`, `validate`, `filters`, …), exactly as the stock `legate` binary does.
#[derive(Default)]
pub struct Gateway {
    filters: Vec<Arc<dyn FilterFactory>>,
}

impl Gateway {
    /// The stock gateway: built-in filters and the router.
    pub fn new() -> Gateway {
        Gateway::default()
    }

    /// Adds a filter, usable in config under its name (and aliases) like a built-in.
    pub fn with_filter(mut self, factory: Arc<dyn FilterFactory>) -> Gateway {
        self.filters.push(factory);
        self
    }

    /// Every filter this gateway knows; fails when an added filter's name is taken, in the
    /// `legate.` namespace, or not a filter name (`<vendor>.filters.sip.<name>`).
    pub fn registry(&self) -> Result<Registry, RegistryError> {
        legate_filters::builtins_and(&self.filters)
    }

    /// Parses the process's command line and runs the command; the exit code says how it went.
    pub fn run(self) -> ExitCode {
        let cli = Cli::parse();
        let registry = match self.registry() {
            Ok(registry) => registry,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
        if install_registry(registry).is_err() {
            eprintln!("error: a gateway already runs in this process");
            return ExitCode::FAILURE;
        }
        init_tracing(cli.log_format);
        crate::commands::execute(cli.command)
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legate_filters_api::{BuildContext, FilterConfigError, FilterLayer};

    struct Named(&'static str);

    impl FilterFactory for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn safe_for_untrusted(&self) -> bool {
            false
        }
        fn build(
            &self,
            _config: &serde_yaml::Value,
            _context: &BuildContext,
        ) -> Result<FilterLayer, FilterConfigError> {
            Ok(Arc::new(|inner| inner))
        }
    }

    #[test]
    fn added_filters_join_the_builtins_and_the_router() {
        let registry = Gateway::new()
            .with_filter(Arc::new(Named("acme.filters.sip.extra")))
            .registry()
            .unwrap();
        assert!(registry.get("acme.filters.sip.extra").is_some());
        assert!(registry.names().contains(&"legate.filters.sip.router"));
        assert_eq!(
            registry.filters().len(),
            legate_filters::builtins().filters().len() + 1
        );
    }

    #[test]
    fn a_taken_reserved_or_malformed_name_is_refused() {
        let taken = Gateway::new()
            .with_filter(Arc::new(Named("acme.filters.sip.extra")))
            .with_filter(Arc::new(Named("acme.filters.sip.extra")));
        assert_eq!(
            taken.registry().err(),
            Some(RegistryError::Duplicate("acme.filters.sip.extra".into()))
        );
        let ours = Gateway::new().with_filter(Arc::new(Named("legate.filters.sip.authn")));
        assert_eq!(
            ours.registry().err(),
            Some(RegistryError::Reserved("legate.filters.sip.authn".into()))
        );
        let malformed = Gateway::new().with_filter(Arc::new(Named("acme.dlp")));
        assert_eq!(
            malformed.registry().err(),
            Some(RegistryError::BadName("acme.dlp".into()))
        );
    }
}
