//! [`PgStore`]: audit records in PostgreSQL, shared by every replica (each writes its own
//! partition).
//!
//! Connections come from a small pool that drops broken ones, so when the server goes away
//! calls fail with [`SinkError::Unavailable`] naming the cause, and once it is back they work
//! again on fresh connections without rebuilding the store. The schema is migrated when the
//! store connects, or, when the server is down then, before the first call that reaches it.
//! Migrations hold an advisory lock, so replicas starting together apply each one once.
//!
//! Connections use TLS when given a client configuration (a private CA), or when the URL says
//! `sslmode=require` (then trusting the system's roots). Either way the server's certificate is
//! verified and must name the host; a server that cannot be verified is unavailable, never
//! written to in the clear.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use tokio::sync::OnceCell;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::schema::{self, ReadColumns, Value};
use legate_audit::{ChainedRecord, Query, Sink, SinkError, Store};

const NAME: &str = "postgres";

/// Serialises migrations across every process using the database ("legate" + 1).
const MIGRATION_LOCK: i64 = 0x6c65_6761_7465_0001;
/// Serialises retention runs across replicas ("legate" + 2).
const PRUNE_LOCK: i64 = 0x6c65_6761_7465_0002;

/// How long to wait for a new connection, and for a free one when all are busy.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Audit records in PostgreSQL. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    migrated: std::sync::Arc<OnceCell<()>>,
    retention: Option<Duration>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection settings hold the password: show only the pool's shape.
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// A store on `url` (`postgres://user:password@host:port/db` or `host=… user=…`) with at
    /// most `pool_size` connections; TLS only when the URL asks for it (`sslmode=require`).
    /// See [`PgStore::connect_with_tls`].
    pub async fn connect(url: &str, pool_size: usize) -> Result<PgStore, SinkError> {
        PgStore::connect_with_tls(url, pool_size, None).await
    }

    /// The same, over TLS verified with `tls` when given (then `sslmode` defaults to
    /// `require`). A malformed URL, `sslmode=disable` with `tls`, or a zero pool is
    /// [`SinkError::Invalid`]. A server that cannot be reached yet is not an error here: the
    /// store is returned and its calls report `Unavailable` until the server is back.
    pub async fn connect_with_tls(
        url: &str,
        pool_size: usize,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<PgStore, SinkError> {
        if pool_size == 0 {
            return Err(invalid("the pool needs at least one connection".into()));
        }
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| invalid(format!("bad connection URL: {}", describe(&error))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager_config = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let tls = match (config.get_ssl_mode(), tls) {
            (SslMode::Disable, Some(_)) => {
                return Err(invalid(
                    "a CA is given for TLS, but the URL says sslmode=disable".into(),
                ))
            }
            // A CA was given: the connection is meant to be private, never silently plain.
            (_, Some(tls)) => {
                config.ssl_mode(SslMode::Require);
                Some(tls)
            }
            (SslMode::Require, None) => Some(crate::system_roots::client_config(NAME)?),
            (_, None) => None,
        };
        let manager = match tls {
            Some(tls) => Manager::from_config(
                config,
                MakeRustlsConnect::new((*tls).clone()),
                manager_config(),
            ),
            None => Manager::from_config(config, NoTls, manager_config()),
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| invalid(format!("cannot build the connection pool: {error}")))?;
        let store = PgStore {
            pool,
            migrated: Default::default(),
            retention: None,
        };
        match store.ensure_schema().await {
            Ok(()) => Ok(store),
            Err(SinkError::Unavailable { reason, .. }) => {
                tracing::warn!(%reason, "audit database unavailable; migrating once it is back");
                Ok(store)
            }
            Err(error) => Err(error),
        }
    }

    /// Keeps records for `retention`: [`PgStore::prune`] removes older ones. As with SQLite,
    /// pruning removes the head of each chain; where it cut is kept
    /// ([`PgStore::pruned_through`]) so writers continue and verification starts there.
    pub fn with_retention(mut self, retention: Duration) -> PgStore {
        self.retention = Some(retention);
        self
    }

    /// Removes the records older than the retention at `now` (per partition only a leading
    /// run, so the rest stays one chain) and returns how many went. Replicas may all call
    /// it: runs take turns under an advisory lock. Without a retention, removes nothing.
    pub async fn prune(&self, now: SystemTime) -> Result<usize, SinkError> {
        let Some(cutoff) = self.retention.and_then(|keep| now.checked_sub(keep)) else {
            return Ok(0);
        };
        let cutoff = schema::unix_micros(cutoff);
        let mut client = self.ready_client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&PRUNE_LOCK])
            .await
            .map_err(pg_error)?;
        let partitions = transaction
            .query("SELECT DISTINCT partition FROM audit_records", &[])
            .await
            .map_err(pg_error)?;
        let mut removed = 0;
        for row in partitions {
            let partition: String = row.try_get(0).map_err(pg_error)?;
            let last = transaction
                .query_opt(&schema::last_to_prune_sql(dollar), &[&partition, &cutoff])
                .await
                .map_err(pg_error)?;
            let Some(last) = last else {
                continue;
            };
            let seq: i64 = last.try_get(0).map_err(pg_error)?;
            let hash: String = last.try_get(1).map_err(pg_error)?;
            removed += transaction
                .execute(&schema::prune_sql(dollar), &[&partition, &seq])
                .await
                .map_err(pg_error)?;
            transaction
                .execute(
                    &schema::pruned_marker_sql(dollar),
                    &[&partition, &seq, &hash],
                )
                .await
                .map_err(pg_error)?;
        }
        transaction.commit().await.map_err(pg_error)?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }

    /// The versions of the migrations applied to the database, in order.
    pub async fn schema_versions(&self) -> Result<Vec<i64>, SinkError> {
        self.ensure_schema().await?;
        let client = self.client().await?;
        first_column(
            &client,
            "SELECT version FROM schema_migrations ORDER BY version",
        )
        .await
    }

    /// The last record retention removed from `partition` (`seq`, `hash`), the point its
    /// remaining records continue from; `None` when nothing was pruned.
    pub async fn pruned_through(
        &self,
        partition: &str,
    ) -> Result<Option<(i64, String)>, SinkError> {
        let client = self.ready_client().await?;
        let row = client
            .query_opt(
                "SELECT seq, hash FROM audit_pruned WHERE partition = $1",
                &[&partition],
            )
            .await
            .map_err(pg_error)?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
            .map_err(pg_error)
    }

    async fn ensure_schema(&self) -> Result<(), SinkError> {
        self.migrated
            .get_or_try_init(|| async {
                let mut client = self.client().await?;
                migrate(&mut client).await.map_err(pg_error)
            })
            .await
            .map(|_| ())
    }

    /// A pooled connection, with the schema in place.
    async fn ready_client(&self) -> Result<Object, SinkError> {
        self.ensure_schema().await?;
        self.client().await
    }

    async fn client(&self) -> Result<Object, SinkError> {
        self.pool.get().await.map_err(|error| match error {
            PoolError::Backend(error) => pg_error(error),
            PoolError::Timeout(TimeoutType::Wait) => unavailable(format!(
                "no free connection within {}s (pool of {})",
                WAIT_TIMEOUT.as_secs(),
                self.pool.status().max_size
            )),
            PoolError::Timeout(_) => unavailable(format!(
                "no connection within {}s",
                CONNECT_TIMEOUT.as_secs()
            )),
            other => unavailable(other.to_string()),
        })
    }

    async fn select(
        &self,
        sql: &str,
        values: &[Value<'_>],
    ) -> Result<Vec<ChainedRecord>, SinkError> {
        let client = self.ready_client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
        let rows = client
            .query(&statement, &parameters(values))
            .await
            .map_err(pg_error)?;
        rows.iter()
            .map(|row| {
                schema::record_from(row)
                    .map_err(|reason| invalid(format!("unreadable row: {reason}")))
            })
            .collect()
    }
}

/// Applies the migrations not yet applied, under the advisory lock (released at commit).
async fn migrate(client: &mut Object) -> Result<(), tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    transaction.batch_execute(schema::MIGRATIONS_TABLE).await?;
    for (version, sql) in schema::MIGRATIONS {
        let applied = transaction
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .await?
            .is_some();
        if !applied {
            transaction.batch_execute(sql).await?;
            transaction
                .execute(
                    "INSERT INTO schema_migrations (version, applied_at_micros) VALUES ($1, $2)",
                    &[version, &schema::unix_micros(SystemTime::now())],
                )
                .await?;
        }
    }
    transaction.commit().await
}

fn dollar(index: usize) -> String {
    format!("${index}")
}

fn parameters<'a>(values: &'a [Value<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| value as &(dyn ToSql + Sync))
        .collect()
}

#[async_trait]
impl Sink for PgStore {
    fn name(&self) -> &str {
        NAME
    }

    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut client = self.ready_client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let insert = transaction
            .prepare_cached(&schema::insert_sql(dollar))
            .await
            .map_err(pg_error)?;
        let stored_hash = transaction
            .prepare_cached("SELECT hash FROM audit_records WHERE partition = $1 AND seq = $2")
            .await
            .map_err(pg_error)?;
        for record in records {
            let values = schema::values(record).map_err(|reason| conflict(record, &reason))?;
            let inserted = transaction
                .execute(&insert, &parameters(&values))
                .await
                .map_err(pg_error)?;
            if inserted == 0 {
                let row = transaction
                    .query_one(&stored_hash, &[&record.partition, &record.seq])
                    .await
                    .map_err(pg_error)?;
                let stored: String = row.try_get(0).map_err(pg_error)?;
                if stored != record.hash {
                    return Err(conflict(record, schema::CONFLICT));
                }
            }
        }
        transaction.commit().await.map_err(pg_error)
    }

    async fn last(&self, partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        let client = self.ready_client().await?;
        let row = client
            .query_opt(
                "SELECT seq, hash FROM audit_records WHERE partition = $1
                 UNION ALL SELECT seq, hash FROM audit_pruned WHERE partition = $1
                 ORDER BY seq DESC LIMIT 1",
                &[&partition],
            )
            .await
            .map_err(pg_error)?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .transpose()
            .map_err(pg_error)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn partitions(&self) -> Result<Vec<String>, SinkError> {
        let client = self.ready_client().await?;
        first_column(
            &client,
            "SELECT partition FROM audit_records UNION SELECT partition FROM audit_pruned
             ORDER BY 1",
        )
        .await
    }

    async fn chain(&self, partition: &str) -> Result<Vec<ChainedRecord>, SinkError> {
        self.select(&schema::chain_sql(dollar), &[Value::Text(partition)])
            .await
    }

    async fn query(&self, query: &Query) -> Result<Vec<ChainedRecord>, SinkError> {
        let (sql, values) = schema::select_sql(query, dollar);
        self.select(&sql, &values).await
    }
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self, ty) {
            (Value::OptionalText(None), _) => Ok(IsNull::Yes),
            (Value::Text(text) | Value::OptionalText(Some(text)), &Type::TEXT) => {
                text.to_sql(ty, out)
            }
            (Value::Int(number), &Type::INT8) => number.to_sql(ty, out),
            (Value::Int(number), &Type::INT4) => i32::try_from(*number)?.to_sql(ty, out),
            (value, ty) => Err(format!("cannot bind {value:?} as {ty}").into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::TEXT | Type::INT4 | Type::INT8)
    }

    to_sql_checked!();
}

impl ReadColumns for tokio_postgres::Row {
    fn text(&self, index: usize) -> Result<String, String> {
        self.try_get(index)
            .map_err(|error| column_error(index, &error))
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>, String> {
        self.try_get(index)
            .map_err(|error| column_error(index, &error))
    }

    fn int(&self, index: usize) -> Result<i64, String> {
        let is_int4 = self
            .columns()
            .get(index)
            .is_some_and(|column| *column.type_() == Type::INT4);
        if is_int4 {
            self.try_get::<_, i32>(index).map(i64::from)
        } else {
            self.try_get(index)
        }
        .map_err(|error| column_error(index, &error))
    }
}

fn column_error(index: usize, error: &tokio_postgres::Error) -> String {
    format!("column {}: {}", schema::column_name(index), describe(error))
}

/// An error and its causes, `: `-separated ("error connecting to server: Connection refused").
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// SQLSTATE classes a later attempt may get past: connection exceptions (08), insufficient
/// resources (53), operator intervention such as a shutdown (57), transaction rollback (40),
/// system errors (58). Other server errors are faults in the data or the schema. Errors
/// without a server answer (refused, reset, closed, timed out) are always worth retrying.
fn pg_error(error: tokio_postgres::Error) -> SinkError {
    let reason = match error.as_db_error() {
        Some(db) => format!("{db} ({})", db.code().code()),
        None => describe(&error),
    };
    let retryable = error
        .code()
        .is_none_or(|code| matches!(code.code().get(..2), Some("08" | "53" | "57" | "40" | "58")));
    if retryable {
        unavailable(reason)
    } else {
        invalid(reason)
    }
}

fn unavailable(reason: String) -> SinkError {
    SinkError::Unavailable {
        sink: NAME.into(),
        reason,
    }
}

fn invalid(reason: String) -> SinkError {
    SinkError::Invalid {
        sink: NAME.into(),
        reason,
    }
}

fn conflict(record: &ChainedRecord, reason: &str) -> SinkError {
    invalid(format!(
        "partition {}, record {}: {reason}",
        record.partition, record.seq
    ))
}

/// The first column of every row `sql` returns.
async fn first_column<T>(client: &Object, sql: &str) -> Result<Vec<T>, SinkError>
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    let rows = client.query(sql, &[]).await.map_err(pg_error)?;
    rows.iter()
        .map(|row| row.try_get(0).map_err(pg_error))
        .collect()
}
