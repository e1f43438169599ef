use legate_api::{FilterTemplate, LdapDirectoryConfig};

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

fn config(yaml: &str) -> LdapDirectoryConfig {
    serde_yaml::from_str(yaml).unwrap()
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
