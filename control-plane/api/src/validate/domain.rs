//! The syntax of route domain patterns.

/// Longest domain name DNS allows, without the trailing dot.
const MAX_NAME: usize = 253;
/// Longest single label DNS allows.
const MAX_LABEL: usize = 63;

/// Checks a route's domain pattern: `*` (any domain), an exact name (`remote.example`), or
/// one leading wildcard label (`*.remote.example`, subdomains only). The error says what is
/// wrong in words a user can act on.
pub fn check_domain_pattern(pattern: &str) -> Result<(), String> {
    if pattern == "*" {
        return Ok(());
    }
    if pattern.is_empty() {
        return Err("must not be empty; use `*` to match every domain".into());
    }
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    if name.contains('*') {
        return Err(format!(
            "`{pattern}`: `*` is only allowed alone or as the whole first label, as in `*.remote.example`"
        ));
    }
    if name.ends_with('.') {
        return Err(format!(
            "`{pattern}`: leave out the trailing dot (`{}`)",
            pattern.trim_end_matches('.')
        ));
    }
    if name.len() > MAX_NAME {
        return Err(format!(
            "`{pattern}` is longer than the {MAX_NAME} characters a domain name may have"
        ));
    }
    for label in name.split('.') {
        check_label(pattern, label)?;
    }
    Ok(())
}

fn check_label(pattern: &str, label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err(format!(
            "`{pattern}` has an empty label (two dots in a row, or a leading dot)"
        ));
    }
    if label.len() > MAX_LABEL {
        return Err(format!(
            "`{pattern}`: label `{label}` is longer than {MAX_LABEL} characters"
        ));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "`{pattern}`: {bad:?} is not allowed in a domain name (letters, digits and `-` only)"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "`{pattern}`: label `{label}` must not start or end with `-`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exact_wildcard_and_any() {
        for ok in [
            "*",
            "remote.example",
            "*.remote.example",
            "a-b.example",
            "LOCAL.example",
            "localhost",
        ] {
            assert_eq!(check_domain_pattern(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_patterns() {
        for bad in [
            "",
            "*.",
            "**.example",
            "a.*.example",
            "*.*.example",
            "*example",
            "remote.example.",
            "remote..example",
            ".remote.example",
            "-remote.example",
            "remote_x.example",
            "remote example",
            "sip:remote.example",
        ] {
            assert!(check_domain_pattern(bad).is_err(), "{bad:?} was accepted");
        }
        let long_label = format!("{}.example", "a".repeat(64));
        assert!(check_domain_pattern(&long_label).is_err());
    }
}
