//! A cluster endpoint: an address, or a host name that the proxy resolves.
//!
//! ```yaml
//! endpoints: [192.0.2.10:5060, "im.corp.svc.cluster.local:5060"]
//! ```
//!
//! A name is resolved (A and AAAA, through the system's resolver) when a proxy loads the
//! configuration: at start and with every pushed snapshot, every address it has becomes an
//! endpoint. What suits it is a name whose addresses stay put, such as a Kubernetes Service's;
//! the control plane and `legate validate` check only its syntax.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Debug)]
pub enum Endpoint {
    Address(SocketAddr),
    Name {
        host: String,
        port: u16,
        /// What the name resolved to (see [`Endpoint::resolve`]); empty until then.
        resolved: Arc<[SocketAddr]>,
    },
}

impl Endpoint {
    /// The addresses requests go to: the address itself, or what the name resolved to.
    pub fn addresses(&self) -> &[SocketAddr] {
        match self {
            Endpoint::Address(address) => std::slice::from_ref(address),
            Endpoint::Name { resolved, .. } => resolved,
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            Endpoint::Address(address) => address.port(),
            Endpoint::Name { port, .. } => *port,
        }
    }

    /// Looks a name up (blocking, through the system's resolver); an address stays as it is.
    pub fn resolve(&mut self) -> Result<(), String> {
        let Endpoint::Name {
            host,
            port,
            resolved,
        } = self
        else {
            return Ok(());
        };
        let mut found: Vec<SocketAddr> = (host.as_str(), *port)
            .to_socket_addrs()
            .map_err(|error| format!("{host} cannot be resolved: {error}"))?
            .collect();
        found.sort();
        found.dedup();
        if found.is_empty() {
            return Err(format!("{host} has no address"));
        }
        *resolved = found.into();
        Ok(())
    }
}

/// Endpoints are equal when they are written alike; what a name resolved to does not count.
impl PartialEq for Endpoint {
    fn eq(&self, other: &Endpoint) -> bool {
        match (self, other) {
            (Endpoint::Address(a), Endpoint::Address(b)) => a == b,
            (
                Endpoint::Name {
                    host: a, port: p, ..
                },
                Endpoint::Name {
                    host: b, port: q, ..
                },
            ) => a.eq_ignore_ascii_case(b) && p == q,
            _ => false,
        }
    }
}

impl Eq for Endpoint {}

impl From<SocketAddr> for Endpoint {
    fn from(address: SocketAddr) -> Endpoint {
        Endpoint::Address(address)
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Endpoint, String> {
        if let Ok(address) = text.parse::<SocketAddr>() {
            return Ok(Endpoint::Address(address));
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("`{text}` needs a port: `host:port` or `address:port`"))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{text}`: `{port}` is not a port number"))?;
        // The name's syntax is checked with the rest of the configuration, where the error can
        // name the field.
        Ok(Endpoint::Name {
            host: host.to_string(),
            port,
            resolved: Arc::from([]),
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Address(address) => address.fmt(f),
            Endpoint::Name { host, port, .. } => write!(f, "{host}:{port}"),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Endpoint, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names_are_read_and_written_back_alike() {
        for text in [
            "192.0.2.10:5060",
            "[2001:db8::1]:5061",
            "im.corp.example:5060",
        ] {
            let endpoint: Endpoint = text.parse().unwrap();
            assert_eq!(endpoint.to_string(), text);
        }
        assert!(matches!(
            "192.0.2.10:5060".parse::<Endpoint>(),
            Ok(Endpoint::Address(_))
        ));
        assert!("im.corp.example".parse::<Endpoint>().is_err());
        assert!("im.corp.example:http".parse::<Endpoint>().is_err());
    }

    #[test]
    fn a_name_resolves_to_its_addresses_and_an_address_is_itself() {
        let mut name: Endpoint = "localhost:5070".parse().unwrap();
        assert!(name.addresses().is_empty());
        name.resolve().unwrap();
        assert!(name
            .addresses()
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 5070));
        assert!(!name.addresses().is_empty());
        let mut address: Endpoint = "127.0.0.1:5070".parse().unwrap();
        address.resolve().unwrap();
        assert_eq!(address.addresses(), &["127.0.0.1:5070".parse().unwrap()]);
        // Equal as written, whatever they resolved to.
        assert_eq!(name, "LOCALHOST:5070".parse().unwrap());
    }
}
