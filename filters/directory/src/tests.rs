use std::sync::Arc;

use super::*;
use legate_filters_api::{Directories, Directory, DirectoryUser};

const USERS: &str = r#"
users:
  - user: Alice
    domain: Corp.Example
    groups: [sales, federated]
    attributes: { imHomeSystem: legacy }
  - { user: bob, domain: corp.example }
"#;

fn lookup(directory: &dyn Directory, user: &str, domain: &str) -> Option<Arc<DirectoryUser>> {
    let future = directory.lookup(user, domain);
    // The static directory answers without waiting: one poll is enough.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = future;
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Ok(found)) => found,
        other => panic!(
            "static lookup did not answer at once: {:?}",
            other.is_ready()
        ),
    }
}

#[test]
fn lookups_ignore_case_and_keep_groups_and_attributes() {
    let directory = StaticDirectory::from_yaml(USERS, "inline").unwrap();
    assert_eq!(directory.len(), 2);
    let alice = lookup(&directory, "ALICE", "corp.EXAMPLE").unwrap();
    assert_eq!(alice.user, "alice");
    assert_eq!(alice.domain, "corp.example");
    assert_eq!(alice.groups, ["sales", "federated"]);
    assert_eq!(alice.attributes["imHomeSystem"], "legacy");
    assert!(alice.in_any_group(&["federated"]));
    assert!(!alice.in_any_group(&["engineering"]));
    let bob = lookup(&directory, "bob", "corp.example").unwrap();
    assert!(bob.groups.is_empty());
    assert!(lookup(&directory, "carol", "corp.example").is_none());
    assert!(lookup(&directory, "bob", "other.example").is_none());
}

#[test]
fn duplicate_users_name_both_entries() {
    let text = "users: [ { user: a, domain: x.example }, { user: b, domain: x.example }, \
                { user: A, domain: X.example } ]";
    let error = StaticDirectory::from_yaml(text, "users.yaml").unwrap_err();
    assert!(
        matches!(
            error,
            StaticDirectoryError::Duplicate {
                index: 2,
                first: 0,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "users.yaml: users[2]: `a@x.example` is listed twice (first at users[0])"
    );
}

#[test]
fn unknown_fields_and_bad_entries_are_rejected() {
    let error =
        StaticDirectory::from_yaml("users: [ { user: a, domain: x, group: [] } ]", "f.yaml")
            .unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("f.yaml: "), "{text}");
    assert!(text.contains("unknown field `group`"), "{text}");
    let error =
        StaticDirectory::from_yaml("users: [ { user: a@b, domain: x } ]", "f.yaml").unwrap_err();
    assert!(
        matches!(
            error,
            StaticDirectoryError::BadEntry {
                index: 0,
                field: "user",
                ..
            }
        ),
        "{error:?}"
    );
    let error =
        StaticDirectory::from_yaml("users: [ { user: a, domain: '' } ]", "f.yaml").unwrap_err();
    assert!(
        matches!(
            error,
            StaticDirectoryError::BadEntry {
                field: "domain",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn an_empty_file_is_an_empty_directory() {
    assert!(StaticDirectory::from_yaml("{}", "f").unwrap().is_empty());
}

#[test]
fn load_reads_the_file_and_names_it_on_error() {
    let path = std::env::temp_dir().join(format!("legate-directory-{}.yaml", std::process::id()));
    std::fs::write(&path, USERS).unwrap();
    let directory = StaticDirectory::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(directory.len(), 2);
    let error = StaticDirectory::load(&path).unwrap_err();
    assert!(matches!(error, StaticDirectoryError::Read { .. }));
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn directories_are_found_by_name() {
    let mut directories = Directories::new();
    assert!(directories.get("corp").is_none());
    directories.insert("corp", Arc::new(StaticDirectory::default()));
    assert!(directories.get("corp").is_some());
    assert_eq!(directories.names(), ["corp"]);
}
