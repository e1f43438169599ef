//! Every kind of configuration mistake is reported with the right field path, line and a
//! message that says what to do.

mod common;

use common::{assert_error, error, line_of, CLUSTER, LISTENER};
use legate_api::{load_file, load_str, validate_all, Source};

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
fn cluster_endpoints_are_addresses_or_host_names() {
    let named = format!(
        "{LISTENER}{}",
        CLUSTER.replace(
            "[127.0.0.1:5070]",
            "[\"im.corp.example:5060\", 127.0.0.1:5070]"
        )
    );
    let loaded = legate_api::load_str(&named, "test.yaml").unwrap();
    assert_eq!(
        loaded.config.clusters[0].endpoints[0].to_string(),
        "im.corp.example:5060"
    );

    let underscore = format!(
        "{LISTENER}{}",
        CLUSTER.replace("[127.0.0.1:5070]", "[im_server.corp.example:5060]")
    );
    assert_error(
        &underscore,
        "clusters[0].endpoints[0]",
        "im_server",
        "'_' is not allowed in a domain name",
    );

    let wildcard = format!(
        "{LISTENER}{}",
        CLUSTER.replace("[127.0.0.1:5070]", "[\"*.corp.example:5060\"]")
    );
    assert_error(
        &wildcard,
        "clusters[0].endpoints[0]",
        "corp.example",
        "an endpoint names one host",
    );

    let no_port = format!(
        "{LISTENER}{}",
        CLUSTER.replace("[127.0.0.1:5070]", "[im.corp.example]")
    );
    let error = error(&no_port);
    assert!(error.message.contains("needs a port"), "{error}");
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
