//! Legate's own Record-Route state, signed so that any replica can trust it.
//!
//! When Legate record-routes a dialog it writes, into its Record-Route URI, what routing the
//! dialog later needs: which listeners it entered and left by, the initiator's From tag (to tell
//! the two directions apart) and the initiator's flow (to reuse its connection). In-dialog
//! requests bring it back in their Route header, so a replica that never saw the dialog (after a
//! restart or a scale event) routes them the same way. An HMAC over the state and the Call-ID
//! stops a peer from forging state or replaying it onto another dialog.

use std::net::SocketAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use legate_filters::Transport;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// URI parameter holding the encoded state.
pub const STATE_PARAM: &str = "lgs";
/// URI parameter holding the truncated MAC.
pub const MAC_PARAM: &str = "lgm";
const MAC_BYTES: usize = 16;

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
    #[error("route state parameters missing")]
    Missing,
    #[error("route state is not valid base64")]
    Encoding,
    #[error("route state signature does not match (tampered, or from another dialog)")]
    BadSignature,
    #[error("route state does not decode")]
    Malformed,
}

pub struct RouteSigner {
    key: Vec<u8>,
}

impl RouteSigner {
    pub fn new(key: Vec<u8>) -> RouteSigner {
        RouteSigner { key }
    }

    fn mac(&self, state: &[u8], call_id: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable_key(),
        };
        mac.update(b"legate-rr-v1\0");
        mac.update(state);
        mac.update(b"\0");
        mac.update(call_id);
        mac
    }

    /// The `;lgs=…;lgm=…` parameters for a Record-Route URI.
    pub fn encode(&self, state: &RouteState, call_id: &[u8]) -> String {
        let json = serde_json::to_vec(state).unwrap_or_default();
        let tag = self.mac(&json, call_id).finalize().into_bytes();
        let tag = tag.get(..MAC_BYTES).unwrap_or(&tag);
        format!(
            ";{STATE_PARAM}={};{MAC_PARAM}={}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Checks and decodes the state carried by a Route URI's parameters.
    pub fn decode(
        &self,
        state: Option<&str>,
        mac: Option<&str>,
        call_id: &[u8],
    ) -> Result<RouteState, RouteStateError> {
        let (Some(state), Some(mac)) = (state, mac) else {
            return Err(RouteStateError::Missing);
        };
        let json = URL_SAFE_NO_PAD
            .decode(state)
            .map_err(|_| RouteStateError::Encoding)?;
        let tag = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| RouteStateError::Encoding)?;
        if tag.len() != MAC_BYTES {
            return Err(RouteStateError::BadSignature);
        }
        self.mac(&json, call_id)
            .verify_truncated_left(&tag)
            .map_err(|_| RouteStateError::BadSignature)?;
        serde_json::from_slice(&json).map_err(|_| RouteStateError::Malformed)
    }
}

#[cold]
fn unreachable_key() -> ! {
    unreachable!("hmac accepts keys of any length")
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

    fn params(encoded: &str) -> (String, String) {
        let mut state = String::new();
        let mut mac = String::new();
        for part in encoded.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap();
            if k == STATE_PARAM {
                state = v.into();
            } else {
                mac = v.into();
            }
        }
        (state, mac)
    }

    #[test]
    fn round_trips_and_survives_a_new_signer_with_the_same_key() {
        let encoded = RouteSigner::new(b"k".to_vec()).encode(&state(), b"call-1");
        let (s, m) = params(&encoded);
        let other_replica = RouteSigner::new(b"k".to_vec());
        assert_eq!(
            other_replica.decode(Some(&s), Some(&m), b"call-1"),
            Ok(state())
        );
    }

    #[test]
    fn rejects_tampering_replay_and_other_keys() {
        let signer = RouteSigner::new(b"k".to_vec());
        let (s, m) = params(&signer.encode(&state(), b"call-1"));
        assert_eq!(
            signer.decode(Some(&s), Some(&m), b"call-2"),
            Err(RouteStateError::BadSignature)
        );
        let mut forged = state();
        forged.egress = "internal".into();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            signer.decode(Some(&forged), Some(&m), b"call-1"),
            Err(RouteStateError::BadSignature)
        );
        let stranger = RouteSigner::new(b"other".to_vec());
        assert_eq!(
            stranger.decode(Some(&s), Some(&m), b"call-1"),
            Err(RouteStateError::BadSignature)
        );
        assert_eq!(
            signer.decode(Some("%%"), Some(&m), b"call-1"),
            Err(RouteStateError::Encoding)
        );
        assert_eq!(
            signer.decode(None, Some(&m), b"call-1"),
            Err(RouteStateError::Missing)
        );
    }
}
