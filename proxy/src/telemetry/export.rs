//! Spans on their way to the collector: a bounded queue the request path never waits on, and
//! one thread of its own that sends them in batches over OTLP. A collector that is down, slow
//! or refusing costs the request path nothing: what cannot be queued or sent is dropped and
//! counted (`legate_telemetry_spans_dropped_total`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_queue::ArrayQueue;
use legate_admin::Metrics;
use legate_api::config::OtlpProtocol;
use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig};
use opentelemetry_otlp::{RetryPolicy, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use opentelemetry_sdk::Resource;
use tokio::sync::Notify;

use super::settings::{Batching, Exporter};

/// Where finished spans wait for the export thread.
pub struct SpanQueue {
    spans: ArrayQueue<SpanData>,
    /// Wakes the export thread early, when a batch is full.
    batch_ready: Notify,
    batch_size: usize,
    stopping: AtomicBool,
    metrics: Arc<Metrics>,
}

impl SpanQueue {
    /// Queues `span`, or drops and counts it when the queue is full. Never waits.
    pub fn push(&self, span: SpanData) {
        if self.spans.push(span).is_err() {
            self.metrics.spans_dropped("queue_full", 1);
        } else if self.spans.len() == self.batch_size {
            self.batch_ready.notify_one();
        }
    }

    fn take_batch(&self) -> Vec<SpanData> {
        let mut batch = Vec::with_capacity(self.batch_size.min(self.spans.len()));
        while batch.len() < self.batch_size {
            match self.spans.pop() {
                Some(span) => batch.push(span),
                None => break,
            }
        }
        batch
    }
}

/// The export thread and its queue; dropping it stops the thread after a last flush.
pub struct Exporting {
    queue: Arc<SpanQueue>,
    thread: Option<JoinHandle<()>>,
}

/// Why the exporter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("telemetry.otlp.ca {path}: {error}")]
    Ca { path: String, error: std::io::Error },
    #[error("the OTLP exporter cannot be built: {0}")]
    Build(String),
    #[error("the telemetry thread cannot start: {0}")]
    Thread(std::io::Error),
}

impl Exporting {
    /// Starts the thread that exports to `exporter`. Problems the configuration alone shows (an
    /// unreadable CA, a malformed endpoint or header) are reported here; a collector that cannot
    /// be reached is not a problem, only dropped spans.
    pub fn start(
        exporter: &Exporter,
        batching: Batching,
        resource: Resource,
        metrics: Arc<Metrics>,
    ) -> Result<Exporting, ExportError> {
        let ca = match &exporter.ca {
            Some(path) => Some(std::fs::read(path).map_err(|error| ExportError::Ca {
                path: path.display().to_string(),
                error,
            })?),
            None => None,
        };
        let queue = Arc::new(SpanQueue {
            spans: ArrayQueue::new(batching.max_queue_size),
            batch_ready: Notify::new(),
            batch_size: batching.max_export_batch_size,
            stopping: AtomicBool::new(false),
            metrics,
        });
        let (built, outcome) = std::sync::mpsc::channel();
        let exporter = exporter.clone();
        let thread_queue = queue.clone();
        let thread = std::thread::Builder::new()
            .name("legate-telemetry".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = built.send(Err(ExportError::Build(error.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    // Tonic's channel must be made inside the runtime that drives it.
                    match otlp_exporter(&exporter, ca.as_deref()) {
                        Ok(mut otlp) => {
                            otlp.set_resource(&resource);
                            let _ = built.send(Ok(()));
                            run(&thread_queue, &otlp, batching).await;
                        }
                        Err(error) => {
                            let _ = built.send(Err(error));
                        }
                    }
                });
            })
            .map_err(ExportError::Thread)?;
        match outcome.recv() {
            Ok(Ok(())) => Ok(Exporting {
                queue,
                thread: Some(thread),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ExportError::Build("the telemetry thread ended".into())),
        }
    }

    pub fn queue(&self) -> &Arc<SpanQueue> {
        &self.queue
    }
}

impl Drop for Exporting {
    fn drop(&mut self) {
        self.queue.stopping.store(true, Ordering::Release);
        self.queue.batch_ready.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends what is queued whenever a batch is full or the schedule delay has passed, until
/// stopped; then sends what is left once.
async fn run(queue: &SpanQueue, otlp: &opentelemetry_otlp::SpanExporter, batching: Batching) {
    loop {
        let stopping = queue.stopping.load(Ordering::Acquire);
        if !stopping {
            let _ =
                tokio::time::timeout(batching.schedule_delay, queue.batch_ready.notified()).await;
        }
        loop {
            let batch = queue.take_batch();
            if batch.is_empty() {
                break;
            }
            let count = batch.len() as u64;
            match tokio::time::timeout(batching.export_timeout, otlp.export(batch)).await {
                Ok(Ok(())) => queue.metrics.spans_exported(count),
                Ok(Err(error)) => {
                    queue.metrics.spans_dropped("export_failed", count);
                    tracing::debug!(%error, spans = count, "spans could not be exported");
                }
                Err(_) => queue.metrics.spans_dropped("export_timeout", count),
            }
        }
        if stopping {
            return;
        }
    }
}

fn otlp_exporter(
    exporter: &Exporter,
    ca: Option<&[u8]>,
) -> Result<opentelemetry_otlp::SpanExporter, ExportError> {
    let built = match exporter.protocol {
        OtlpProtocol::Grpc => {
            let mut headers = http::HeaderMap::new();
            for (name, value) in &exporter.headers {
                let invalid = || ExportError::Build(format!("header `{name}` cannot be sent"));
                let name = http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .map_err(|_| invalid())?;
                let value = http::HeaderValue::from_str(value).map_err(|_| invalid())?;
                headers.insert(name, value);
            }
            let metadata = MetadataMap::from_headers(headers);
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(exporter.endpoint.clone())
                .with_timeout(exporter.timeout)
                .with_metadata(metadata)
                .with_retry_policy(RetryPolicy::disabled());
            if exporter.endpoint.starts_with("https://") {
                let mut tls = ClientTlsConfig::new().with_native_roots();
                if let Some(ca) = ca {
                    tls = tls.ca_certificate(Certificate::from_pem(ca));
                }
                builder = builder.with_tls_config(tls);
            }
            builder.build()
        }
        OtlpProtocol::HttpProtobuf => {
            let client = super::http_client::client(
                ca,
                exporter.endpoint.starts_with("https://"),
                exporter.timeout,
            )
            .map_err(|error| ExportError::Build(error.to_string()))?;
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(exporter.endpoint.clone())
                .with_timeout(exporter.timeout)
                .with_headers(exporter.headers.iter().cloned().collect())
                .with_http_client(client)
                .with_retry_policy(RetryPolicy::disabled())
                .build()
        }
    };
    built.map_err(|error| ExportError::Build(error.to_string()))
}
