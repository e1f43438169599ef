//! IPv4 and IPv6 address ranges in CIDR notation, parsed once at build time.

use std::fmt;
use std::net::IpAddr;

/// An address range: `10.1.0.0/16`, `2001:db8::/32`. Bits past the prefix are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/length`. The error says what was expected, for a config message.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let expected = || format!("`{text}` is not a CIDR (expected a.b.c.d/len or x:x::x/len)");
        let (address, length) = text.trim().split_once('/').ok_or_else(expected)?;
        let network: IpAddr = address.parse().map_err(|_| expected())?;
        let prefix: u8 = length.parse().map_err(|_| expected())?;
        let max = max_prefix(network);
        if prefix > max {
            return Err(format!(
                "`{text}`: prefix length {prefix} is longer than {max}"
            ));
        }
        let cidr = Cidr { network, prefix };
        let masked = cidr.masked(network);
        if masked != network {
            // A typo like 10.1.2.0/16 usually means a narrower range than it says.
            return Err(format!(
                "`{text}` has bits set past the prefix (did you mean {masked}/{prefix}?)"
            ));
        }
        Ok(cidr)
    }

    /// Whether `address` is in the range. An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, as a
    /// dual-stack socket reports IPv4 peers) counts as the IPv4 address.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        address.is_ipv4() == self.network.is_ipv4() && self.masked(address) == self.network
    }

    /// `address` with the bits past the prefix cleared; same family as the network.
    fn masked(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_contain_their_addresses_only() {
        let v4 = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(v4.contains(ip("10.1.255.7")));
        assert!(!v4.contains(ip("10.2.0.1")));
        assert!(v4.contains(ip("::ffff:10.1.0.9")));
        assert!(!v4.contains(ip("2001:db8::1")));
        let v6 = Cidr::parse("2001:db8:1::/48").unwrap();
        assert!(v6.contains(ip("2001:db8:1:ffff::1")));
        assert!(!v6.contains(ip("2001:db8:2::1")));
        assert!(!v6.contains(ip("10.1.0.1")));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("203.0.113.5")));
        let one = Cidr::parse("192.0.2.7/32").unwrap();
        assert!(one.contains(ip("192.0.2.7")));
        assert!(!one.contains(ip("192.0.2.8")));
        assert_eq!(v6.to_string(), "2001:db8:1::/48");
    }

    #[test]
    fn malformed_ranges_are_refused_with_a_reason() {
        for (text, message) in [
            ("10.1.0.0", "not a CIDR"),
            ("10.1.0/16", "not a CIDR"),
            ("10.1.0.0/x", "not a CIDR"),
            ("10.1.0.0/33", "longer than 32"),
            ("::/129", "longer than 128"),
            ("10.1.2.0/16", "did you mean 10.1.0.0/16?"),
        ] {
            let error = Cidr::parse(text).unwrap_err();
            assert!(error.contains(message), "{text}: {error}");
        }
    }
}
