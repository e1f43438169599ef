//! SIP request methods: the ones the proxy knows by name, and any other token as an extension
//! (RFC 3261 §7.1: methods are case-sensitive tokens, unknown ones are still valid).

use std::fmt;

use crate::error::{snippet, ParseError};
use crate::grammar::is_token;

/// A request method.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Subscribe,
    Notify,
    Message,
    Refer,
    Info,
    Update,
    Prack,
    Publish,
    /// Any other token, exactly as written (`invite` is an extension, not INVITE).
    Extension(String),
}

impl Method {
    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Message => "MESSAGE",
            Method::Refer => "REFER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Extension(token) => token,
        }
    }

    /// Parses a method token; anything that is not a token is an error.
    pub fn parse(token: &[u8]) -> Result<Method, ParseError> {
        let method = match token {
            b"INVITE" => Method::Invite,
            b"ACK" => Method::Ack,
            b"BYE" => Method::Bye,
            b"CANCEL" => Method::Cancel,
            b"OPTIONS" => Method::Options,
            b"REGISTER" => Method::Register,
            b"SUBSCRIBE" => Method::Subscribe,
            b"NOTIFY" => Method::Notify,
            b"MESSAGE" => Method::Message,
            b"REFER" => Method::Refer,
            b"INFO" => Method::Info,
            b"UPDATE" => Method::Update,
            b"PRACK" => Method::Prack,
            b"PUBLISH" => Method::Publish,
            other if is_token(other) => {
                // Token characters are ASCII, so this conversion cannot lose anything.
                Method::Extension(String::from_utf8_lossy(other).into_owned())
            }
            other => {
                return Err(ParseError::InvalidMethod {
                    method: snippet(other),
                })
            }
        };
        Ok(method)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_round_trip() -> Result<(), ParseError> {
        for name in [
            "INVITE",
            "ACK",
            "BYE",
            "CANCEL",
            "OPTIONS",
            "REGISTER",
            "SUBSCRIBE",
            "NOTIFY",
            "MESSAGE",
            "REFER",
            "INFO",
            "UPDATE",
            "PRACK",
            "PUBLISH",
        ] {
            let method = Method::parse(name.as_bytes())?;
            assert!(!matches!(method, Method::Extension(_)), "{name}");
            assert_eq!(method.to_string(), name);
        }
        Ok(())
    }

    #[test]
    fn methods_are_case_sensitive() -> Result<(), ParseError> {
        assert_eq!(
            Method::parse(b"invite")?,
            Method::Extension("invite".into())
        );
        assert_eq!(
            Method::parse(b"NEWMETHOD")?,
            Method::Extension("NEWMETHOD".into())
        );
        Ok(())
    }

    #[test]
    fn unusual_tokens_are_methods() -> Result<(), ParseError> {
        let odd = "!interesting-Method0123456789_*+`.%indeed'~";
        assert_eq!(Method::parse(odd.as_bytes())?.as_str(), odd);
        Ok(())
    }

    #[test]
    fn non_tokens_are_rejected() {
        for bad in [&b""[..], b"IN VITE", b"INVITE:", b"<x>", b"caf\xc3\xa9"] {
            assert!(Method::parse(bad).is_err(), "{bad:?}");
        }
    }
}
