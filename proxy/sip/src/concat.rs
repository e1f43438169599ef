//! Header values built from pieces, sized once: `format!` costs a formatter pass and a few
//! reallocations per value, and the proxy writes several values for every message.

/// Appends `value` in decimal, as `{value}` writes it, without the formatter.
pub fn push_decimal(text: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut rest = value;
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(digit) = digits.get_mut(start) {
            *digit = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in digits.get(start..).unwrap_or_default() {
        text.push(char::from(digit));
    }
}

/// An address as `Display` writes it: IPv4 without the formatter (every request's `received`).
pub fn ip_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut text = String::with_capacity(15);
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    text.push('.');
                }
                push_decimal(&mut text, u64::from(octet));
            }
            text
        }
        std::net::IpAddr::V6(v6) => v6.to_string(),
    }
}

/// `parts` joined with nothing between them.
pub fn concat(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_read_as_the_formatter_writes_them() {
        for value in [0, 7, 10, 255, 5060, 65535, u64::MAX] {
            let mut text = String::new();
            push_decimal(&mut text, value);
            assert_eq!(text, value.to_string());
        }
        for ip in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "10.20.3.4",
            "::1",
            "2001:db8::7",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn joins_the_parts_in_order() {
        assert_eq!(concat(&["alice", "@", "example.com"]), "alice@example.com");
        assert_eq!(concat(&[]), "");
    }
}
