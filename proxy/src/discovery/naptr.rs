//! Which NAPTR records lead to SIP over TLS (RFC 3263 §4.1, RFC 3403): service `SIPS+D2T`,
//! flag `S` (the replacement is an SRV name), in order, then preference.

/// One NAPTR record, as far as SIP needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Naptr {
    pub order: u16,
    pub preference: u16,
    pub flags: String,
    pub services: String,
    /// The SRV name to look up next, fully qualified.
    pub replacement: String,
}

/// The SRV names to look up, best first; empty when no record offers SIP over TLS.
pub(super) fn sips_srv_names(mut records: Vec<Naptr>) -> Vec<String> {
    records.retain(|r| {
        r.services.eq_ignore_ascii_case("SIPS+D2T")
            && r.flags.eq_ignore_ascii_case("s")
            && !r.replacement.trim_end_matches('.').is_empty()
    });
    records.sort_by_key(|r| (r.order, r.preference));
    let mut names: Vec<String> = Vec::new();
    for record in records {
        if !names.contains(&record.replacement) {
            names.push(record.replacement);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naptr(order: u16, preference: u16, flags: &str, services: &str, to: &str) -> Naptr {
        Naptr {
            order,
            preference,
            flags: flags.into(),
            services: services.into(),
            replacement: to.into(),
        }
    }

    #[test]
    fn only_sips_over_tcp_in_order_then_preference() {
        let names = sips_srv_names(vec![
            naptr(20, 10, "s", "SIPS+D2T", "_sips._tcp.late.example."),
            naptr(10, 20, "S", "sips+d2t", "_sips._tcp.second.example."),
            naptr(10, 10, "s", "SIPS+D2T", "_sips._tcp.first.example."),
            naptr(1, 1, "s", "SIP+D2U", "_sip._udp.example."),
            naptr(1, 1, "s", "SIP+D2T", "_sip._tcp.example."),
            naptr(1, 1, "a", "SIPS+D2T", "host.example."),
            naptr(1, 1, "s", "SIPS+D2T", "."),
        ]);
        assert_eq!(
            names,
            [
                "_sips._tcp.first.example.",
                "_sips._tcp.second.example.",
                "_sips._tcp.late.example."
            ]
        );
    }

    #[test]
    fn nothing_usable_is_empty() {
        assert!(sips_srv_names(vec![naptr(1, 1, "s", "SIP+D2U", "_sip._udp.x.")]).is_empty());
    }
}
