//! Search filters from templates: `{user}`, `{domain}` and `{dn}` are filled in with values
//! escaped as RFC 4515 asks, so a looked-up name can only ever be a value, never filter syntax
//! (a user part `*)(uid=*` searches for that literal string, it does not widen the search).

use legate_api::{FilterTemplate, TemplatePart};

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    User,
    Domain,
    /// The user's DN (group searches only).
    Dn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A template cut into parts once, at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledFilter {
    parts: Vec<Part>,
}

/// The values a filter is filled in with.
pub struct Values<'a> {
    pub user: &'a str,
    pub domain: &'a str,
    pub dn: &'a str,
}

impl CompiledFilter {
    /// Compiles `template`, accepting only the placeholders in `allowed`.
    pub fn compile(
        template: &FilterTemplate,
        allowed: &[Placeholder],
    ) -> Result<CompiledFilter, String> {
        let mut parts = Vec::new();
        for part in template.parts()? {
            parts.push(match part {
                TemplatePart::Text(text) => Part::Text(text.to_string()),
                TemplatePart::Placeholder(name) => {
                    let placeholder = match name {
                        "user" => Placeholder::User,
                        "domain" => Placeholder::Domain,
                        "dn" => Placeholder::Dn,
                        other => return Err(format!("unknown placeholder `{{{other}}}`")),
                    };
                    if !allowed.contains(&placeholder) {
                        return Err(format!("`{{{name}}}` cannot be used here"));
                    }
                    Part::Value(placeholder)
                }
            });
        }
        Ok(CompiledFilter { parts })
    }

    /// The attribute the template compares `{user}` with (`uid` in `(uid={user})`), so the
    /// user part of an entry found another way can be read back from it.
    pub fn user_attribute(&self) -> Option<&str> {
        // `(attr={user})`: the whole value is the user part, nothing else around it.
        let before = self.parts.windows(3).find_map(|parts| match parts {
            [Part::Text(before), Part::Value(Placeholder::User), Part::Text(after)]
                if after.starts_with(')') =>
            {
                Some(before.as_str())
            }
            _ => None,
        })?;
        let assertion = before.strip_suffix('=')?;
        let name = &assertion[assertion.rfind('(')? + 1..];
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.');
        valid.then_some(name)
    }

    /// The filter with every placeholder replaced by its escaped value.
    pub fn render(&self, values: &Values<'_>) -> String {
        let mut filter = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => filter.push_str(text),
                Part::Value(placeholder) => {
                    let value = match placeholder {
                        Placeholder::User => values.user,
                        Placeholder::Domain => values.domain,
                        Placeholder::Dn => values.dn,
                    };
                    escape_into(value, &mut filter);
                }
            }
        }
        filter
    }
}

/// Escapes an assertion value (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`,
/// `\29`, `\5c` and `\00`; everything else, UTF-8 included, stays as it is.
pub fn escape_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            other => out.push(other),
        }
    }
}
