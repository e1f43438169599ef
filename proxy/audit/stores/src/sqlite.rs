//! [`SqliteStore`]: audit records in one SQLite file, the embedded default for a single node.
//!
//! The file is opened in WAL mode, so `legate audit query` and `verify` can read it while the
//! gateway writes. SQLite calls block, so each runs on tokio's blocking pool, one at a time on
//! the store's connection.
//!
//! With a retention, [`SqliteStore::prune`] removes records older than it. Pruning removes the
//! *head* of each chain: the records left no longer link back to the genesis hash. The store
//! remembers the last record it removed per partition ([`SqliteStore::pruned_through`]), so
//! writers continue the chain after it and verification starts from it with
//! [`legate_audit::verify_from`]. Records that were tampered with before they were pruned are gone
//! with the evidence; verify before pruning if that matters.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rusqlite::types::{ToSql, ToSqlOutput};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use crate::schema::{self, ReadColumns, Value};
use legate_audit::{ChainedRecord, Query, Sink, SinkError, Store};

const NAME: &str = "sqlite";

/// How long a statement waits for another connection's write lock (the CLI reading, another
/// process writing) before it reports the database busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Audit records in an SQLite file. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
    retention: Option<Duration>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// `retention`: how long [`SqliteStore::prune`] keeps records; `None` keeps them forever.
    pub async fn open(
        path: impl AsRef<Path>,
        retention: Option<Duration>,
    ) -> Result<SqliteStore, SinkError> {
        let path = path.as_ref().to_path_buf();
        let opened_path = path.clone();
        let connection = run_blocking(move || open_connection(&opened_path)).await?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            path,
            retention,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the records older than the retention at `now` and returns how many went. Per
    /// partition only a leading run goes (up to the first record still within the
    /// retention), so what is left stays one unbroken chain. Without a retention, removes
    /// nothing.
    pub async fn prune(&self, now: SystemTime) -> Result<usize, SinkError> {
        let Some(cutoff) = self.retention.and_then(|keep| now.checked_sub(keep)) else {
            return Ok(0);
        };
        let cutoff = schema::unix_micros(cutoff);
        self.with_connection(move |connection| prune_before(connection, cutoff))
            .await
    }

    /// The last record retention removed from `partition` (`seq`, `hash`): the point its
    /// remaining records continue from. `None` when nothing was pruned.
    pub async fn pruned_through(
        &self,
        partition: &str,
    ) -> Result<Option<(i64, String)>, SinkError> {
        let partition = partition.to_string();
        self.with_connection(move |connection| pruned_marker(connection, &partition))
            .await
    }

    /// Runs `job` on the connection on the blocking pool.
    async fn with_connection<T, F>(&self, job: F) -> Result<T, SinkError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, SinkError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        run_blocking(move || {
            // A job that panicked left no transaction open (rusqlite rolls back on drop), so
            // the connection is still good.
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            job(&mut connection)
        })
        .await
    }
}

async fn run_blocking<T, F>(job: F) -> Result<T, SinkError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, SinkError> + Send + 'static,
{
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|error| SinkError::Unavailable {
            sink: NAME.into(),
            reason: format!("database task failed: {error}"),
        })?
}

fn open_connection(path: &Path) -> Result<Connection, SinkError> {
    let opening = |error: rusqlite::Error| {
        let mut error = sql_error(error);
        let reason = match &mut error {
            SinkError::Unavailable { reason, .. } | SinkError::Invalid { reason, .. } => reason,
        };
        *reason = format!("{}: {reason}", path.display());
        error
    };
    let mut connection = Connection::open(path).map_err(opening)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(opening)?;
    // WAL lets readers run beside the writer; FULL makes a committed append survive a power
    // loss, which `Sink::append` promises.
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(opening)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SinkError::Invalid {
            sink: NAME.into(),
            reason: format!("{}: cannot use WAL mode (got {mode})", path.display()),
        });
    }
    connection
        .execute_batch("PRAGMA synchronous = FULL")
        .map_err(opening)?;
    migrate(&mut connection).map_err(opening)?;
    Ok(connection)
}

/// Applies the migrations not yet applied. The immediate transaction takes the write lock
/// first, so two processes opening a new file together apply each migration once.
fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(schema::MIGRATIONS_TABLE)?;
    for (version, sql) in schema::MIGRATIONS {
        let applied: bool = transaction.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |row| row.get(0),
        )?;
        if !applied {
            transaction.execute_batch(sql)?;
            transaction.execute(
                "INSERT INTO schema_migrations (version, applied_at_micros) VALUES (?1, ?2)",
                params![version, schema::unix_micros(SystemTime::now())],
            )?;
        }
    }
    transaction.commit()
}

fn question_mark(index: usize) -> String {
    format!("?{index}")
}

fn append_all(connection: &mut Connection, records: &[ChainedRecord]) -> Result<(), SinkError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    {
        let mut insert = transaction
            .prepare_cached(&schema::insert_sql(question_mark))
            .map_err(sql_error)?;
        let mut stored_hash = transaction
            .prepare_cached("SELECT hash FROM audit_records WHERE partition = ?1 AND seq = ?2")
            .map_err(sql_error)?;
        for record in records {
            let values = schema::values(record).map_err(|reason| invalid(record, &reason))?;
            let inserted = insert
                .execute(rusqlite::params_from_iter(values.iter()))
                .map_err(sql_error)?;
            if inserted == 0 {
                let stored: String = stored_hash
                    .query_row(params![record.partition, record.seq], |row| row.get(0))
                    .map_err(sql_error)?;
                if stored != record.hash {
                    return Err(invalid(record, schema::CONFLICT));
                }
            }
        }
    }
    transaction.commit().map_err(sql_error)
}

fn last_stored(
    connection: &mut Connection,
    partition: &str,
) -> Result<Option<(i64, String)>, SinkError> {
    let last = connection
        .query_row(
            "SELECT seq, hash FROM audit_records WHERE partition = ?1 ORDER BY seq DESC LIMIT 1",
            [partition],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(sql_error)?;
    match last {
        Some(last) => Ok(Some(last)),
        // Everything was pruned: the chain goes on from the last record removed.
        None => pruned_marker(connection, partition),
    }
}

fn pruned_marker(
    connection: &mut Connection,
    partition: &str,
) -> Result<Option<(i64, String)>, SinkError> {
    connection
        .query_row(
            "SELECT seq, hash FROM audit_pruned WHERE partition = ?1",
            [partition],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(sql_error)
}

fn prune_before(connection: &mut Connection, cutoff_micros: i64) -> Result<usize, SinkError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    let partitions: Vec<String> = {
        let mut statement = transaction
            .prepare("SELECT DISTINCT partition FROM audit_records")
            .map_err(sql_error)?;
        let rows = statement
            .query_map([], |row| row.get(0))
            .map_err(sql_error)?;
        rows.collect::<Result<_, _>>().map_err(sql_error)?
    };
    let mut removed = 0;
    for partition in partitions {
        let last_removed: Option<(i64, String)> = transaction
            .query_row(
                &schema::last_to_prune_sql(question_mark),
                params![partition, cutoff_micros],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(sql_error)?;
        let Some((seq, hash)) = last_removed else {
            continue;
        };
        removed += transaction
            .execute(&schema::prune_sql(question_mark), params![partition, seq])
            .map_err(sql_error)?;
        transaction
            .execute(
                &schema::pruned_marker_sql(question_mark),
                params![partition, seq, hash],
            )
            .map_err(sql_error)?;
    }
    transaction.commit().map_err(sql_error)?;
    Ok(removed)
}

fn select(
    connection: &mut Connection,
    sql: &str,
    values: &[Value<'_>],
) -> Result<Vec<ChainedRecord>, SinkError> {
    let mut statement = connection.prepare_cached(sql).map_err(sql_error)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(values.iter()))
        .map_err(sql_error)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(sql_error)? {
        records.push(
            schema::record_from(row).map_err(|reason| SinkError::Invalid {
                sink: NAME.into(),
                reason: format!("unreadable row: {reason}"),
            })?,
        );
    }
    Ok(records)
}

#[async_trait]
impl Sink for SqliteStore {
    fn name(&self) -> &str {
        NAME
    }

    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        if records.is_empty() {
            return Ok(());
        }
        let records = records.to_vec();
        self.with_connection(move |connection| append_all(connection, &records))
            .await
    }

    async fn last(&self, partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        let partition = partition.to_string();
        self.with_connection(move |connection| last_stored(connection, &partition))
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn partitions(&self) -> Result<Vec<String>, SinkError> {
        self.with_connection(|connection| {
            let mut statement = connection
                .prepare(
                    "SELECT partition FROM audit_records UNION SELECT partition FROM audit_pruned
                     ORDER BY 1",
                )
                .map_err(sql_error)?;
            let rows = statement
                .query_map([], |row| row.get(0))
                .map_err(sql_error)?;
            rows.collect::<Result<_, _>>().map_err(sql_error)
        })
        .await
    }

    async fn chain(&self, partition: &str) -> Result<Vec<ChainedRecord>, SinkError> {
        let partition = partition.to_string();
        self.with_connection(move |connection| {
            select(
                connection,
                &schema::chain_sql(question_mark),
                &[Value::Text(&partition)],
            )
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Vec<ChainedRecord>, SinkError> {
        let query = query.clone();
        self.with_connection(move |connection| {
            let (sql, values) = schema::select_sql(&query, question_mark);
            select(connection, &sql, &values)
        })
        .await
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Text(text) | Value::OptionalText(Some(text)) => ToSqlOutput::from(*text),
            Value::OptionalText(None) => ToSqlOutput::from(rusqlite::types::Null),
            Value::Int(number) => ToSqlOutput::from(*number),
        })
    }
}

impl ReadColumns for rusqlite::Row<'_> {
    fn text(&self, index: usize) -> Result<String, String> {
        self.get(index).map_err(|error| column_error(index, error))
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>, String> {
        self.get(index).map_err(|error| column_error(index, error))
    }

    fn int(&self, index: usize) -> Result<i64, String> {
        self.get(index).map_err(|error| column_error(index, error))
    }
}

fn column_error(index: usize, error: rusqlite::Error) -> String {
    format!("column {}: {error}", schema::column_name(index))
}

fn invalid(record: &ChainedRecord, reason: &str) -> SinkError {
    SinkError::Invalid {
        sink: NAME.into(),
        reason: format!(
            "partition {}, record {}: {reason}",
            record.partition, record.seq
        ),
    }
}

/// Busy, locked, full or failing storage may recover; anything else is a fault in the file or
/// the statement.
fn sql_error(error: rusqlite::Error) -> SinkError {
    let transient = matches!(
        error.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::OutOfMemory
        )
    );
    let sink = NAME.to_string();
    let reason = error.to_string();
    if transient {
        SinkError::Unavailable { sink, reason }
    } else {
        SinkError::Invalid { sink, reason }
    }
}
