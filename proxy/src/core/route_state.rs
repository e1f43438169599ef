//! Legate's own Record-Route state, sealed so that any replica can trust it and no partner can
//! read it.
//!
//! When Legate record-routes a dialog it writes, into its Record-Route URI, what routing the
//! dialog later needs: which listeners it entered and left by, the initiator's From tag (to tell
//! the two directions apart) and the initiator's flow (to reuse its connection). In-dialog
//! requests bring it back in their Route header, so a replica that never saw the dialog (after a
//! restart or a scale event) routes them the same way.
//!
//! The state is sealed with the topology sealer (AES-GCM) and bound to the Call-ID: a peer can
//! neither read it (it names listeners and the initiator's address), forge it, nor move it onto
//! another dialog. What a replay of it may still reach is decided in `engine::route_set`.

use std::net::SocketAddr;

use legate_filters_api::Transport;
use serde::{Deserialize, Serialize};

use super::sealer::{bound, SealError, Sealer};

/// URI parameter holding the sealed state.
pub const STATE_PARAM: &str = "lgs";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteState {
    /// Listener the dialog-creating request arrived on.
    #[serde(rename = "i")]
    pub ingress: String,
    /// Listener it left by.
    #[serde(rename = "e")]
    pub egress: String,
    /// From tag of the dialog initiator.
    #[serde(rename = "t")]
    pub initiator_tag: String,
    /// Transport and address the initiator's request came from.
    #[serde(rename = "f")]
    pub initiator_flow: Option<(Transport, SocketAddr)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteStateError {
    #[error("route state is not valid base64")]
    Encoding,
    #[error("route state does not open (tampered, or from another dialog)")]
    Forged,
    #[error("route state does not decode")]
    Malformed,
}

impl From<SealError> for RouteStateError {
    fn from(error: SealError) -> Self {
        match error {
            SealError::Encoding => RouteStateError::Encoding,
            SealError::Forged => RouteStateError::Forged,
        }
    }
}

impl RouteState {
    /// The `;lgs=…` parameter for a Record-Route URI.
    pub fn seal(&self, sealer: &Sealer, call_id: &[u8]) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!(
            ";{STATE_PARAM}={}",
            sealer.seal(&json, &bound(STATE_PARAM, call_id))
        )
    }

    /// Opens the state carried by a Route URI's `lgs` parameter.
    pub fn open(sealer: &Sealer, token: &str, call_id: &[u8]) -> Result<Self, RouteStateError> {
        let json = sealer.open(token, &bound(STATE_PARAM, call_id))?;
        serde_json::from_slice(&json).map_err(|_| RouteStateError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RouteState {
        RouteState {
            ingress: "internal".into(),
            egress: "external".into(),
            initiator_tag: "a1".into(),
            initiator_flow: Some((Transport::Tcp, "127.0.0.1:5000".parse().unwrap())),
        }
    }

    fn token(param: &str) -> &str {
        param.strip_prefix(";lgs=").unwrap()
    }

    #[test]
    fn round_trips_and_opens_on_another_replica_with_the_same_secret() {
        let sealed = state().seal(&Sealer::new(b"k"), b"call-1");
        let other_replica = Sealer::new(b"k");
        assert_eq!(
            RouteState::open(&other_replica, token(&sealed), b"call-1"),
            Ok(state())
        );
    }

    #[test]
    fn reveals_nothing_and_refuses_tampering_replay_and_other_keys() {
        let sealer = Sealer::new(b"k");
        let sealed = state().seal(&sealer, b"call-1");
        for secret in ["internal", "external", "127.0.0.1", "5000"] {
            assert!(!sealed.contains(secret), "{secret} readable in {sealed}");
        }
        assert_eq!(
            RouteState::open(&sealer, token(&sealed), b"call-2"),
            Err(RouteStateError::Forged)
        );
        let stranger = Sealer::new(b"other");
        assert_eq!(
            RouteState::open(&stranger, token(&sealed), b"call-1"),
            Err(RouteStateError::Forged)
        );
        assert_eq!(
            RouteState::open(&sealer, "%%", b"call-1"),
            Err(RouteStateError::Encoding)
        );
        // A value sealed for the same Call-ID but another purpose does not open as route state.
        let contact = sealer.seal(b"sip:alice@10.0.0.5", b"call-1");
        assert_eq!(
            RouteState::open(&sealer, &contact, b"call-1"),
            Err(RouteStateError::Forged)
        );
    }
}
