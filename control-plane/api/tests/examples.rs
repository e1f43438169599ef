//! The shipped example configs load, validate and survive a round trip through YAML.

use std::path::PathBuf;

use legate_api::{load_file, load_str, redacted_json, LoadBalancing, Side, Transport};

fn example(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(relative)
}

#[test]
fn quickstart_loads_and_describes_two_sides() {
    let loaded = match load_file(&example("quickstart.yaml")) {
        Ok(loaded) => loaded,
        Err(error) => panic!("{error}"),
    };
    let config = &loaded.config;
    assert_eq!(config.admin.address.to_string(), "127.0.0.1:9901");

    let names: Vec<_> = config.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["internal", "external"]);
    assert_eq!(config.listeners[0].side, Side::Internal);
    assert_eq!(config.listeners[1].side, Side::External);
    let names = |listener: &legate_api::config::ListenerConfig| -> Vec<String> {
        listener.filters.iter().map(|f| f.name.clone()).collect()
    };
    // Inside: authenticated, audited and checked by policy; outside: marked and routed.
    assert_eq!(
        names(&config.listeners[0]),
        [
            "legate.filters.sip.authn",
            "legate.filters.sip.audit",
            "legate.filters.sip.domain_policy",
            "legate.filters.sip.header_mutation",
            "legate.filters.sip.router"
        ]
    );
    assert_eq!(
        names(&config.listeners[1]),
        [
            "legate.filters.sip.header_mutation",
            "legate.filters.sip.router"
        ]
    );
    for (listener, side) in config.listeners.iter().zip(["internal", "external"]) {
        assert_eq!(listener.transport, Transport::Udp);
        let marking = listener
            .filters
            .iter()
            .find(|f| f.name == "legate.filters.sip.header_mutation")
            .map(|f| &f.config["request"]["add"][0]);
        assert_eq!(
            marking.and_then(|added| added["name"].as_str()),
            Some("X-Legate-Side")
        );
        assert_eq!(
            marking.and_then(|added| added["value"].as_str()),
            Some(side)
        );
        assert!(listener.filters.last().is_some_and(|f| f.config.is_null()));
    }
    let directory = &config.directories[0];
    let users = directory
        .static_file
        .as_ref()
        .and_then(|s| s.users.as_ref());
    assert_eq!(users.map(Vec::len), Some(2), "alice and mallory");
    assert!(config.audit.is_some());
    assert_eq!(
        config.telemetry.otlp.endpoint, None,
        "traces off until a collector is named"
    );

    assert_eq!(config.routes[0].name, "to-remote");
    assert_eq!(config.routes[0].matcher.domain, "remote.example");
    assert_eq!(config.routes[0].matcher.side, Some(Side::Internal));
    assert_eq!(config.routes[0].cluster.as_deref(), Some("remote-peer"));
    assert_eq!(config.routes[1].matcher.side, Some(Side::External));
    assert_eq!(
        config.clusters[0].endpoints[0].to_string(),
        "127.0.0.1:5070"
    );
    assert_eq!(
        config.clusters[1].endpoints[0].to_string(),
        "127.0.0.1:5090"
    );
    assert_eq!(config.clusters[0].load_balancing, LoadBalancing::RoundRobin);
}

#[test]
fn bench_relay_loads() {
    let loaded = match load_file(&example("bench/relay.yaml")) {
        Ok(loaded) => loaded,
        Err(error) => panic!("{error}"),
    };
    let config = &loaded.config;
    assert_eq!(config.listeners.len(), 1);
    assert_eq!(config.listeners[0].address.to_string(), "127.0.0.1:5060");
    assert_eq!(config.routes[0].matcher.domain, "remote.example");
    assert_eq!(
        config.clusters[0].endpoints[0].to_string(),
        "127.0.0.1:5070"
    );
    assert_eq!(config.clusters[0].transport, Transport::Udp);
}

#[test]
fn examples_round_trip_through_yaml_and_json() {
    for name in ["quickstart.yaml", "bench/relay.yaml"] {
        let loaded = match load_file(&example(name)) {
            Ok(loaded) => loaded,
            Err(error) => panic!("{error}"),
        };
        let written = match serde_yaml::to_string(&loaded.config) {
            Ok(written) => written,
            Err(error) => panic!("{name}: {error}"),
        };
        let reloaded = match load_str(&written, "round trip") {
            Ok(reloaded) => reloaded,
            Err(error) => panic!("{name}: {error}\n{written}"),
        };
        assert_eq!(reloaded.config, loaded.config, "{name}");

        // The dump shows the same structure, defaults included.
        let dump = redacted_json(&loaded.config);
        assert_eq!(dump["proxy"]["timers"]["t1"], "500ms");
        assert_eq!(dump["proxy"]["dialog_idle_timeout"], "12h");
        let last = dump["listeners"][0]["filters"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(
            dump["listeners"][0]["filters"][last - 2]["config"]["request"]["add"][0]["name"],
            "X-Legate-Side"
        );
    }
}
