//! The `audit` section: sinks of one kind each, defaults, errors naming the field, and the
//! database URL kept out of dumps.

use std::path::PathBuf;
use std::time::Duration;

use legate_api::{load_str, redacted_json, ConfigError, Secret, REDACTED};

const LISTENER: &str = "\
listeners:
  - { name: internal, address: 127.0.0.1:5060, transport: udp, side: internal }
";

const FULL: &str = "\
audit:
  partition: legate-a
  spool_dir: /var/spool/legate
  queue_size: 500
  sinks:
    - { name: local, sqlite: { file: audit.db, retention: 90d } }
    - { name: central, postgres: { url: { value: \"postgres://legate:hunter2@127.0.0.1/audit\" }, pool_size: 8 } }
    - { name: siem, webhook: { url: \"http://127.0.0.1:8080/audit\", batch_size: 50, timeout: 3s } }
    - { name: log, stdout: {} }
";

fn config(audit: &str) -> String {
    format!("{LISTENER}{audit}")
}

fn error(audit: &str) -> ConfigError {
    match load_str(&config(audit), "legate.yaml") {
        Ok(_) => panic!("accepted:\n{audit}"),
        Err(error) => error,
    }
}

#[track_caller]
fn assert_error(audit: &str, path: &str, says: &str) {
    let error = error(audit);
    assert_eq!(error.field_path, path, "{error}");
    assert!(error.line.is_some(), "{error}");
    assert!(error.message.contains(says), "`{says}` not in: {error}");
}

#[test]
fn every_sink_kind_is_read_with_its_settings() {
    let loaded = load_str(&config(FULL), "legate.yaml").unwrap_or_else(|e| panic!("{e}"));
    let audit = loaded
        .config
        .audit
        .unwrap_or_else(|| panic!("no audit section"));
    assert_eq!(audit.partition.as_deref(), Some("legate-a"));
    assert_eq!(audit.spool_dir, PathBuf::from("/var/spool/legate"));
    assert_eq!(audit.queue_size, 500);
    let kinds: Vec<_> = audit.sinks.iter().map(|s| s.kinds()).collect();
    assert_eq!(
        kinds,
        [["sqlite"], ["postgres"], ["webhook"], ["stdout"]],
        "one kind each"
    );
    let sqlite = audit.sinks[0].sqlite.as_ref().unwrap_or_else(|| panic!());
    assert_eq!(sqlite.retention, Some(Duration::from_secs(90 * 24 * 3600)));
    let postgres = audit.sinks[1].postgres.as_ref().unwrap_or_else(|| panic!());
    assert_eq!(
        postgres.url,
        Secret::Value("postgres://legate:hunter2@127.0.0.1/audit".into())
    );
    assert_eq!(postgres.pool_size, 8);
    let webhook = audit.sinks[2].webhook.as_ref().unwrap_or_else(|| panic!());
    assert_eq!(
        (webhook.batch_size, webhook.timeout),
        (50, Duration::from_secs(3))
    );
}

#[test]
fn left_out_settings_take_their_defaults() {
    let text = config(
        "audit:\n  sinks:\n    - { name: local, sqlite: { file: audit.db } }\n    - { name: central, postgres: { url: { file: /run/secrets/db } } }\n    - { name: siem, webhook: { url: \"http://127.0.0.1:8080/\" } }\n",
    );
    let audit = load_str(&text, "legate.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .config
        .audit
        .unwrap_or_else(|| panic!("no audit section"));
    assert_eq!(audit.partition, None, "the host name, chosen by the proxy");
    assert_eq!(audit.spool_dir, PathBuf::from("audit-spool"));
    assert_eq!(audit.queue_size, 10_000);
    assert_eq!(
        audit.sinks[0].sqlite.as_ref().map(|s| s.retention),
        Some(None)
    );
    assert_eq!(
        audit.sinks[1].postgres.as_ref().map(|p| p.pool_size),
        Some(4)
    );
    let webhook = audit.sinks[2].webhook.as_ref().unwrap_or_else(|| panic!());
    assert_eq!(
        (webhook.batch_size, webhook.timeout),
        (100, Duration::from_secs(5))
    );
}

#[test]
fn a_config_without_audit_has_none() {
    let loaded = load_str(LISTENER, "legate.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.audit, None);
}

#[test]
fn a_sink_has_exactly_one_kind() {
    assert_error(
        "audit:\n  sinks:\n    - { name: local }\n",
        "audit.sinks[0]",
        "needs a kind",
    );
    assert_error(
        "audit:\n  sinks:\n    - { name: local, sqlite: { file: a.db }, stdout: {} }\n",
        "audit.sinks[0].stdout",
        "give `sqlite` or `stdout`, not both",
    );
    assert_error("audit:\n  sinks: []\n", "audit.sinks", "at least one sink");
}

#[test]
fn sink_names_are_unique_and_usable_as_file_names() {
    assert_error(
        "audit:\n  sinks:\n    - { name: log, stdout: {} }\n    - { name: log, sqlite: { file: a.db } }\n",
        "audit.sinks[1].name",
        "already defined",
    );
    assert_error(
        "audit:\n  sinks:\n    - { name: ../etc, stdout: {} }\n",
        "audit.sinks[0].name",
        "letters, digits",
    );
}

#[test]
fn each_kind_checks_its_settings() {
    assert_error(
        "audit:\n  sinks:\n    - { name: c, postgres: { url: { value: \"mysql://127.0.0.1/a\" } } }\n",
        "audit.sinks[0].postgres.url.value",
        "postgres://",
    );
    assert_error(
        "audit:\n  sinks:\n    - { name: c, postgres: { url: { value: \"postgres://127.0.0.1/a\" }, pool_size: 0 } }\n",
        "audit.sinks[0].postgres.pool_size",
        "at least 1",
    );
    assert_error(
        "audit:\n  sinks:\n    - { name: s, webhook: { url: \"ftp://127.0.0.1/\" } }\n",
        "audit.sinks[0].webhook.url",
        "http://",
    );
    assert_error(
        "audit:\n  sinks:\n    - { name: s, webhook: { url: \"http://127.0.0.1/\", timeout: 0s } }\n",
        "audit.sinks[0].webhook.timeout",
        "greater than zero",
    );
    assert_error(
        "audit:\n  sinks:\n    - { name: l, sqlite: { file: a.db, retention: 0s } }\n",
        "audit.sinks[0].sqlite.retention",
        "greater than zero",
    );
    assert_error(
        "audit:\n  partition: \"two words\"\n  sinks:\n    - { name: l, stdout: {} }\n",
        "audit.partition",
        "without spaces",
    );
}

#[test]
fn unknown_fields_are_named() {
    assert_error(
        "audit:\n  sinks:\n    - { name: l, stdout: { colour: true } }\n",
        "audit.sinks[0].stdout.colour",
        "unknown field `colour`",
    );
    assert_error(
        "audit:\n  spool_dirr: x\n  sinks:\n    - { name: l, stdout: {} }\n",
        "audit.spool_dirr",
        "did you mean `spool_dir`?",
    );
}

#[test]
fn the_database_url_is_redacted_in_dumps() {
    let loaded = load_str(&config(FULL), "legate.yaml").unwrap_or_else(|e| panic!("{e}"));
    let dump = redacted_json(&loaded.config);
    assert!(!dump.to_string().contains("hunter2"), "{dump}");
    assert_eq!(
        dump["audit"]["sinks"][1]["postgres"]["url"]["value"],
        REDACTED
    );
    assert!(!format!("{:?}", loaded.config).contains("hunter2"));
}
