//! Audit: a tamper-evident record of every interaction that crosses the boundary.
//!
//! An [`AuditRecord`] says who talked to whom about what, through which partner and listener,
//! what policy decided and how it ended. Records are linked into a hash chain per partition
//! ([`ChainedRecord`]: each carries the hash of the one before it), so an edited, removed or
//! reordered record is found by [`verify`]. A [`Sink`] makes records durable (a database, a log
//! stream, a compliance tool's webhook); a [`Store`] can also read them back for queries and
//! verification.
//!
//! The stores: [`SqliteStore`], one file, the embedded default for a single node, and
//! [`PgStore`], PostgreSQL shared by every replica. Both keep the same table (one row per
//! record, indexed for `legate audit query`). [`WebhookSink`] posts each batch as JSON to a
//! receiver.

mod chain;
mod postgres;
mod record;
mod schema;
mod sink;
mod sqlite;
mod webhook;

pub use chain::{verify, verify_from, Chain, ChainedRecord, VerifyError, GENESIS_HASH};
pub use postgres::PgStore;
pub use record::{AuditRecord, EventKind};
pub use sink::{Query, Sink, SinkError, Store};
pub use sqlite::SqliteStore;
pub use webhook::WebhookSink;
