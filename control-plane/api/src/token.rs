//! Bearer tokens guarding the admin API and the control plane: one way to read them and one
//! strength rule, so `legate validate`, `legate run` and `legate-control-plane` agree on which
//! token files are acceptable.

use std::path::{Path, PathBuf};

/// The fewest characters a token may have. A token is compared whole on every request, so
/// only its length and variety stand between the API and a guessing attacker.
pub const MIN_TOKEN_CHARS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token file {path} cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file {path} is empty")]
    Empty { path: PathBuf },
    #[error("the token in {path} has {chars} characters; at least {MIN_TOKEN_CHARS} are required")]
    TooShort { path: PathBuf, chars: usize },
    #[error(
        "the token in {path} is too weak: it must be one word of visible characters, not one \
         character repeated"
    )]
    Weak { path: PathBuf },
}

/// The token in `path`, without surrounding white space, if it is strong enough.
pub fn read_token_file(path: &Path) -> Result<String, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    check_token(text.trim()).map_err(|error| error.at(path))?;
    Ok(text.trim().to_string())
}

/// Why a token is refused, before the file is known.
enum Weakness {
    Empty,
    TooShort(usize),
    Weak,
}

impl Weakness {
    fn at(self, path: &Path) -> TokenError {
        let path = path.to_path_buf();
        match self {
            Weakness::Empty => TokenError::Empty { path },
            Weakness::TooShort(chars) => TokenError::TooShort { path, chars },
            Weakness::Weak => TokenError::Weak { path },
        }
    }
}

fn check_token(token: &str) -> Result<(), Weakness> {
    let chars = token.chars().count();
    if chars == 0 {
        return Err(Weakness::Empty);
    }
    if chars < MIN_TOKEN_CHARS {
        return Err(Weakness::TooShort(chars));
    }
    let visible = token.bytes().all(|b| b.is_ascii_graphic());
    let first = token.chars().next();
    let repeated = token.chars().all(|c| Some(c) == first);
    if !visible || repeated {
        return Err(Weakness::Weak);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<String, TokenError> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("token");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        read_token_file(&path)
    }

    #[test]
    fn strong_tokens_are_read_without_surrounding_white_space() {
        assert_eq!(
            read("  Xk2-9fQ_pL7wZ3rT\n").ok().as_deref(),
            Some("Xk2-9fQ_pL7wZ3rT")
        );
    }

    #[test]
    fn empty_short_and_weak_tokens_are_refused_with_the_reason() {
        assert!(matches!(read(" \n"), Err(TokenError::Empty { .. })));
        assert!(matches!(
            read("x"),
            Err(TokenError::TooShort { chars: 1, .. })
        ));
        assert!(matches!(
            read("aaaaaaaaaaaaaaaaaaaa"),
            Err(TokenError::Weak { .. })
        ));
        assert!(matches!(
            read("two words of a token"),
            Err(TokenError::Weak { .. })
        ));
        let missing = read_token_file(Path::new("/nonexistent/token"));
        assert!(matches!(missing, Err(TokenError::Unreadable { .. })));
        let message = read("short")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("at least 16"), "{message}");
    }
}
