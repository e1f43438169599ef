//! [`AdminState`]: what the admin API asks of the running proxy.

/// The proxy's view offered to the admin API. Implemented by the proxy; called on every
/// `/readyz` and `/config_dump` request, so both should be cheap reads of current state.
pub trait AdminState: Send + Sync + 'static {
    /// Whether the proxy should receive traffic: `false` while starting or draining.
    fn ready(&self) -> bool;

    /// The running configuration as JSON. The caller redacts secrets before returning it
    /// (for example with `legate_api::redacted_json`); the admin API shows it as given.
    fn config_dump(&self) -> serde_json::Value;

    /// Lines shown under `ready` / `not ready` on `/readyz` (the audit sinks' state, say);
    /// none by default.
    fn readiness_detail(&self) -> Vec<String> {
        Vec::new()
    }
}
