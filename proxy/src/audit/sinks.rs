//! Making the sinks the `audit.sinks` list names. Stores are opened on first use (see
//! [`LazySink`]); a setting no sink could ever work with is a config error naming its field.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use legate_api::{AuditSinkConfig, ConfigError, LoadedConfig};
use legate_audit::{ChainedRecord, NamedSink, Sink, SinkError, StdoutSink};
use legate_audit_stores::{PgStore, SqliteStore, WebhookSink};
use legate_filters_api::ConfigFolder;

use super::lazy::LazySink;

/// Every configured sink, by its config name, in config order.
pub fn build_sinks(loaded: &LoadedConfig) -> Result<Vec<NamedSink>, ConfigError> {
    let Some(audit) = &loaded.config.audit else {
        return Ok(Vec::new());
    };
    let mut sinks = Vec::with_capacity(audit.sinks.len());
    for (index, config) in audit.sinks.iter().enumerate() {
        let sink = build_sink(loaded, config).map_err(|(field, message)| {
            loaded
                .source
                .error(&format!("audit.sinks[{index}].{field}"), message)
        })?;
        sinks.push((config.name.clone(), sink));
    }
    Ok(sinks)
}

/// One sink; the error is the field at fault and why.
fn build_sink(
    loaded: &LoadedConfig,
    config: &AuditSinkConfig,
) -> Result<Arc<dyn Sink>, (&'static str, String)> {
    if let Some(sqlite) = &config.sqlite {
        let file = ConfigFolder::beside(&loaded.source.origin, &sqlite.file);
        let retention = sqlite.retention;
        return Ok(Arc::new(LazySink::new("sqlite", move || {
            let file = file.clone();
            Box::pin(async move {
                let store = SqliteStore::open(&file, retention).await?;
                if retention.is_some() {
                    let pruned = store.clone();
                    keep_pruning(move || {
                        let store = pruned.clone();
                        async move { store.prune(SystemTime::now()).await }
                    });
                }
                Ok(Arc::new(store) as Arc<dyn Sink>)
            })
        })));
    }
    if let Some(postgres) = &config.postgres {
        let url = postgres
            .url
            .read()
            .map_err(|error| format!("cannot read the url: {error}"))
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| "the url is not UTF-8".to_string())
            })
            .map_err(|message| ("postgres.url", message))?;
        let pool_size = postgres.pool_size;
        let tls = match &postgres.tls_ca {
            Some(ca) => Some(Arc::new(
                legate_tls::client_config(ca, None)
                    .map_err(|error| ("postgres.tls_ca", error.to_string()))?,
            )),
            None => None,
        };
        return Ok(Arc::new(LazySink::new("postgres", move || {
            let (url, tls) = (url.clone(), tls.clone());
            Box::pin(async move {
                let store = PgStore::connect_with_tls(&url, pool_size, tls).await?;
                Ok(Arc::new(store) as Arc<dyn Sink>)
            })
        })));
    }
    if let Some(webhook) = &config.webhook {
        let sink = WebhookSink::new(&webhook.url, webhook.timeout)
            .map_err(|error| ("webhook.url", error.to_string()))?;
        return Ok(Arc::new(InBatchesOf {
            size: webhook.batch_size.max(1),
            sink,
        }));
    }
    if config.stdout.is_some() {
        return Ok(Arc::new(StdoutSink::new()));
    }
    // Validation has already refused a sink without a kind.
    Err(("name", "a sink needs one kind".into()))
}

/// How often records past their retention are removed (also once when the store opens).
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Runs `prune` now and then every [`PRUNE_EVERY`], for the life of the process.
fn keep_pruning<F, P>(prune: F)
where
    F: Fn() -> P + Send + 'static,
    P: Future<Output = Result<usize, SinkError>> + Send,
{
    tokio::spawn(async move {
        loop {
            match prune().await {
                Ok(0) => {}
                Ok(removed) => {
                    tracing::info!(removed, "audit records past their retention removed")
                }
                Err(error) => tracing::warn!(%error, "audit retention could not run"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    });
}

/// A sink that takes at most `size` records per call: the webhook's `batch_size`.
struct InBatchesOf<S> {
    size: usize,
    sink: S,
}

#[async_trait]
impl<S: Sink> Sink for InBatchesOf<S> {
    fn name(&self) -> &str {
        self.sink.name()
    }

    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        for batch in records.chunks(self.size) {
            self.sink.append(batch).await?;
        }
        Ok(())
    }

    async fn last(&self, partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        self.sink.last(partition).await
    }
}
