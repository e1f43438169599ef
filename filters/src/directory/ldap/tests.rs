use std::sync::Arc;
use std::time::Duration;

use legate_api::{FilterTemplate, LdapCacheConfig, LdapDirectoryConfig};

use super::cache::Cache;
use super::dn::group_name;
use super::filter::{CompiledFilter, Placeholder, Values};
use super::*;

fn user_filter(template: &str) -> CompiledFilter {
    CompiledFilter::compile(
        &FilterTemplate(template.into()),
        &[Placeholder::User, Placeholder::Domain],
    )
    .unwrap()
}

fn render(filter: &CompiledFilter, user: &str) -> String {
    filter.render(&Values {
        user,
        domain: "corp.example",
        dn: "",
    })
}

#[test]
fn filter_values_are_escaped_so_they_cannot_widen_the_search() {
    let filter = user_filter("(&(objectClass=inetOrgPerson)(uid={user}))");
    assert_eq!(
        render(&filter, "alice"),
        "(&(objectClass=inetOrgPerson)(uid=alice))"
    );
    assert_eq!(
        render(&filter, "*)(uid=*"),
        "(&(objectClass=inetOrgPerson)(uid=\\2a\\29\\28uid=\\2a))"
    );
    assert_eq!(
        render(&filter, "*"),
        "(&(objectClass=inetOrgPerson)(uid=\\2a))"
    );
    assert_eq!(
        render(&filter, "a\\b\0c"),
        "(&(objectClass=inetOrgPerson)(uid=a\\5cb\\00c))"
    );
    // Everything RFC 4515 does not ask to escape stays as it is, UTF-8 included.
    assert_eq!(
        render(&filter, "zoë=+&|!~"),
        "(&(objectClass=inetOrgPerson)(uid=zoë=+&|!~))"
    );
}

#[test]
fn every_placeholder_is_filled_in_escaped() {
    let filter = CompiledFilter::compile(
        &FilterTemplate("(&(member={dn})(o={domain})(uid={user}))".into()),
        &[Placeholder::Dn, Placeholder::User, Placeholder::Domain],
    )
    .unwrap();
    let rendered = filter.render(&Values {
        user: "bob",
        domain: "c(orp)",
        dn: "cn=Smith\\2c Bob,ou=people,dc=corp",
    });
    assert_eq!(
        rendered,
        "(&(member=cn=Smith\\5c2c Bob,ou=people,dc=corp)(o=c\\28orp\\29)(uid=bob))"
    );
}

#[test]
fn templates_take_only_their_own_placeholders() {
    let error = CompiledFilter::compile(
        &FilterTemplate("(member={dn})".into()),
        &[Placeholder::User, Placeholder::Domain],
    )
    .unwrap_err();
    assert!(error.contains("{dn}"), "{error}");
    let error =
        CompiledFilter::compile(&FilterTemplate("(uid={user)".into()), &[Placeholder::User])
            .unwrap_err();
    assert!(error.contains("not closed"), "{error}");
}

#[test]
fn the_user_attribute_is_read_from_the_user_filter() {
    let attribute = |template: &str| {
        CompiledFilter::compile(
            &FilterTemplate(template.into()),
            &[Placeholder::User, Placeholder::Domain],
        )
        .unwrap()
        .user_attribute()
        .map(str::to_string)
    };
    assert_eq!(
        attribute("(&(objectClass=inetOrgPerson)(uid={user}))").as_deref(),
        Some("uid")
    );
    assert_eq!(
        attribute("(sAMAccountName={user})").as_deref(),
        Some("sAMAccountName")
    );
    // `{user}` inside a larger value names no attribute that holds the user part alone.
    assert_eq!(attribute("(mail={user}@{domain})"), None);
    assert_eq!(attribute("(cn=x{user})"), None);
    assert_eq!(attribute("(mail={domain})"), None);
}

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

#[test]
fn the_password_is_read_from_its_file_and_never_printed() {
    let mut file = tempfile_path("ldap-password");
    std::fs::write(&file, "from-a-file\n").unwrap();
    let settings = LdapSettings::from_config(&config(&format!(
        "{{ url: \"ldap://127.0.0.1\", user_base: \"dc=corp\", domains: [corp.example], \
         bind_dn: \"cn=legate,dc=corp\", bind_password: {{ file: \"{}\" }} }}",
        file.display()
    )))
    .unwrap();
    let bind = settings.bind.as_ref().unwrap();
    assert_eq!(bind.password, "from-a-file");
    let shown = format!("{settings:?}");
    assert!(!shown.contains("from-a-file"), "{shown}");
    assert!(shown.contains("cn=legate,dc=corp"), "{shown}");
    std::fs::remove_file(&file).unwrap();

    file.set_extension("missing");
    let error = LdapSettings::from_config(&config(&format!(
        "{{ url: \"ldap://127.0.0.1\", user_base: \"dc=corp\", domains: [corp.example], \
         bind_dn: \"cn=legate,dc=corp\", bind_password: {{ file: \"{}\" }} }}",
        file.display()
    )))
    .unwrap_err();
    assert_eq!(error.field, "bind_password");
}

#[test]
fn tls_needs_a_readable_ca_bundle() {
    let base = "url: \"ldaps://127.0.0.1\", user_base: \"dc=corp\", domains: [corp.example]";
    let error = LdapSettings::from_config(&config(&format!("{{ {base} }}"))).unwrap_err();
    assert_eq!(error.field, "tls_ca");
    let empty = tempfile_path("ldap-ca.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let error = LdapSettings::from_config(&config(&format!(
        "{{ {base}, tls_ca: \"{}\" }}",
        empty.display()
    )))
    .unwrap_err();
    assert_eq!(error.field, "tls_ca");
    assert!(error.message.contains("no PEM certificate"), "{error}");
    std::fs::remove_file(&empty).unwrap();
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("legate-{}-{name}", std::process::id()))
}
