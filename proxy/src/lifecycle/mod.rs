//! A listener's life, in one place: bound before the server runs ([`bind`]: sockets, the admin
//! address, TLS material), opened in the runtime and served ([`serve`]), changed by a snapshot
//! that adds, moves or removes listeners or rotates their certificates ([`change`],
//! [`tls_rotation`]), and retired: it stops accepting, drains for the grace period, then closes
//! ([`serve::retire`]).

pub mod bind;
pub mod change;
pub mod serve;
pub mod tls_rotation;
