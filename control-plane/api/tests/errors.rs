//! Every kind of configuration mistake is reported with the right field path, line and a
//! message that says what to do.

use legate_api::{load_file, load_str, validate_all, ConfigError, Source};

const LISTENER: &str = "\
listeners:
  - name: internal
    address: 127.0.0.1:5060
    transport: udp
    side: internal
";

fn error(text: &str) -> ConfigError {
    match load_str(text, "legate.yaml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error,
    }
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    match text.lines().position(|line| line.contains(needle)) {
        Some(index) => index + 1,
        None => panic!("`{needle}` is not in the text"),
    }
}

/// Asserts the error's path, that it points at the line containing `needle`, and that its
/// message mentions `says`.
#[track_caller]
fn assert_error(text: &str, path: &str, needle: &str, says: &str) {
    let error = error(text);
    assert_eq!(error.field_path, path, "{error}");
    assert_eq!(error.line, Some(line_of(text, needle)), "{error}");
    assert!(error.column.is_some(), "{error}");
    assert!(error.message.contains(says), "`{says}` not in: {error}");
    assert_eq!(error.origin, "legate.yaml");
}

// --- parse errors -------------------------------------------------------------------------

#[test]
fn unknown_variant_lists_the_expected_ones() {
    let text = LISTENER.replace("transport: udp", "transport: udpp");
    assert_error(
        &text,
        "listeners[0].transport",
        "udpp",
        "unknown variant `udpp`, expected one of `udp`, `tcp`, `tls` (did you mean `udp`?)",
    );
    let error = error(&text);
    assert_eq!(error.column, Some(16));
    assert_eq!(
        error.to_string(),
        "legate.yaml:4:16: listeners[0].transport: unknown variant `udpp`, expected one of \
         `udp`, `tcp`, `tls` (did you mean `udp`?)"
    );
}

#[test]
fn unknown_field_names_the_field_and_suggests() {
    let text = format!("admin:\n  adress: 127.0.0.1:9901\n{LISTENER}");
    assert_error(
        &text,
        "admin.adress",
        "adress",
        "unknown field `adress`, expected `address` or `token_file` (did you mean `address`?)",
    );
}

#[test]
fn unknown_top_level_field() {
    let text = format!("{LISTENER}listener: []\n");
    assert_error(
        &text,
        "listener",
        "listener: []",
        "did you mean `listeners`?",
    );
}

#[test]
fn missing_field_points_at_the_mapping() {
    let text = LISTENER.replace("    side: internal\n", "");
    assert_error(
        &text,
        "listeners[0]",
        "name: internal",
        "missing field `side`",
    );
}

#[test]
fn missing_listeners_is_explained() {
    let error = error("admin:\n  address: 127.0.0.1:9901\n");
    assert!(
        error.message.contains("missing field `listeners`"),
        "{error}"
    );
}

#[test]
fn bad_duration() {
    let text = format!("proxy:\n  timers:\n    t1: 5 parsecs\n{LISTENER}");
    assert_error(&text, "proxy.timers.t1", "parsecs", "parsecs");
}

#[test]
fn bad_socket_address() {
    let text = LISTENER.replace("127.0.0.1:5060", "127.0.0.1");
    assert_error(
        &text,
        "listeners[0].address",
        "address: 127.0.0.1",
        "socket address",
    );
}

#[test]
fn wrong_type_uses_yaml_words() {
    let text = "listeners:\n  - just-a-string\n";
    let error = error(text);
    assert_eq!(error.field_path, "listeners[0]");
    assert_eq!(error.line, Some(2));
    assert!(error.message.ends_with("expected a mapping"), "{error}");
}

#[test]
fn yaml_syntax_error_has_a_position() {
    let text = format!("{LISTENER}  - name: [unclosed\n");
    let error = error(&text);
    assert!(error.line.is_some(), "{error}");
    assert!(!error.message.contains(" at line "), "{error}");
}

#[test]
fn empty_file() {
    for text in ["", "# only a comment\n"] {
        let error = error(text);
        assert_eq!(
            error.to_string(),
            "legate.yaml: the configuration is empty: it needs at least a `listeners` list"
        );
    }
}

#[test]
fn unreadable_file_names_file_and_reason() {
    let path = std::env::temp_dir().join("legate-api-no-such-dir/legate.yaml");
    let error = match load_file(&path) {
        Ok(_) => panic!("loaded a missing file"),
        Err(error) => error,
    };
    let text = error.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(
        text.contains("cannot read the configuration file"),
        "{text}"
    );
    assert!(text.contains("No such file"), "{text}");
}

// --- semantic errors ----------------------------------------------------------------------

#[test]
fn at_least_one_listener() {
    let text = "admin: {}\nlisteners: []\n";
    assert_error(text, "listeners", "listeners: []", "at least one listener");
}

#[test]
fn listener_names_are_unique() {
    let text = format!(
        "{LISTENER}  - name: internal\n    address: 127.0.0.1:5061\n    transport: udp\n    side: external\n"
    );
    let error = error(&text);
    assert_eq!(error.field_path, "listeners[1].name");
    assert_eq!(error.line, Some(6));
    assert!(
        error.message.contains("already used by listeners[0]"),
        "{error}"
    );
}

#[test]
fn listener_sockets_are_unique() {
    let text = format!(
        "{LISTENER}  - name: second\n    address: 0.0.0.0:5060\n    transport: udp\n    side: external\n"
    );
    assert_error(
        &text,
        "listeners[1].address",
        "0.0.0.0:5060",
        "collides with listeners[0]",
    );

    // The same port over TCP is a different socket.
    let tcp = text.replace(
        "    transport: udp\n    side: external",
        "    transport: tcp\n    side: external",
    );
    assert!(load_str(&tcp, "legate.yaml").is_ok());
}

#[test]
fn tls_listener_needs_a_tls_block() {
    let text = LISTENER.replace("transport: udp", "transport: tls");
    assert_error(
        &text,
        "listeners[0].tls",
        "name: internal",
        "needs a `tls` block",
    );
}

#[test]
fn non_tls_listener_must_not_have_a_tls_block() {
    let text = format!("{LISTENER}    tls: {{ certificate: /c.pem, private_key: /k.pem }}\n");
    assert_error(&text, "listeners[0].tls", "tls: {", "transport is `udp`");
}

#[test]
fn filter_names_are_not_empty() {
    let text =
        format!("{LISTENER}    filters:\n      - name: legate.filters.sip.x\n      - name: \"\"\n");
    assert_error(
        &text,
        "listeners[0].filters[1].name",
        "name: \"\"",
        "needs a name",
    );
}

#[test]
fn admin_off_loopback_needs_a_token() {
    let text = format!("admin:\n  address: 0.0.0.0:9901\n{LISTENER}");
    assert_error(
        &text,
        "admin.address",
        "0.0.0.0:9901",
        "`admin.token_file` must be set",
    );

    let with_token =
        format!("admin:\n  address: 0.0.0.0:9901\n  token_file: /run/token\n{LISTENER}");
    assert!(load_str(&with_token, "legate.yaml").is_ok());
}

#[test]
fn timers_are_positive_and_ordered() {
    let zero = format!("proxy:\n  timers:\n    t1: 0s\n{LISTENER}");
    assert_error(&zero, "proxy.timers.t1", "t1: 0s", "greater than zero");

    let unordered = format!("proxy:\n  timers:\n    t1: 5s\n    t2: 1s\n{LISTENER}");
    assert_error(
        &unordered,
        "proxy.timers.t2",
        "t2: 1s",
        "must not be shorter than t1 (5s)",
    );
}

#[test]
fn limits_are_positive() {
    let text = format!("proxy:\n  limits: {{ max_headers: 0 }}\n{LISTENER}");
    assert_error(
        &text,
        "proxy.limits.max_headers",
        "max_headers",
        "greater than zero",
    );
}

#[test]
fn worker_threads_are_at_least_one() {
    let text = format!("proxy:\n  worker_threads: 0\n{LISTENER}");
    assert_error(
        &text,
        "proxy.worker_threads",
        "worker_threads",
        "at least 1",
    );
    let one = format!("proxy:\n  worker_threads: 1\n{LISTENER}");
    assert!(load_str(&one, "legate.yaml").is_ok());
}

const CLUSTER: &str = "\
clusters:
  - name: remote-peer
    transport: udp
    endpoints: [127.0.0.1:5070]
";

#[test]
fn cluster_names_are_unique() {
    let text = format!(
        "{LISTENER}{CLUSTER}  - name: remote-peer\n    transport: udp\n    endpoints: [127.0.0.1:5071]\n"
    );
    let error = error(&text);
    assert_eq!(error.field_path, "clusters[1].name");
    assert_eq!(error.line, Some(line_of(&text, "127.0.0.1:5071") - 2));
    assert!(
        error.message.contains("already used by clusters[0]"),
        "{error}"
    );
}

#[test]
fn cluster_endpoints_are_not_empty() {
    let text = format!("{LISTENER}{}", CLUSTER.replace("[127.0.0.1:5070]", "[]"));
    assert_error(
        &text,
        "clusters[0].endpoints",
        "endpoints: []",
        "at least one endpoint",
    );
}

#[test]
fn health_check_thresholds_and_timeout() {
    let thresholds =
        format!("{LISTENER}{CLUSTER}    health_check:\n      unhealthy_threshold: 0\n");
    assert_error(
        &thresholds,
        "clusters[0].health_check.unhealthy_threshold",
        "unhealthy_threshold: 0",
        "at least 1",
    );

    let timeout =
        format!("{LISTENER}{CLUSTER}    health_check:\n      interval: 2s\n      timeout: 3s\n");
    assert_error(
        &timeout,
        "clusters[0].health_check.timeout",
        "timeout: 3s",
        "must be shorter than the interval (2s)",
    );
}

#[test]
fn tls_settings_on_a_udp_cluster() {
    let text = format!("{LISTENER}{CLUSTER}    tls_server_name: sip.remote.example\n");
    assert_error(
        &text,
        "clusters[0].tls_server_name",
        "tls_server_name",
        "only applies to `tls` clusters",
    );
}

fn route(domain: &str, cluster: &str) -> String {
    format!("routes:\n  - name: to-remote\n    match: {{ domain: \"{domain}\", side: internal }}\n    cluster: {cluster}\n")
}

#[test]
fn route_names_are_unique() {
    let text = format!(
        "{LISTENER}{CLUSTER}{}  - name: to-remote\n    match: {{ domain: other.example }}\n    cluster: remote-peer\n",
        route("remote.example", "remote-peer")
    );
    let error = error(&text);
    assert_eq!(error.field_path, "routes[1].name");
    assert_eq!(error.line, Some(line_of(&text, "other.example") - 1));
}

#[test]
fn route_cluster_must_exist() {
    let text = format!(
        "{LISTENER}{CLUSTER}{}",
        route("remote.example", "remote-per")
    );
    assert_error(
        &text,
        "routes[0].cluster",
        "cluster: remote-per",
        "unknown cluster `remote-per` (did you mean `remote-peer`?)",
    );

    let none = format!("{LISTENER}{}", route("remote.example", "nowhere"));
    assert_error(
        &none,
        "routes[0].cluster",
        "cluster: nowhere",
        "no clusters are defined",
    );
}

#[test]
fn route_domain_syntax() {
    for bad in ["remote.*.example", "*", "remote..example"] {
        let text = format!("{LISTENER}{CLUSTER}{}", route(bad, "remote-peer"));
        if bad == "*" {
            assert!(load_str(&text, "legate.yaml").is_ok());
            continue;
        }
        let error = error(&text);
        assert_eq!(error.field_path, "routes[0].match.domain", "{error}");
        assert_eq!(error.line, Some(line_of(&text, "domain:")), "{error}");
        // The column points at the domain value itself.
        let line = text
            .lines()
            .nth(line_of(&text, "domain:") - 1)
            .unwrap_or_default();
        assert_eq!(error.column, line.find('"').map(|i| i + 1), "{error}");
    }
}

// --- locating paths for checks made later (the proxy's filter registry) --------------------

const WITH_FILTER: &str = "\
listeners:
  - name: internal
    address: 127.0.0.1:5060
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.header_mutation
      - name: legate.filters.sip.domain_policy
        config:
          rules:
            - { id: allow-remote, domain: remote.example }
            - id: deny-rest
              domain: \"*\"
";

#[test]
fn source_error_resolves_paths_into_filter_config() {
    let loaded = match load_str(WITH_FILTER, "legate.yaml") {
        Ok(loaded) => loaded,
        Err(error) => panic!("{error}"),
    };
    let error = loaded.source.error(
        "listeners[0].filters[1].config.rules[1]",
        "unknown rule kind",
    );
    assert_eq!(error.line, Some(line_of(WITH_FILTER, "deny-rest")));
    assert_eq!(error.column, Some(15));
    assert_eq!(
        error.to_string(),
        "legate.yaml:12:15: listeners[0].filters[1].config.rules[1]: unknown rule kind"
    );

    let nested = loaded
        .source
        .error("listeners[0].filters[1].config.rules[0].domain", "bad");
    assert_eq!(nested.line, Some(line_of(WITH_FILTER, "allow-remote")));

    // A path the text does not contain falls back to its deepest existing prefix.
    let missing = loaded
        .source
        .error("listeners[0].filters[0].config.request.add[0]", "bad");
    assert_eq!(missing.line, Some(line_of(WITH_FILTER, "header_mutation")));
    let beyond = loaded
        .source
        .error("listeners[0].filters[1].config.rules[9]", "bad");
    assert_eq!(beyond.line, Some(line_of(WITH_FILTER, "rules:")));
}

#[test]
fn source_error_without_a_readable_text_still_names_origin_and_path() {
    let source = Source::new("<embedded quickstart>", "listeners: [");
    let error = source.error("listeners[0]", "broken");
    assert_eq!(
        error.to_string(),
        "<embedded quickstart>: listeners[0]: broken"
    );
}

#[test]
fn validate_all_reports_every_problem_in_file_order() {
    let text = format!(
        "admin:\n  address: 0.0.0.0:9901\n{LISTENER}{}",
        route("bad..domain", "missing")
    );
    let loaded = legate_api::LoadedConfig {
        config: match serde_yaml::from_str(&text) {
            Ok(config) => config,
            Err(error) => panic!("{error}"),
        },
        source: Source::new("legate.yaml", text.clone()),
    };
    let paths: Vec<_> = validate_all(&loaded)
        .into_iter()
        .map(|e| e.field_path)
        .collect();
    assert_eq!(
        paths,
        [
            "admin.address",
            "routes[0].match.domain",
            "routes[0].cluster"
        ]
    );
}

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
