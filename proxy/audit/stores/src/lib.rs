//! Where audit records are kept: [`SqliteStore`], one file, the embedded default for a single
//! node, and [`PgStore`], PostgreSQL shared by every replica. Both keep the same table (one row
//! per record, indexed for `legate audit query`). [`WebhookSink`] posts each batch as JSON to a
//! receiver. Each is a [`Sink`](legate_audit::Sink) of `legate-audit`'s pipeline.

mod postgres;
mod schema;
mod sqlite;
mod system_roots;
mod webhook;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use webhook::WebhookSink;
