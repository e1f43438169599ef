//! Configuration mistakes in the federation sections (directories, LDAP, peers, routes to
//! peers, DNS) are reported with the right field path, line and advice.

mod common;

use common::{assert_error, CLUSTER, LISTENER};
use legate_api::load_str;

#[test]
fn directories_need_unique_names_and_a_source() {
    let duplicate = format!(
        "directories:\n  - name: corp\n    static: {{ file: a.yaml }}\n  - {{ name: corp, static: {{ file: b.yaml }} }}\n{LISTENER}"
    );
    assert_error(
        &duplicate,
        "directories[1].name",
        "b.yaml",
        "already defined",
    );
    let sourceless = format!("directories:\n  - name: corp\n{LISTENER}");
    assert_error(
        &sourceless,
        "directories[0]",
        "- name: corp",
        "needs a source",
    );
    let unknown =
        format!("directories:\n  - name: corp\n    statik: {{ file: a.yaml }}\n{LISTENER}");
    assert!(load_str(&unknown, "legate.yaml").is_err());
}

/// An LDAP directory at line 2; `fields` are extra lines under `ldap:` (4 spaces in).
fn ldap_directory(fields: &str) -> String {
    format!(
        "directories:\n  - name: corp\n    ldap:\n      url: ldap://127.0.0.1:3890\n      user_base: ou=people,dc=corp,dc=example\n{fields}{LISTENER}"
    )
}

#[test]
fn a_valid_ldap_directory_loads() {
    let text = ldap_directory(
        "      domains: [corp.example]\n      group_base: ou=groups,dc=corp,dc=example\n      attributes: { imHomeSystem: description }\n",
    );
    let loaded = load_str(&text, "legate.yaml").unwrap();
    let ldap = loaded.config.directories[0].ldap.as_ref().unwrap();
    assert_eq!(ldap.domains, ["corp.example"]);
    assert_eq!(ldap.attributes["imHomeSystem"], "description");
    // `{domain}` in the filter stands in for `domains`.
    let by_filter = ldap_directory("      user_filter: \"(&(uid={user})(mailDomain={domain}))\"\n");
    assert!(load_str(&by_filter, "legate.yaml").is_ok());
}

#[test]
fn a_directory_has_exactly_one_source() {
    let both = format!(
        "directories:\n  - name: corp\n    static: {{ file: a.yaml }}\n    ldap: {{ url: \"ldap://127.0.0.1\", user_base: \"dc=x\", domains: [x.example] }}\n{LISTENER}"
    );
    assert_error(&both, "directories[0].ldap", "ldap: {", "not both");
}

#[test]
fn ldap_urls_are_ldap_or_ldaps_host_and_port() {
    for (url, says) in [
        ("http://127.0.0.1", "write `ldap://host[:port]`"),
        ("ldap://", "host name or address is missing"),
        ("ldap://127.0.0.1:0", "not a port number"),
        ("ldap://127.0.0.1:x", "not a port number"),
        ("ldap://127.0.0.1/dc=corp", "leave out the path"),
    ] {
        let text =
            ldap_directory("      domains: [corp.example]\n").replace("ldap://127.0.0.1:3890", url);
        assert_error(&text, "directories[0].ldap.url", "url:", says);
    }
    let ipv6 = ldap_directory("      domains: [corp.example]\n")
        .replace("ldap://127.0.0.1:3890", "ldap://[::1]");
    assert!(load_str(&ipv6, "legate.yaml").is_ok());
}

#[test]
fn ldap_tls_needs_a_ca_and_one_way_of_starting() {
    let domains = "      domains: [corp.example]\n";
    let no_ca = ldap_directory(&format!("{domains}      start_tls: true\n"));
    assert_error(
        &no_ca,
        "directories[0].ldap.tls_ca",
        "ldap:",
        "TLS needs `tls_ca`",
    );
    let both = ldap_directory(&format!(
        "{domains}      start_tls: true\n      tls_ca: ca.pem\n"
    ))
    .replace("ldap://127.0.0.1:3890", "ldaps://127.0.0.1");
    assert_error(
        &both,
        "directories[0].ldap.start_tls",
        "start_tls",
        "ldaps:// is TLS from the start",
    );
    let unused = ldap_directory(&format!("{domains}      tls_ca: ca.pem\n"));
    assert_error(
        &unused,
        "directories[0].ldap.tls_ca",
        "tls_ca",
        "only used with TLS",
    );
}

#[test]
fn ldap_bind_needs_both_dn_and_password() {
    let domains = "      domains: [corp.example]\n";
    let no_password = ldap_directory(&format!("{domains}      bind_dn: cn=legate,dc=corp\n"));
    assert_error(
        &no_password,
        "directories[0].ldap.bind_dn",
        "bind_dn",
        "needs `bind_password`",
    );
    let empty = ldap_directory(&format!(
        "{domains}      bind_dn: cn=legate,dc=corp\n      bind_password: {{ value: \"\" }}\n"
    ));
    assert_error(
        &empty,
        "directories[0].ldap.bind_password.value",
        "bind_password",
        "must not be empty",
    );
}

#[test]
fn ldap_filters_are_checked_before_any_search() {
    for (filter, says) in [
        ("uid={user}", "not an LDAP filter"),
        ("(uid={user})(", "not an LDAP filter"),
        (
            "(uid={usr})",
            "unknown placeholder `{usr}`; use {user}, {domain}",
        ),
        ("(uid={user)", "is not closed"),
        ("(objectClass=person)", "must use {user}"),
    ] {
        let text = ldap_directory(&format!(
            "      domains: [corp.example]\n      user_filter: \"{filter}\"\n"
        ));
        assert_error(
            &text,
            "directories[0].ldap.user_filter",
            "user_filter",
            says,
        );
    }
    let no_domain = ldap_directory("");
    assert_error(
        &no_domain,
        "directories[0].ldap.domains",
        "ldap:",
        "say which domains this directory knows",
    );
}

#[test]
fn ldap_groups_come_from_one_place() {
    let domains = "      domains: [corp.example]\n";
    let both = ldap_directory(&format!(
        "{domains}      member_of: memberOf\n      group_base: ou=groups,dc=corp\n"
    ));
    assert_error(
        &both,
        "directories[0].ldap.member_of",
        "member_of",
        "not both",
    );
    let no_base = ldap_directory(&format!(
        "{domains}      group_filter: \"(member={{dn}})\"\n"
    ));
    assert_error(
        &no_base,
        "directories[0].ldap.group_filter",
        "group_filter",
        "needs `group_base`",
    );
    let everyone = ldap_directory(&format!(
        "{domains}      group_base: ou=groups,dc=corp\n      group_filter: \"(objectClass=groupOfNames)\"\n"
    ));
    assert_error(
        &everyone,
        "directories[0].ldap.group_filter",
        "group_filter",
        "must use {dn}",
    );
    let bad_attribute = ldap_directory(&format!(
        "{domains}      attributes: {{ imHomeSystem: \"desc ription\" }}\n"
    ));
    assert_error(
        &bad_attribute,
        "directories[0].ldap.attributes.imHomeSystem",
        "imHomeSystem",
        "not an LDAP attribute name",
    );
}

#[test]
fn ldap_pool_timeout_and_cache_are_positive() {
    let domains = "      domains: [corp.example]\n";
    let pool = ldap_directory(&format!("{domains}      pool_size: 0\n"));
    assert_error(
        &pool,
        "directories[0].ldap.pool_size",
        "pool_size",
        "at least 1",
    );
    let timeout = ldap_directory(&format!("{domains}      timeout: 0s\n"));
    assert_error(
        &timeout,
        "directories[0].ldap.timeout",
        "timeout",
        "greater than zero",
    );
    let cache = ldap_directory(&format!("{domains}      cache: {{ max_entries: 0 }}\n"));
    assert_error(
        &cache,
        "directories[0].ldap.cache.max_entries",
        "cache",
        "at least 1",
    );
}

const PEER: &str = "  - name: partner\n    domains: [partner.example]\n    reach: { address: 192.0.2.10:5061 }\n    trust_bundle: partner-ca.pem\n";

#[test]
fn a_valid_peer_loads_with_its_limits() {
    let text = format!(
        "peers:\n{PEER}    limits: {{ requests_per_second: 50, burst: 100, max_subscriptions_per_user: 5 }}\n{LISTENER}"
    );
    let loaded = load_str(&text, "legate.yaml").unwrap();
    let peer = &loaded.config.peers[0];
    assert_eq!(peer.domains, ["partner.example"]);
    assert_eq!(peer.limits.burst, Some(100));
    assert_eq!(peer.limits.max_sessions, None);
}

#[test]
fn a_domain_has_one_owner_and_peers_say_how_to_reach_them() {
    let stolen = format!(
        "peers:\n{PEER}  - name: other\n    domains: [Partner.example]\n    reach: {{ dns: true }}\n    trust_bundle: other.pem\n{LISTENER}"
    );
    assert_error(
        &stolen,
        "peers[1].domains[0]",
        "Partner.example",
        "already owned by peers[0]",
    );
    let unreachable = format!(
        "peers:\n  - name: partner\n    domains: [partner.example]\n    reach: {{}}\n    trust_bundle: ca.pem\n{LISTENER}"
    );
    assert_error(
        &unreachable,
        "peers[0].reach",
        "reach: {}",
        "say how to reach the peer",
    );
    let wildcard = format!(
        "peers:\n  - name: partner\n    domains: ['*.partner.example']\n    reach: {{ dns: true }}\n    trust_bundle: ca.pem\n{LISTENER}"
    );
    assert_error(
        &wildcard,
        "peers[0].domains[0]",
        "*.partner.example",
        "no wildcards",
    );
    let zero = format!("peers:\n{PEER}    limits: {{ max_sessions: 0 }}\n{LISTENER}");
    assert_error(
        &zero,
        "peers[0].limits.max_sessions",
        "max_sessions",
        "at least 1",
    );
}

#[test]
fn attribute_routing_names_known_directories_and_clusters() {
    let text = format!(
        "clusters:\n  - {{ name: a, transport: udp, endpoints: [127.0.0.1:5070] }}\nroutes:\n  - name: r\n    match: {{ domain: acme.example }}\n    cluster: a\n    by_directory_attribute:\n      directory: nowhere\n      attribute: imHomeSystem\n      clusters: {{ legacy: missing }}\n{LISTENER}"
    );
    assert_error(
        &text,
        "routes[0].by_directory_attribute.directory",
        "directory: nowhere",
        "no directory named `nowhere`",
    );
    let with_directory =
        format!("directories:\n  - {{ name: nowhere, static: {{ file: d.yaml }} }}\n{text}");
    assert_error(
        &with_directory,
        "routes[0].by_directory_attribute.clusters.legacy",
        "legacy: missing",
        "missing",
    );
}

const TLS_LISTENER: &str = "\
listeners:
  - name: external
    address: 127.0.0.1:5061
    transport: tls
    side: external
    tls: { certificate: acme.pem, private_key: acme.key }
";

fn peer_route(target: &str) -> String {
    format!("routes:\n  - name: to-partner\n    match: {{ domain: partner.example, side: internal }}\n{target}")
}

#[test]
fn a_route_may_send_to_a_peer() {
    let text = format!(
        "{TLS_LISTENER}peers:\n{PEER}{}",
        peer_route("    peer: partner\n")
    );
    let loaded = load_str(&text, "legate.yaml").unwrap();
    assert_eq!(
        loaded.config.routes[0].target(),
        Some(legate_api::RouteTarget::Peer("partner"))
    );
}

#[test]
fn a_route_names_exactly_one_known_cluster_or_peer() {
    let neither = format!("{TLS_LISTENER}peers:\n{PEER}{}", peer_route(""));
    assert_error(
        &neither,
        "routes[0]",
        "- name: to-partner",
        "`cluster: NAME` or `peer: NAME`",
    );
    let both = format!(
        "{TLS_LISTENER}{CLUSTER}peers:\n{PEER}{}",
        peer_route("    cluster: remote-peer\n    peer: partner\n")
    );
    assert_error(&both, "routes[0].peer", "peer: partner", "not both");
    let misspelt = format!(
        "{TLS_LISTENER}peers:\n{PEER}{}",
        peer_route("    peer: partnr\n")
    );
    assert_error(
        &misspelt,
        "routes[0].peer",
        "peer: partnr",
        "unknown peer `partnr` (did you mean `partner`?)",
    );
    let none = format!("{TLS_LISTENER}{}", peer_route("    peer: partner\n"));
    assert_error(
        &none,
        "routes[0].peer",
        "peer: partner",
        "no peers are defined",
    );
}

#[test]
fn a_route_to_a_peer_needs_a_certificate_to_present() {
    let text = format!(
        "peers:\n{PEER}{}{LISTENER}",
        peer_route("    peer: partner\n")
    );
    assert_error(
        &text,
        "routes[0].peer",
        "peer: partner",
        "add a `tls` listener",
    );
    let own = format!(
        "peers:\n{PEER}    client_certificate: {{ certificate: acme.pem, private_key: acme.key }}\n{}{LISTENER}",
        peer_route("    peer: partner\n")
    );
    assert!(load_str(&own, "legate.yaml").is_ok());
}

#[test]
fn dns_servers_and_timeout_are_checked() {
    let good = format!("dns:\n  servers: [\"127.0.0.1:5353\"]\n  timeout: 500ms\n{LISTENER}");
    let loaded = load_str(&good, "legate.yaml").unwrap();
    assert_eq!(loaded.config.dns.servers[0].port(), 5353);
    assert_eq!(
        loaded.config.dns.timeout,
        std::time::Duration::from_millis(500)
    );
    let unspecified = format!("dns:\n  servers: [\"0.0.0.0:53\"]\n{LISTENER}");
    assert_error(
        &unspecified,
        "dns.servers[0]",
        "0.0.0.0:53",
        "cannot be asked",
    );
    let zero = format!("dns:\n  timeout: 0s\n{LISTENER}");
    assert_error(&zero, "dns.timeout", "timeout: 0s", "greater than zero");
    let unknown = format!("dns:\n  server: [\"127.0.0.1:53\"]\n{LISTENER}");
    assert_error(&unknown, "dns.server", "server:", "did you mean `servers`?");
}
