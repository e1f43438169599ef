//! Where records go. A [`Sink`] makes records durable in order; a [`Store`] can also read them
//! back (for `legate audit query` and `legate audit verify`).

use async_trait::async_trait;

use crate::ChainedRecord;

/// A sink could not take records. Nothing of the batch may be assumed stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The sink cannot be reached or refused the write; a later attempt may succeed.
    #[error("{sink} unavailable: {reason}")]
    Unavailable { sink: String, reason: String },
    /// The sink's configuration or data is wrong; retrying will not help.
    #[error("{sink}: {reason}")]
    Invalid { sink: String, reason: String },
}

/// Takes chained records and makes them durable.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// A short name for logs, metrics and health (`sqlite`, `postgres`, `webhook`, `stdout`).
    fn name(&self) -> &str;

    /// Stores `records` (consecutive links of one partition, in order). `Ok` only once every
    /// one of them is durable; a record already stored (same partition and seq, same hash) is
    /// not an error, so a batch can be retried after a failure whose outcome is unknown.
    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError>;

    /// The last `(seq, hash)` stored for `partition`, so a restarted writer continues its
    /// chain; `None` for a new partition, or for sinks that cannot tell (streams).
    async fn last(&self, partition: &str) -> Result<Option<(i64, String)>, SinkError>;
}

/// What `legate audit query` asks for; every condition is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// A local (internal or federated) or remote address.
    pub user: Option<String>,
    pub partner: Option<String>,
    pub service: Option<String>,
    /// `allow` or `deny`.
    pub decision: Option<String>,
    /// From and until, in microseconds since the Unix epoch (until exclusive).
    pub since_micros: Option<i64>,
    pub until_micros: Option<i64>,
    /// At most this many records, newest last.
    pub limit: Option<usize>,
}

/// A sink that can read its records back.
#[async_trait]
pub trait Store: Sink {
    /// The partitions the store holds.
    async fn partitions(&self) -> Result<Vec<String>, SinkError>;

    /// Every record of `partition`, in `seq` order, for verification.
    async fn chain(&self, partition: &str) -> Result<Vec<ChainedRecord>, SinkError>;

    /// The records matching `query`, oldest first.
    async fn query(&self, query: &Query) -> Result<Vec<ChainedRecord>, SinkError>;
}
