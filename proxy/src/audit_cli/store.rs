//! Which store the audit commands read, from the command line.

use std::path::PathBuf;

use legate_api::Secret;
use legate_audit::{SinkError, Store, GENESIS_HASH};
use legate_audit_stores::{PgStore, SqliteStore};

/// The store, and how to reach it.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub which: WhichStore,
    /// The CA the PostgreSQL server's certificate must chain to: connect over TLS.
    #[arg(long, value_name = "FILE")]
    pub postgres_ca: Option<PathBuf>,
}

/// Exactly one of these names the store.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct WhichStore {
    /// The SQLite audit database file.
    #[arg(long, value_name = "FILE")]
    pub sqlite: Option<PathBuf>,
    /// The PostgreSQL audit database (postgres://user:password@host:port/db).
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// A file holding the PostgreSQL URL, which keeps its password out of the process list.
    #[arg(long, value_name = "FILE")]
    pub postgres_url_file: Option<PathBuf>,
}

pub enum AuditStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AuditStore {
    pub async fn open(args: &StoreArgs) -> Result<AuditStore, String> {
        let which = &args.which;
        if let Some(path) = &which.sqlite {
            if args.postgres_ca.is_some() {
                return Err("--postgres-ca is for a PostgreSQL store".into());
            }
            // Opening creates a missing file; a typo must not look like an empty log.
            if !path.is_file() {
                return Err(format!("{}: no such file", path.display()));
            }
            let store = SqliteStore::open(path, None)
                .await
                .map_err(|error| error.to_string())?;
            return Ok(AuditStore::Sqlite(store));
        }
        let url = match (&which.postgres, &which.postgres_url_file) {
            (Some(url), _) => url.clone(),
            (None, Some(path)) => {
                let bytes = Secret::File(path.clone())
                    .read()
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                String::from_utf8(bytes)
                    .map_err(|_| format!("{}: not UTF-8 text", path.display()))?
                    .trim()
                    .to_string()
            }
            (None, None) => return Err("give --sqlite FILE or --postgres URL".into()),
        };
        let tls = match &args.postgres_ca {
            Some(ca) => Some(std::sync::Arc::new(
                legate_tls::client_config(ca, None)
                    .map_err(|error| format!("--postgres-ca: {error}"))?,
            )),
            None => None,
        };
        let store = PgStore::connect_with_tls(&url, 1, tls)
            .await
            .map_err(|error| error.to_string())?;
        Ok(AuditStore::Postgres(store))
    }

    pub fn store(&self) -> &dyn Store {
        match self {
            AuditStore::Sqlite(store) => store,
            AuditStore::Postgres(store) => store,
        }
    }

    /// Where `partition`'s stored records start from: after the last record retention
    /// removed, or the genesis.
    pub async fn chain_start(&self, partition: &str) -> Result<(i64, String), SinkError> {
        let pruned = match self {
            AuditStore::Sqlite(store) => store.pruned_through(partition).await?,
            AuditStore::Postgres(store) => store.pruned_through(partition).await?,
        };
        Ok(pruned.unwrap_or_else(|| (0, GENESIS_HASH.to_string())))
    }
}
