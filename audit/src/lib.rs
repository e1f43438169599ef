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
//!
//! An [`AuditLog`] is the pipeline between the two: it links records into its partition's chain
//! and hands them to every sink in order, spooling to disk what a sink cannot take yet (see
//! [`AuditLog`] for open and closed mode). [`StdoutSink`] writes records as JSON lines.

mod chain;
mod log;
mod postgres;
mod record;
mod schema;
mod sink;
mod sqlite;
mod stdout;
mod system_roots;
mod webhook;

pub use chain::{verify, verify_from, Chain, ChainedRecord, VerifyError, GENESIS_HASH};
pub use log::{
    AuditHealth, AuditLog, AuditSettings, NamedSink, NotDurable, SinkHealth, SpoolError,
};
pub use postgres::PgStore;
pub use record::{AuditRecord, EventKind};
pub use sink::{Query, Sink, SinkError, Store};
pub use sqlite::SqliteStore;
pub use stdout::StdoutSink;
pub use webhook::WebhookSink;
