//! Accepted connections must never exhaust the process's file descriptors: with none left,
//! `accept` fails at once in a loop and nobody, partners included, can connect. Legate raises
//! its soft limit to the hard one at start and keeps its connection cap below it, leaving room
//! for its own sockets and files.

/// Descriptors kept for everything but accepted external connections: listeners, upstream
/// connections, the audit store, configuration and certificate files.
pub const RESERVED_DESCRIPTORS: u64 = 1024;

/// The connection cap to use: the configured one, lowered to fit under the descriptor limit
/// (raised to the hard limit first) minus the reserve.
pub fn connection_cap(configured: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "the file-descriptor limit cannot be read; connection cap kept as configured");
            return configured;
        }
    };
    let room = limit.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    if room < configured {
        tracing::warn!(
            configured,
            cap = room,
            descriptor_limit = limit,
            "proxy.edge.total.max_connections lowered to fit the file-descriptor limit"
        );
    }
    configured.min(room)
}
