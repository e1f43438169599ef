//! One Via value (`via-parm`, RFC 3261 §20.42): the transport, the sent-by address and the
//! parameters (branch, received, rport, ...) the transaction layer and response routing use.

use std::fmt;

use crate::error::ParseError;
use crate::grammar::{is_token_char, Cursor};
use crate::host::{read_host, read_port};
use crate::params::{self, ascii, parse_header_params};
use crate::Text;

/// A Via value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// Protocol name and version, white space removed (`SIP/2.0`).
    pub protocol: Text,
    /// Upper-cased transport (`UDP`, `TCP`, `TLS`, `SCTP`, or any other token).
    pub transport: Text,
    pub host: Text,
    pub port: Option<u16>,
    pub params: Vec<(Text, Option<Text>)>,
}

fn invalid(detail: &'static str) -> ParseError {
    ParseError::InvalidVia { detail }
}

impl Via {
    /// Parses one Via value (one element of a Via header's list). White space is allowed
    /// around `/`, `:`, `;` and `=` as the grammar's SWS allows.
    pub fn parse(text: &[u8]) -> Result<Via, ParseError> {
        let mut cursor = Cursor::new(text);
        cursor.skip_ws();
        let name = token(&mut cursor, "missing protocol name")?;
        slash(&mut cursor)?;
        let version = token(&mut cursor, "missing protocol version")?;
        slash(&mut cursor)?;
        let transport = token(&mut cursor, "missing transport")?;
        if !cursor.skip_ws() {
            return Err(invalid("expected white space before sent-by"));
        }
        let host = read_host(&mut cursor).map_err(invalid)?;
        cursor.skip_ws();
        let port = if cursor.eat(b':') {
            cursor.skip_ws();
            Some(read_port(&mut cursor).map_err(invalid)?)
        } else {
            None
        };
        let params = parse_header_params(cursor.rest())?;
        let mut protocol = ascii(name);
        protocol.push('/');
        protocol.push_str(&ascii(version));
        let mut transport = ascii(transport);
        transport.make_ascii_uppercase();
        Ok(Via {
            protocol,
            transport,
            host,
            port,
            params,
        })
    }

    /// The branch parameter (the transaction id when it starts with `z9hG4bK`).
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// Looks a parameter up by name, ignoring case.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        params::find(&self.params, name)
    }

    /// Sets a parameter (replacing one of the same name), e.g. `received` or `rport`.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        params::set(&mut self.params, name, value);
    }

    /// The sent-by port, or the transport's default (RFC 3261 §18.2.2).
    pub fn sent_by_port_or_default(&self) -> u16 {
        self.port
            .unwrap_or(if self.transport == "TLS" { 5061 } else { 5060 })
    }
}

fn token<'a>(cursor: &mut Cursor<'a>, missing: &'static str) -> Result<&'a [u8], ParseError> {
    let token = cursor.take_while(is_token_char);
    if token.is_empty() {
        return Err(invalid(missing));
    }
    Ok(token)
}

/// `SLASH = SWS "/" SWS`.
fn slash(cursor: &mut Cursor<'_>) -> Result<(), ParseError> {
    cursor.skip_ws();
    if !cursor.eat(b'/') {
        return Err(invalid("expected '/' in sent-protocol"));
    }
    cursor.skip_ws();
    Ok(())
}

impl Via {
    /// The Via as header text, built without the formatter (every request's top Via is
    /// written again when `received` and `rport` are added).
    pub fn to_text(&self) -> String {
        let size = self.protocol.len()
            + self.transport.len()
            + self.host.len()
            + 8
            + params::text_len(&self.params);
        let mut text = String::with_capacity(size);
        for part in [&self.protocol, "/", &self.transport, " ", &self.host] {
            text.push_str(part);
        }
        if let Some(port) = self.port {
            text.push(':');
            crate::push_decimal(&mut text, u64::from(port));
        }
        params::push(&mut text, &self.params);
        text
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() -> Result<(), ParseError> {
        let text = "SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776asdhds;rport";
        let via = Via::parse(text.as_bytes())?;
        assert_eq!(via.protocol, "SIP/2.0");
        assert_eq!(via.transport, "UDP");
        assert_eq!(via.host, "pc33.example.com");
        assert_eq!(via.port, Some(5066));
        assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(via.param("rport"), Some(None));
        assert_eq!(via.to_string(), text);
        assert_eq!(via.to_text(), text);
        Ok(())
    }

    #[test]
    fn tortuous_white_space() -> Result<(), ParseError> {
        let via = Via::parse(b"SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw")?;
        assert_eq!(via.protocol, "SIP/2.0");
        assert_eq!(via.host, "192.0.2.2");
        let spaced = Via::parse(
            b"SIP  / 2.0  / tcp     spindle.example.com   ;\t branch  =   z9hG4bK9ikj8  ",
        )?;
        assert_eq!(spaced.transport, "TCP");
        assert_eq!(spaced.branch(), Some("z9hG4bK9ikj8"));
        let port = Via::parse(b"SIP/2.0/UDP host.example.com : 5070 ; received = 192.0.2.9")?;
        assert_eq!(port.port, Some(5070));
        for via in [&spaced, &port] {
            assert_eq!(via.to_text(), via.to_string());
        }
        assert_eq!(port.param("received"), Some(Some("192.0.2.9")));
        Ok(())
    }

    #[test]
    fn transports_and_defaults() -> Result<(), ParseError> {
        for (text, transport, port) in [
            ("SIP/2.0/TLS a.example.com", "TLS", 5061),
            ("SIP/2.0/SCTP b.example.com", "SCTP", 5060),
            ("SIP/2.0/UNKNOWN c.example.com", "UNKNOWN", 5060),
            ("SIP/2.0/TLS [2001:db8::1]:5081", "TLS", 5081),
        ] {
            let via = Via::parse(text.as_bytes())?;
            assert_eq!(via.transport, transport);
            assert_eq!(via.sent_by_port_or_default(), port);
        }
        Ok(())
    }

    #[test]
    fn set_params() -> Result<(), ParseError> {
        let mut via = Via::parse(b"SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport")?;
        via.set_param("received", Some("192.0.2.7"));
        via.set_param("rport", Some("5999"));
        assert_eq!(
            via.to_string(),
            "SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport=5999;received=192.0.2.7"
        );
        Ok(())
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0 UDP host.example.com",
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP host.example.com;branch=",
            "SIP/2.0/UDPhost.example.com",
            "SIP/2.0/UDP host.example.com:",
            "SIP/2.0/UDP host.example.com:70000",
            "SIP/2.0/UDP host.example.com junk",
            "SIP/2.0/UDP <host.example.com>",
        ] {
            assert!(Via::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
