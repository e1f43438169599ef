//! Bearer-token check for the admin endpoints, also used by the control plane's API.

use http::header::AUTHORIZATION;
use http::HeaderMap;
use subtle::ConstantTimeEq;

/// Who may use the protected endpoints.
#[derive(Clone)]
pub enum Access {
    /// No token configured: the admin API relies on being bound to loopback.
    Open,
    /// Requests must carry `Authorization: Bearer <token>`.
    Token(Vec<u8>),
}

impl Access {
    /// Surrounding whitespace is dropped because tokens usually come from files ending in a
    /// line break, which no header value can contain. A token that is empty after that
    /// denies every request rather than accepting an empty credential.
    pub fn new(token: Option<String>) -> Access {
        match token {
            None => Access::Open,
            Some(token) => Access::Token(token.trim().as_bytes().to_vec()),
        }
    }

    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let expected = match self {
            Access::Open => return true,
            Access::Token(expected) if expected.is_empty() => return false,
            Access::Token(expected) => expected,
        };
        let Some(value) = headers.get(AUTHORIZATION) else {
            return false;
        };
        let Some(presented) = bearer_token(value.as_bytes()) else {
            return false;
        };
        // Constant-time, so response timing does not reveal how much of a guess was right.
        presented.ct_eq(expected).into()
    }
}

/// The credential of a `Bearer` authorization value; the scheme name is case-insensitive
/// (RFC 9110 §11.1).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer";
    let scheme = value.get(..SCHEME.len())?;
    let rest = value.get(SCHEME.len()..)?;
    if !scheme.eq_ignore_ascii_case(SCHEME) || !rest.starts_with(b" ") {
        return None;
    }
    Some(rest.trim_ascii())
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Open => "Open",
            Access::Token(_) => "Token([redacted])",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_auth(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn a_matching_bearer_token_is_allowed() {
        let access = Access::new(Some("s3cret\n".into()));
        assert!(access.allows(&with_auth("Bearer s3cret")));
        assert!(access.allows(&with_auth("bearer s3cret")));
        assert!(access.allows(&with_auth("BEARER   s3cret ")));
    }

    #[test]
    fn anything_else_is_refused() {
        let access = Access::new(Some("s3cret".into()));
        assert!(!access.allows(&HeaderMap::new()));
        assert!(!access.allows(&with_auth("Bearer s3cre")));
        assert!(!access.allows(&with_auth("Bearer s3cret2")));
        assert!(!access.allows(&with_auth("Basic s3cret")));
        assert!(!access.allows(&with_auth("Bearers3cret")));
        assert!(!access.allows(&with_auth("s3cret")));
        assert!(!access.allows(&with_auth("Bearer")));
    }

    #[test]
    fn an_empty_token_denies_everyone() {
        let access = Access::new(Some(" \n".into()));
        assert!(!access.allows(&with_auth("Bearer ")));
        assert!(!access.allows(&HeaderMap::new()));
    }

    #[test]
    fn no_token_means_open() {
        assert!(Access::new(None).allows(&HeaderMap::new()));
    }
}
