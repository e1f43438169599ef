//! The route table: target domain (exact, `*.` wildcard, or `*`) and listener side → cluster
//! or federation partner.

use legate_api::{AttributeRouting, RouteConfig, RouteTarget, Side};

#[derive(Debug)]
struct Entry {
    name: String,
    pattern: Pattern,
    side: Option<Side>,
    target: Target,
    by_attribute: Option<AttributeRouting>,
}

#[derive(Debug)]
enum Target {
    Cluster(String),
    Peer(String),
}

#[derive(Debug, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    /// `*.example.com`: any subdomain, stored as `.example.com`.
    Suffix(String),
    Any,
}

/// The matched route: its name (for logs and audit), the cluster or partner it sends to, and
/// the directory attribute that may pick another cluster for the target user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub route: &'a str,
    pub target: RouteTarget<'a>,
    pub by_attribute: Option<&'a AttributeRouting>,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    entries: Vec<Entry>,
}

impl RouteTable {
    /// The table of validated routes (a route without exactly one target is left out).
    pub fn new(routes: &[RouteConfig]) -> RouteTable {
        let entries = routes
            .iter()
            .filter_map(|route| {
                let domain = route.matcher.domain.to_ascii_lowercase();
                let pattern = if domain == "*" {
                    Pattern::Any
                } else if let Some(rest) = domain.strip_prefix("*.") {
                    Pattern::Suffix(format!(".{rest}"))
                } else {
                    Pattern::Exact(domain)
                };
                let target = match route.target()? {
                    RouteTarget::Cluster(name) => Target::Cluster(name.to_string()),
                    RouteTarget::Peer(name) => Target::Peer(name.to_string()),
                };
                Some(Entry {
                    name: route.name.clone(),
                    pattern,
                    side: route.matcher.side,
                    target,
                    by_attribute: route.by_directory_attribute.clone(),
                })
            })
            .collect();
        RouteTable { entries }
    }

    /// The most specific route for `domain` arriving on `side`: exact beats the longest
    /// wildcard, which beats `*`; among equals, the first in config order.
    pub fn lookup(&self, domain: &str, side: Side) -> Option<RouteMatch<'_>> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.entries
            .iter()
            .filter(|e| e.side.is_none_or(|s| s == side))
            .filter_map(|e| {
                let rank = match &e.pattern {
                    Pattern::Exact(d) if *d == domain => usize::MAX,
                    Pattern::Suffix(s) if domain.ends_with(s.as_str()) => s.len(),
                    Pattern::Any => 0,
                    _ => return None,
                };
                Some((rank, e))
            })
            .fold(None::<(usize, &Entry)>, |best, (rank, e)| match best {
                Some((r, _)) if r >= rank => best,
                _ => Some((rank, e)),
            })
            .map(|(_, e)| RouteMatch {
                route: &e.name,
                target: match &e.target {
                    Target::Cluster(name) => RouteTarget::Cluster(name),
                    Target::Peer(name) => RouteTarget::Peer(name),
                },
                by_attribute: e.by_attribute.as_ref(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster_of(table: &RouteTable, domain: &str, side: Side) -> Option<String> {
        match table.lookup(domain, side)?.target {
            RouteTarget::Cluster(name) => Some(name.to_string()),
            RouteTarget::Peer(_) => None,
        }
    }

    fn route(name: &str, domain: &str, side: Option<Side>, cluster: &str) -> RouteConfig {
        serde_yaml::from_str(&format!(
            "{{ name: {name}, match: {{ domain: '{domain}'{} }}, cluster: {cluster} }}",
            side.map(|s| format!(
                ", side: {}",
                if s == Side::Internal {
                    "internal"
                } else {
                    "external"
                }
            ))
            .unwrap_or_default()
        ))
        .unwrap()
    }

    #[test]
    fn exact_beats_wildcard_beats_any_and_side_filters() {
        let table = RouteTable::new(&[
            route("any", "*", None, "default"),
            route("wild", "*.example.com", None, "wild"),
            route("deeper", "*.eu.example.com", None, "eu"),
            route("exact", "a.example.com", Some(Side::Internal), "exact"),
        ]);
        let cluster = |domain, side| cluster_of(&table, domain, side);
        assert_eq!(cluster("A.Example.com", Side::Internal).unwrap(), "exact");
        assert_eq!(cluster("a.example.com", Side::External).unwrap(), "wild");
        assert_eq!(cluster("x.eu.example.com", Side::External).unwrap(), "eu");
        assert_eq!(cluster("example.com", Side::External).unwrap(), "default");
        assert_eq!(
            RouteTable::new(&[]).lookup("example.com", Side::External),
            None
        );
    }

    #[test]
    fn a_route_may_send_to_a_peer() {
        let to_partner: RouteConfig = serde_yaml::from_str(
            "{ name: p, match: { domain: partner.example, side: internal }, peer: partner }",
        )
        .unwrap();
        let table = RouteTable::new(&[route("any", "*", None, "default"), to_partner]);
        assert_eq!(
            table
                .lookup("partner.example", Side::Internal)
                .unwrap()
                .target,
            RouteTarget::Peer("partner")
        );
        assert_eq!(
            cluster_of(&table, "partner.example", Side::External).unwrap(),
            "default"
        );
    }
}
