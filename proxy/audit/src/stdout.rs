//! The `stdout` sink: each record as one JSON line on standard output, for a log collector
//! (Kubernetes, journald) to pick up. Legate's own logs go to standard error, so the stream
//! holds records only.

use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::{ChainedRecord, Sink, SinkError};

const NAME: &str = "stdout";

/// Writes [`ChainedRecord`]s as JSON lines. A stream cannot tell where its chain stopped, so
/// [`Sink::last`] answers `None` (the log resumes from its spool markers).
pub struct StdoutSink {
    out: Mutex<Box<dyn Write + Send>>,
}

impl StdoutSink {
    pub fn new() -> StdoutSink {
        StdoutSink::to_writer(Box::new(std::io::stdout()))
    }

    /// The same lines to any writer (tests, a pipe).
    pub fn to_writer(out: Box<dyn Write + Send>) -> StdoutSink {
        StdoutSink {
            out: Mutex::new(out),
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        StdoutSink::new()
    }
}

fn unavailable(error: impl std::fmt::Display) -> SinkError {
    SinkError::Unavailable {
        sink: NAME.into(),
        reason: error.to_string(),
    }
}

#[async_trait]
impl Sink for StdoutSink {
    fn name(&self) -> &str {
        NAME
    }

    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        // One write per batch, so lines of concurrent writers never interleave mid-line.
        let mut text = Vec::new();
        for record in records {
            serde_json::to_writer(&mut text, record).map_err(unavailable)?;
            text.push(b'\n');
        }
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        out.write_all(&text).map_err(unavailable)?;
        out.flush().map_err(unavailable)
    }

    async fn last(&self, _partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        Ok(None)
    }
}
