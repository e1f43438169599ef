//! Header values built from pieces, sized once: `format!` costs a formatter pass and a few
//! reallocations per value, and the proxy writes several values for every message.

/// `value` printed into a string of `capacity` bytes to begin with: printed into an empty
/// string, a header value grows it several times.
pub fn printed(value: &impl std::fmt::Display, capacity: usize) -> String {
    let mut text = String::with_capacity(capacity);
    let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{value}"));
    text
}

/// `parts` joined with nothing between them.
pub fn concat(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_the_parts_in_order() {
        assert_eq!(concat(&["alice", "@", "example.com"]), "alice@example.com");
        assert_eq!(concat(&[]), "");
    }

    #[test]
    fn printing_into_a_sized_string_prints_the_same() {
        assert_eq!(printed(&12.5, 1), "12.5");
        assert_eq!(
            printed(&"a longer text than its capacity", 4),
            "a longer text than its capacity"
        );
    }
}
