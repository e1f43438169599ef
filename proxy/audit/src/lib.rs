//! Audit: a tamper-evident record of every interaction that crosses the boundary.
//!
//! An [`AuditRecord`] says who talked to whom about what, through which partner and listener,
//! what policy decided and how it ended. Records are linked into a hash chain per partition
//! ([`ChainedRecord`]: each carries the hash of the one before it), so an edited, removed or
//! reordered record is found by [`verify`]. A [`Sink`] makes records durable (a database, a log
//! stream, a compliance tool's webhook); a [`Store`] can also read them back for queries and
//! verification.
//!
//! An [`AuditLog`] is the pipeline between the two: it links records into its partition's chain
//! and hands them to every sink in order, spooling to disk what a sink cannot take yet (see
//! [`AuditLog`] for open and closed mode). [`StdoutSink`] writes records as JSON lines.
//!
//! This crate holds no database or HTTP client: the stores (SQLite, PostgreSQL) and the webhook
//! sink are in `legate-audit-stores`, so what only builds audit records (the audit filter, the
//! control plane checking its config) links none of them.

mod chain;
mod log;
mod record;
mod sink;
mod stdout;

pub use chain::{verify, verify_from, Chain, ChainedRecord, VerifyError, GENESIS_HASH};
pub use log::{
    AuditHealth, AuditLog, AuditSettings, NamedSink, NotDurable, SinkHealth, SpoolError,
};
pub use record::{AuditRecord, EventKind};
pub use sink::{Query, Sink, SinkError, Store};
pub use stdout::StdoutSink;
