//! The HTTP API the proxies and operators use (see [`legate_api::push`] for the protocol):
//!
//! | endpoint                               | answer                                        |
//! |----------------------------------------|-----------------------------------------------|
//! | `GET /v1/snapshot?node=<id>&version=<v>` | `200` [`SnapshotPush`](legate_api::push::SnapshotPush), or `204` after the long poll |
//! | `POST /v1/ack`                         | `204`; the [`Ack`](legate_api::push::Ack) is recorded |
//! | `GET /v1/status`                       | `200` [`Status`](legate_api::push::Status)     |
//! | `GET /v1/errors`                       | `200` [`Errors`](crate::Errors): why the last change was refused |
//!
//! Every endpoint needs `Authorization: Bearer <token>` unless the server was started
//! without a token on loopback.

mod query;
mod respond;
mod server;

pub use server::serve;
