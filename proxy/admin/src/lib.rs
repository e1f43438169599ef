//! The Legate admin HTTP API: liveness, readiness, Prometheus metrics and the config dump.
//!
//! The proxy creates one [`Metrics`] at start-up, hands clones of its `Arc` to the layers that
//! count things, and serves them with an [`AdminServer`] on the `admin.address` socket:
//!
//! | endpoint           | answer                                                        |
//! |--------------------|---------------------------------------------------------------|
//! | `GET /healthz`     | `200 ok` while the process runs (never needs the token)       |
//! | `GET /readyz`      | `200 ready`, or `503 not ready` while starting or draining (never needs the token); with the token, detail lines (audit sinks) follow |
//! | `GET /metrics`     | Prometheus text format                                        |
//! | `GET /config_dump` | the running configuration as pretty JSON, secrets redacted    |
//!
//! ```no_run
//! use std::sync::Arc;
//! use legate_admin::{AdminServer, AdminState, Metrics};
//!
//! struct Proxy;
//! impl AdminState for Proxy {
//!     fn ready(&self) -> bool { true }
//!     fn config_dump(&self) -> serde_json::Value { serde_json::json!({}) }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let metrics = Arc::new(Metrics::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9901").await?;
//! let server = AdminServer::new(Arc::new(Proxy), metrics.clone(), None);
//! server.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod answer;
mod auth;
mod labels;
mod metrics;
mod respond;
mod server;
mod state;

pub use auth::Access;
pub use metrics::Metrics;
pub use server::AdminServer;
pub use state::AdminState;
