//! "Did you mean" hints for misspelt field and variant names.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Allow one edit for short names and about one per four characters for longer ones, so
    // `adress` finds `address` but `tls` does not "correct" to `udp`.
    let budget = (word.chars().count() / 4).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(distance, _)| *distance <= budget)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_near_misses() {
        assert_eq!(
            closest("adress", &["address", "token_file"]),
            Some("address")
        );
        assert_eq!(closest("udpp", &["udp", "tcp", "tls"]), Some("udp"));
        assert_eq!(
            closest("listener", &["listeners", "routes"]),
            Some("listeners")
        );
    }

    #[test]
    fn ignores_unrelated_names() {
        assert_eq!(closest("websocket", &["udp", "tcp", "tls"]), None);
        assert_eq!(closest("", &["udp"]), None);
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
