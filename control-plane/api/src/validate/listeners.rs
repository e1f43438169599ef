//! Checks for the `listeners` section: names, bound sockets, TLS blocks and filter entries.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::Problems;
use crate::config::{ListenerConfig, Transport};

pub(super) fn check(listeners: &[ListenerConfig], problems: &mut Problems<'_>) {
    if listeners.is_empty() {
        problems.report(
            "listeners",
            "at least one listener is needed, or Legate has nowhere to accept SIP",
        );
    }

    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, listener) in listeners.iter().enumerate() {
        let at = |field: &str| format!("listeners[{i}].{field}");

        if listener.name.trim().is_empty() {
            problems.report(&at("name"), "must not be empty");
        } else if let Some(&first) = names.get(listener.name.as_str()) {
            problems.report(
                &at("name"),
                format!(
                    "listener name `{}` is already used by listeners[{first}]",
                    listener.name
                ),
            );
        } else {
            names.insert(&listener.name, i);
        }

        if let Some(j) = listeners[..i]
            .iter()
            .position(|other| sockets_collide(other, listener))
        {
            problems.report(
                &at("address"),
                format!(
                    "{} over {} collides with listeners[{j}] (`{}`, {} over {}): both cannot bind it",
                    listener.address,
                    listener.transport,
                    listeners[j].name,
                    listeners[j].address,
                    listeners[j].transport
                ),
            );
        }

        match (listener.transport, &listener.tls) {
            (Transport::Tls, None) => problems.report(
                &at("tls"),
                "a `tls` listener needs a `tls` block with `certificate` and `private_key`",
            ),
            (transport, Some(_)) if transport != Transport::Tls => problems.report(
                &at("tls"),
                format!(
                    "only `tls` listeners take a `tls` block; this listener's transport is `{transport}`"
                ),
            ),
            _ => {}
        }

        if let Some(host) = &listener.advertised_host {
            if let Some(problem) = advertised_host_problem(host) {
                problems.report(&at("advertised_host"), problem);
            }
        }

        for (j, filter) in listener.filters.iter().enumerate() {
            if filter.name.trim().is_empty() {
                problems.report(
                    &format!("listeners[{i}].filters[{j}].name"),
                    "a filter needs a name, such as `legate.filters.sip.router`",
                );
            }
        }
    }
}

/// Whether two listeners would fail to bind together: the same kind of socket (UDP, or TCP
/// for both tcp and tls) on the same port, where the addresses are equal or one is a wildcard
/// of the same family. Port 0 asks the system for a free port, so it never collides.
fn sockets_collide(a: &ListenerConfig, b: &ListenerConfig) -> bool {
    a.transport.is_stream() == b.transport.is_stream() && addresses_collide(a.address, b.address)
}

fn addresses_collide(a: SocketAddr, b: SocketAddr) -> bool {
    if a.port() == 0 || a.port() != b.port() || a.is_ipv4() != b.is_ipv4() {
        return false;
    }
    a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified()
}

/// `advertised_host` is copied into Via and Record-Route, so it must be a bare `host` or
/// `host:port` without anything that would break those headers.
fn advertised_host_problem(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some("must not be empty; leave it out to advertise the bound address".into());
    }
    if let Some(bad) = host.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, ';' | ',' | '/' | '<' | '>' | '"' | '@')
    }) {
        return Some(format!(
            "`{host}` contains {bad:?}; write a host name or address, optionally with `:port`"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 1)))
    }

    #[test]
    fn wildcard_and_exact_addresses_collide_on_one_port() {
        assert!(addresses_collide(
            addr("0.0.0.0:5060"),
            addr("127.0.0.1:5060")
        ));
        assert!(addresses_collide(
            addr("127.0.0.1:5060"),
            addr("127.0.0.1:5060")
        ));
        assert!(!addresses_collide(
            addr("127.0.0.1:5060"),
            addr("127.0.0.2:5060")
        ));
        assert!(!addresses_collide(
            addr("127.0.0.1:5060"),
            addr("127.0.0.1:5061")
        ));
        assert!(!addresses_collide(addr("127.0.0.1:0"), addr("127.0.0.1:0")));
        assert!(!addresses_collide(
            addr("[::]:5060"),
            addr("127.0.0.1:5060")
        ));
    }

    #[test]
    fn advertised_hosts_must_fit_in_a_header() {
        assert_eq!(advertised_host_problem("sip.example.com:5061"), None);
        assert_eq!(advertised_host_problem("[2001:db8::1]:5060"), None);
        assert!(advertised_host_problem("sip.example.com;lr").is_some());
        assert!(advertised_host_problem("a b").is_some());
        assert!(advertised_host_problem("").is_some());
    }
}
