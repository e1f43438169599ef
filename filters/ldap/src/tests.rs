use std::sync::Arc;
use std::time::Duration;

use legate_api::{LdapCacheConfig, LdapDirectoryConfig};

use super::cache::Cache;
use super::dn::group_name;
use super::*;

#[test]
fn group_names_are_the_cn_of_the_group_dn() {
    assert_eq!(
        group_name("cn=sales,ou=groups,dc=corp").as_deref(),
        Some("sales")
    );
    assert_eq!(
        group_name("CN=Sales\\, EMEA,ou=groups").as_deref(),
        Some("Sales, EMEA")
    );
    assert_eq!(group_name("cn=caf\\c3\\a9,dc=x").as_deref(), Some("café"));
    assert_eq!(group_name("cn=a+ou=b,dc=x").as_deref(), Some("a"));
    assert_eq!(group_name("ou=sales,dc=corp"), None);
    assert_eq!(group_name("cn=,dc=corp"), None);
    assert_eq!(group_name("cn=bad\\"), None);
    assert_eq!(group_name("no-equals-sign"), None);
}

fn someone(user: &str) -> Option<Arc<DirectoryUser>> {
    Some(Arc::new(DirectoryUser {
        user: user.into(),
        domain: "corp.example".into(),
        ..DirectoryUser::default()
    }))
}

fn cache(ttl: u64, negative_ttl: u64, max_entries: usize) -> Cache {
    Cache::new(&LdapCacheConfig {
        ttl: Duration::from_secs(ttl),
        negative_ttl: Duration::from_secs(negative_ttl),
        max_entries,
    })
}

#[tokio::test(start_paused = true)]
async fn cached_users_are_served_until_their_ttl_ends() {
    let cache = cache(60, 10, 100);
    assert_eq!(cache.get("alice@corp.example"), None);
    cache.insert("alice@corp.example".into(), someone("alice"));
    let hit = cache.get("alice@corp.example");
    assert_eq!(
        hit.flatten().map(|u| u.user.clone()).as_deref(),
        Some("alice")
    );
    tokio::time::advance(Duration::from_secs(59)).await;
    assert!(cache.get("alice@corp.example").is_some());
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(cache.get("alice@corp.example"), None);
    assert_eq!(cache.len(), 0, "an expired answer is dropped when seen");
}

#[tokio::test(start_paused = true)]
async fn no_such_user_is_kept_for_the_negative_ttl() {
    let cache = cache(60, 10, 100);
    cache.insert("nobody@corp.example".into(), None);
    // A hit that says "no such user": Some(None).
    assert_eq!(cache.get("nobody@corp.example"), Some(None));
    tokio::time::advance(Duration::from_secs(11)).await;
    assert_eq!(cache.get("nobody@corp.example"), None);
}

#[tokio::test(start_paused = true)]
async fn a_zero_ttl_keeps_nothing() {
    let cache = cache(0, 0, 100);
    cache.insert("alice@corp.example".into(), someone("alice"));
    cache.insert("nobody@corp.example".into(), None);
    assert_eq!(cache.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_cache_drops_expired_answers_then_the_soonest_to_expire() {
    let cache = cache(60, 10, 2);
    cache.insert("nobody@corp.example".into(), None);
    cache.insert("alice@corp.example".into(), someone("alice"));
    // Full: "nobody" expires first and makes room.
    cache.insert("bob@corp.example".into(), someone("bob"));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get("nobody@corp.example"), None);
    assert!(cache.get("alice@corp.example").is_some());
    assert!(cache.get("bob@corp.example").is_some());
    // Once both have expired, a new answer clears them out.
    tokio::time::advance(Duration::from_secs(61)).await;
    cache.insert("carol@corp.example".into(), someone("carol"));
    assert_eq!(cache.len(), 1);
}

fn config(yaml: &str) -> LdapDirectoryConfig {
    serde_yaml::from_str(yaml).unwrap()
}

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn directory_at(port: u16, extra: &str) -> LdapDirectory {
    LdapDirectory::from_config(&config(&format!(
        "{{ url: \"ldap://127.0.0.1:{port}\", user_base: \"ou=people,dc=corp\", \
         domains: [corp.example], timeout: 300ms {extra} }}"
    )))
    .unwrap()
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_not_an_unknown_user() {
    let port = closed_port();
    let directory = directory_at(port, "");
    let error = directory.lookup("alice", "corp.example").await.unwrap_err();
    let DirectoryError::Unavailable { reason } = &error;
    assert!(
        reason.contains(&format!("ldap://127.0.0.1:{port}")),
        "{reason}"
    );
    assert!(reason.contains("cannot connect"), "{reason}");
    // Failures are not cached: the next lookup asks again.
    assert_eq!(directory.cache.len(), 0);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_unavailable() {
    // Accepts connections and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let directory = directory_at(port, ", bind_dn: \"cn=x\", bind_password: { value: pw }");
    let error = directory.lookup("alice", "corp.example").await.unwrap_err();
    let DirectoryError::Unavailable { reason } = &error;
    assert!(reason.contains("no answer within 300ms"), "{reason}");
    silent.abort();
}

#[tokio::test]
async fn other_domains_and_empty_users_are_not_asked_for() {
    // The server is down: an answer proves it was not asked.
    let directory = directory_at(closed_port(), "");
    assert_eq!(directory.lookup("alice", "other.example").await, Ok(None));
    assert_eq!(directory.lookup("", "corp.example").await, Ok(None));
    assert!(directory.lookup("alice", "CORP.example").await.is_err());
}
