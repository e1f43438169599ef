//! What a user gets for the settings they leave out.

use std::time::Duration;

use legate_api::{load_str, LoadBalancing, Transport};

const MINIMAL: &str = "\
listeners:
  - { name: internal, address: 127.0.0.1:5060, transport: udp, side: internal }
routes:
  - { name: any, match: { domain: \"*\" }, cluster: peer }
clusters:
  - name: peer
    transport: tcp
    endpoints: [127.0.0.1:5070]
    health_check: {}
";

#[test]
fn left_out_settings_take_the_documented_defaults() {
    let config = match load_str(MINIMAL, "minimal.yaml") {
        Ok(loaded) => loaded.config,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(config.admin.address.to_string(), "127.0.0.1:9901");
    assert_eq!(config.admin.token_file, None);

    let proxy = &config.proxy;
    assert_eq!(proxy.record_route_secret, None);
    assert_eq!(proxy.timers.t1, Duration::from_millis(500));
    assert_eq!(proxy.timers.t2, Duration::from_secs(4));
    assert_eq!(proxy.timers.t4, Duration::from_secs(5));
    assert_eq!(proxy.limits.max_message_bytes, 65535);
    assert_eq!(proxy.limits.max_headers, 128);
    assert_eq!(proxy.limits.max_line_bytes, 8192);
    assert_eq!(proxy.shutdown_grace, Duration::from_secs(30));
    assert_eq!(proxy.dialog_idle_timeout, Duration::from_secs(12 * 3600));
    assert_eq!(proxy.worker_threads, None);

    let listener = &config.listeners[0];
    assert!(listener.filters.is_empty());
    assert_eq!(listener.advertised_host, None);
    assert_eq!(config.routes[0].matcher.side, None);

    assert!(
        config.dns.servers.is_empty(),
        "the system resolver by default"
    );
    assert_eq!(config.dns.timeout, Duration::from_secs(2));

    let cluster = &config.clusters[0];
    assert_eq!(cluster.transport, Transport::Tcp);
    assert_eq!(cluster.load_balancing, LoadBalancing::RoundRobin);
    let health = cluster.health_check.unwrap_or_default();
    assert_eq!(health.interval, Duration::from_secs(5));
    assert_eq!(health.timeout, Duration::from_secs(2));
    assert_eq!(health.unhealthy_threshold, 2);
    assert_eq!(health.healthy_threshold, 1);
}

#[test]
fn durations_read_as_humantime() {
    let text = format!(
        "proxy:\n  timers: {{ t1: 250ms, t2: 2s }}\n  dialog_idle_timeout: 1h 30m\n{MINIMAL}"
    );
    let config = match load_str(&text, "durations.yaml") {
        Ok(loaded) => loaded.config,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(config.proxy.timers.t1, Duration::from_millis(250));
    assert_eq!(config.proxy.timers.t2, Duration::from_secs(2));
    assert_eq!(config.proxy.dialog_idle_timeout, Duration::from_secs(5400));
}

#[test]
fn an_ldap_directory_takes_the_documented_defaults() {
    let text = format!(
        "directories:\n  - name: corp\n    ldap: {{ url: \"ldap://127.0.0.1\", user_base: \"ou=people,dc=corp\", domains: [corp.example] }}\n{MINIMAL}"
    );
    let config = match load_str(&text, "ldap.yaml") {
        Ok(loaded) => loaded.config,
        Err(error) => panic!("{error}"),
    };
    let Some(ldap) = &config.directories[0].ldap else {
        panic!("no ldap source");
    };
    assert_eq!(ldap.bind_dn, None);
    assert!(!ldap.start_tls);
    assert_eq!(
        ldap.user_filter.0,
        "(&(objectClass=inetOrgPerson)(uid={user}))"
    );
    assert_eq!(ldap.member_of, None);
    assert_eq!(ldap.group_filter, None);
    assert_eq!(ldap.pool_size, 4);
    assert_eq!(ldap.timeout, Duration::from_secs(2));
    assert_eq!(ldap.cache.ttl, Duration::from_secs(300));
    assert_eq!(ldap.cache.negative_ttl, Duration::from_secs(30));
    assert_eq!(ldap.cache.max_entries, 10_000);
}
