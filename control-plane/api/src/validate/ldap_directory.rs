//! Checks for an `ldap` directory: where the server is, how to trust it and bind to it, and
//! search templates that can be filled in safely.

use super::domain::check_domain_pattern;
use super::Problems;
use crate::config::{FilterTemplate, LdapDirectoryConfig, Secret, TemplatePart};

pub(super) fn check(ldap: &LdapDirectoryConfig, path: &str, problems: &mut Problems<'_>) {
    let at = |field: &str| format!("{path}.{field}");

    if let Err(message) = check_url(&ldap.url) {
        problems.report(&at("url"), message);
    }
    check_tls(ldap, &at, problems);

    match (&ldap.bind_dn, &ldap.bind_password) {
        (Some(_), None) => problems.report(
            &at("bind_dn"),
            "a bind DN needs `bind_password` (leave both out for anonymous searches)",
        ),
        (None, Some(_)) => problems.report(&at("bind_password"), "a password needs `bind_dn`"),
        _ => {}
    }
    if let Some(dn) = &ldap.bind_dn {
        check_dn(dn, &at("bind_dn"), problems);
    }
    match &ldap.bind_password {
        Some(Secret::Value(value)) if value.is_empty() => problems.report(
            &at("bind_password.value"),
            "must not be empty: an empty password is an anonymous bind to most servers",
        ),
        Some(Secret::File(file)) if file.as_os_str().is_empty() => {
            problems.report(&at("bind_password.file"), "must not be empty")
        }
        _ => {}
    }

    check_dn(&ldap.user_base, &at("user_base"), problems);
    let user_names = check_template(
        &ldap.user_filter,
        &["user", "domain"],
        &at("user_filter"),
        problems,
    );
    if let Some(names) = &user_names {
        if !names.contains(&"user") {
            problems.report(
                &at("user_filter"),
                "must use {user}, or every lookup would find the same entries",
            );
        }
    }
    for (k, domain) in ldap.domains.iter().enumerate() {
        let domain_path = format!("{path}.domains[{k}]");
        if domain.contains('*') {
            problems.report(&domain_path, "list each domain exactly (no wildcards)");
        } else if let Err(message) = check_domain_pattern(domain) {
            problems.report(&domain_path, message);
        }
    }
    let filter_has_domain = user_names.is_some_and(|names| names.contains(&"domain"));
    if ldap.domains.is_empty() && !filter_has_domain {
        problems.report(
            &at("domains"),
            "say which domains this directory knows (`domains: [corp.example]`), or use \
             {domain} in user_filter; otherwise alice@any.domain would be the same entry",
        );
    }

    check_groups(ldap, &at, problems);
    if let Some(attribute) = &ldap.member_of {
        check_attribute_name(attribute, &at("member_of"), problems);
    }
    for (name, attribute) in &ldap.attributes {
        if name.trim().is_empty() {
            problems.report(&at("attributes"), "attribute names must not be empty");
        }
        check_attribute_name(attribute, &at(&format!("attributes.{name}")), problems);
    }

    if ldap.pool_size == 0 {
        problems.report(&at("pool_size"), "must be at least 1");
    }
    if ldap.timeout.is_zero() {
        problems.report(&at("timeout"), "must be greater than zero");
    }
    if ldap.cache.max_entries == 0 {
        problems.report(
            &at("cache.max_entries"),
            "must be at least 1 (set `ttl: 0s` and `negative_ttl: 0s` to turn caching off)",
        );
    }
}

/// `ldap://host[:port]` or `ldaps://host[:port]`, nothing after the authority.
fn check_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("ldap://")
        .or_else(|| lower.strip_prefix("ldaps://"))
    else {
        return Err(format!(
            "`{url}`: write `ldap://host[:port]` or `ldaps://host[:port]`"
        ));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('/') || authority.contains('?') {
        return Err(format!(
            "`{url}`: leave out the path and query; searches start at `user_base`"
        ));
    }
    let (host, port) = match authority.rfind(':') {
        // `[::1]` alone has colons but no port.
        Some(colon) if !authority[colon..].contains(']') => {
            (&authority[..colon], Some(&authority[colon + 1..]))
        }
        _ => (authority, None),
    };
    if host.is_empty() || host.contains('@') {
        return Err(format!(
            "`{url}`: the server's host name or address is missing"
        ));
    }
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(format!("`{url}`: `{port}` is not a port number"));
        }
    }
    Ok(())
}

fn check_tls(ldap: &LdapDirectoryConfig, at: &dyn Fn(&str) -> String, problems: &mut Problems<'_>) {
    let ldaps = ldap.url.to_ascii_lowercase().starts_with("ldaps://");
    if ldaps && ldap.start_tls {
        problems.report(
            &at("start_tls"),
            "StartTLS upgrades a plain ldap:// connection; ldaps:// is TLS from the start",
        );
    }
    match &ldap.tls_ca {
        None if ldap.uses_tls() => problems.report(
            &at("tls_ca"),
            "TLS needs `tls_ca`: the PEM CAs the server's certificate must chain to",
        ),
        Some(_) if !ldap.uses_tls() => problems.report(
            &at("tls_ca"),
            "only used with TLS: write an ldaps:// url or set `start_tls: true`",
        ),
        Some(file) if file.as_os_str().is_empty() => {
            problems.report(&at("tls_ca"), "must not be empty")
        }
        _ => {}
    }
}

fn check_groups(
    ldap: &LdapDirectoryConfig,
    at: &dyn Fn(&str) -> String,
    problems: &mut Problems<'_>,
) {
    if ldap.member_of.is_some() && ldap.group_base.is_some() {
        problems.report(
            &at("member_of"),
            "groups come either from `member_of` on the user's entry or from a search under \
             `group_base`, not both",
        );
    }
    if let Some(base) = &ldap.group_base {
        check_dn(base, &at("group_base"), problems);
    }
    let Some(filter) = &ldap.group_filter else {
        return;
    };
    if ldap.group_base.is_none() {
        problems.report(
            &at("group_filter"),
            "a group search needs `group_base`: where the groups are",
        );
    }
    let names = check_template(
        filter,
        &["dn", "user", "domain"],
        &at("group_filter"),
        problems,
    );
    if names.is_some_and(|names| !names.contains(&"dn") && !names.contains(&"user")) {
        problems.report(
            &at("group_filter"),
            "must use {dn} (or {user}), or every user would be in every group found",
        );
    }
}

/// Checks a search template; on success, the placeholders it uses.
fn check_template<'t>(
    template: &'t FilterTemplate,
    known: &[&str],
    path: &str,
    problems: &mut Problems<'_>,
) -> Option<Vec<&'t str>> {
    let text = template.0.trim();
    if !text.starts_with('(') || !text.ends_with(')') || !balanced(text) {
        problems.report(
            path,
            format!(
                "`{}` is not an LDAP filter: write it in balanced parentheses, \
                 e.g. `(uid={{user}})`",
                template.0
            ),
        );
        return None;
    }
    let parts = match template.parts() {
        Ok(parts) => parts,
        Err(message) => {
            problems.report(path, message);
            return None;
        }
    };
    let mut names = Vec::new();
    for part in parts {
        if let TemplatePart::Placeholder(name) = part {
            if !known.contains(&name) {
                let list: Vec<String> = known.iter().map(|k| format!("{{{k}}}")).collect();
                problems.report(
                    path,
                    format!("unknown placeholder `{{{name}}}`; use {}", list.join(", ")),
                );
                return None;
            }
            names.push(name);
        }
    }
    Some(names)
}

/// Parentheses open and close in order (a literal one is written `\28` / `\29`).
fn balanced(filter: &str) -> bool {
    let mut depth = 0usize;
    for c in filter.chars() {
        match c {
            '(' => depth += 1,
            ')' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

fn check_dn(dn: &str, path: &str, problems: &mut Problems<'_>) {
    if dn.trim().is_empty() || !dn.contains('=') {
        problems.report(
            path,
            format!("`{dn}` is not a DN; write one like `ou=people,dc=corp,dc=example`"),
        );
    }
}

/// An attribute type as RFC 4512 writes it: a name (`memberOf`) or a numeric OID.
fn check_attribute_name(attribute: &str, path: &str, problems: &mut Problems<'_>) {
    let name = attribute.starts_with(|c: char| c.is_ascii_alphabetic())
        && attribute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !attribute.is_empty()
        && attribute
            .split('.')
            .all(|arc| !arc.is_empty() && arc.chars().all(|c| c.is_ascii_digit()));
    if !name && !oid {
        problems.report(
            path,
            format!("`{attribute}` is not an LDAP attribute name (letters, digits and `-`)"),
        );
    }
}
