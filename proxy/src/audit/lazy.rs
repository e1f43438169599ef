//! A sink opened on first use: `legate validate` builds the sinks without creating a database
//! file or connecting anywhere, and Legate starts while a database is still down (its records
//! queue and spool until it answers).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use legate_audit::{ChainedRecord, Sink, SinkError};
use tokio::sync::OnceCell;

type Opening = Pin<Box<dyn Future<Output = Result<Arc<dyn Sink>, SinkError>> + Send>>;

pub struct LazySink {
    name: &'static str,
    open: Box<dyn Fn() -> Opening + Send + Sync>,
    opened: OnceCell<Arc<dyn Sink>>,
}

impl LazySink {
    pub fn new(name: &'static str, open: impl Fn() -> Opening + Send + Sync + 'static) -> Self {
        LazySink {
            name,
            open: Box::new(open),
            opened: OnceCell::new(),
        }
    }

    /// The sink, opening it if this is the first use (or the last attempt failed).
    async fn sink(&self) -> Result<&Arc<dyn Sink>, SinkError> {
        self.opened.get_or_try_init(|| (self.open)()).await
    }
}

#[async_trait]
impl Sink for LazySink {
    fn name(&self) -> &str {
        self.name
    }

    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        self.sink().await?.append(records).await
    }

    async fn last(&self, partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        self.sink().await?.last(partition).await
    }
}
