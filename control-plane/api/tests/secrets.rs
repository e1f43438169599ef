//! Secrets never show in Debug output, serialized config or the config dump.

use legate_api::{load_str, redacted_json, Secret, REDACTED};

const TEXT: &str = "\
proxy:
  record_route_secret: { value: hunter2-rr-key }
listeners:
  - name: internal
    address: 127.0.0.1:5060
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.authn
        config:
          users: [ { name: alice, password: hunter2-user } ]
          upstream: { value: hunter2-nested }
directories:
  - name: corp
    ldap:
      url: ldap://127.0.0.1:3890
      bind_dn: cn=legate,dc=corp,dc=example
      bind_password: { value: hunter2-ldap }
      user_base: ou=people,dc=corp,dc=example
      domains: [corp.example]
";

fn loaded() -> legate_api::LoadedConfig {
    match load_str(TEXT, "secrets.yaml") {
        Ok(loaded) => loaded,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn the_inline_value_is_still_usable() {
    let config = loaded().config;
    let secret = config.proxy.record_route_secret.clone();
    assert_eq!(secret, Some(Secret::Value("hunter2-rr-key".into())));
    let bytes = secret.map(|s| s.read().unwrap_or_default());
    assert_eq!(bytes.as_deref(), Some(&b"hunter2-rr-key"[..]));
}

#[test]
fn debug_output_hides_secrets() {
    let loaded = loaded();
    let debug = format!("{:?} {:#?} {loaded:?}", loaded.config, loaded.config);
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(REDACTED));
}

#[test]
fn config_dump_hides_secrets() {
    let dump = redacted_json(&loaded().config);
    let text = dump.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(dump["proxy"]["record_route_secret"]["value"], REDACTED);
    assert_eq!(
        dump["directories"][0]["ldap"]["bind_password"]["value"],
        REDACTED
    );
    assert_eq!(
        dump["directories"][0]["ldap"]["bind_dn"],
        "cn=legate,dc=corp,dc=example"
    );
    assert_eq!(
        dump["listeners"][0]["filters"][0]["config"]["users"][0]["name"],
        "alice"
    );
}

#[test]
fn serialized_yaml_hides_secrets() {
    let yaml = serde_yaml::to_string(&loaded().config).unwrap_or_default();
    assert!(yaml.contains("[redacted]"), "{yaml}");
    assert!(!yaml.contains("hunter2-rr-key"), "{yaml}");
    assert!(!yaml.contains("hunter2-ldap"), "{yaml}");
}

#[test]
fn file_secrets_show_their_path_and_read_without_the_line_break() {
    let dir = std::env::temp_dir().join(format!("legate-api-secret-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("rr.key");
    if let Err(error) = std::fs::write(&path, "from-a-file\n") {
        panic!("cannot write {}: {error}", path.display());
    }
    let secret = Secret::File(path.clone());
    assert!(format!("{secret:?}").contains("rr.key"));
    assert_eq!(secret.read().ok().as_deref(), Some(&b"from-a-file"[..]));
    let _ = std::fs::remove_dir_all(&dir);

    let missing = Secret::File(dir.join("missing.key"));
    assert!(missing.read().is_err());
}

#[test]
fn a_secret_takes_exactly_one_form() {
    let both = "proxy:\n  record_route_secret: { value: a, file: /b }\nlisteners: []\n";
    let error = load_str(both, "x.yaml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("either `value` or `file`"), "{error}");
    assert!(error.contains("proxy.record_route_secret"), "{error}");

    let neither = "proxy:\n  record_route_secret: {}\nlisteners: []\n";
    let error = load_str(neither, "x.yaml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("needs `value: ...` or `file: path`"),
        "{error}"
    );
}
