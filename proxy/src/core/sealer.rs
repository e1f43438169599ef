//! Sealed parameters: what topology hiding takes out of a message (internal Vias, Record-Route
//! entries, Contacts) travels with the message in a parameter only Legate can read.
//!
//! AES-256-GCM with a key derived from the record-route secret, so every replica opens what any
//! other sealed. The associated data binds a sealed value to where it belongs (a Via branch, a
//! Call-ID): a peer can neither read it, forge it, nor move it onto another transaction or
//! dialog to reach an internal host of its choosing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is not valid base64")]
    Encoding,
    #[error("sealed value does not open (tampered, or from another dialog)")]
    Forged,
}

/// What a sealed value is bound to: its purpose (the parameter that carries it) and what it
/// belongs to (a Call-ID, a branch), so a value sealed for one purpose never opens as another.
pub fn bound(purpose: &str, to: &[u8]) -> Vec<u8> {
    let mut context = Vec::with_capacity(purpose.len() + 1 + to.len());
    context.extend_from_slice(purpose.as_bytes());
    context.push(0);
    context.extend_from_slice(to);
    context
}

pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// A sealer whose key is derived from `secret` (the record-route secret).
    pub fn new(secret: &[u8]) -> Sealer {
        // HMAC accepts keys of any length, and a 32-byte key always fits AES-256.
        let derived = Hmac::<Sha256>::new_from_slice(secret)
            .map(|mut mac| {
                mac.update(b"legate-topology-v1");
                mac.finalize().into_bytes()
            })
            .unwrap_or_default();
        let key = match UnboundKey::new(&AES_256_GCM, &derived) {
            Ok(key) => LessSafeKey::new(key),
            Err(_) => unreachable_key(),
        };
        Sealer { key }
    }

    /// `plaintext` sealed for `context`, as URL-safe base64 (valid in URI and Via parameters).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut sealed = plaintext.to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        if self
            .key
            .seal_in_place_append_tag(nonce, Aad::from(context), &mut sealed)
            .is_err()
        {
            // Only inputs beyond GCM's size limit fail; headers never come close.
            return String::new();
        }
        let mut token = nonce_bytes.to_vec();
        token.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// Opens what [`Sealer::seal`] made for the same `context`.
    pub fn open(&self, token: &str, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| SealError::Encoding)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Forged);
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| SealError::Forged)?;
        let opened = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut sealed)
            .map_err(|_| SealError::Forged)?;
        Ok(opened.to_vec())
    }

    /// Several header values sealed as one (a JSON list keeps them apart whatever they hold).
    pub fn seal_values(&self, values: &[String], context: &[u8]) -> String {
        self.seal(&serde_json::to_vec(values).unwrap_or_default(), context)
    }

    pub fn open_values(&self, token: &str, context: &[u8]) -> Result<Vec<String>, SealError> {
        serde_json::from_slice(&self.open(token, context)?).map_err(|_| SealError::Forged)
    }
}

#[cold]
fn unreachable_key() -> ! {
    unreachable!("a 32-byte key always fits AES-256-GCM")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_context_and_key() {
        let sealer = Sealer::new(b"secret");
        let values = vec!["SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa".to_string()];
        let token = sealer.seal_values(&values, b"call-1");
        assert!(!token.contains("10.0.0.5"));
        assert_eq!(sealer.open_values(&token, b"call-1"), Ok(values));
        assert_eq!(
            sealer.open_values(&token, b"call-2"),
            Err(SealError::Forged)
        );
        let other = Sealer::new(b"other secret");
        assert_eq!(other.open_values(&token, b"call-1"), Err(SealError::Forged));
    }

    #[test]
    fn tampered_or_garbage_tokens_are_refused() {
        let sealer = Sealer::new(b"secret");
        let mut token = sealer.seal(b"sip:alice@10.0.0.5", b"c");
        let last = token.pop().unwrap();
        token.push(if last == 'A' { 'B' } else { 'A' });
        assert!(sealer.open(&token, b"c").is_err());
        assert_eq!(sealer.open("not base64!", b"c"), Err(SealError::Encoding));
        assert_eq!(sealer.open("", b"c"), Err(SealError::Forged));
        assert_eq!(sealer.open("AAAA", b"c"), Err(SealError::Forged));
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let sealer = Sealer::new(b"secret");
        assert_ne!(sealer.seal(b"x", b"c"), sealer.seal(b"x", b"c"));
    }
}
