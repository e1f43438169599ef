//! Header names and values that filters set: each name must be an RFC 3261 token, and never one
//! of the headers the proxy itself relies on (a filter that changed those would break routing).
//! Checked in filter configs at build time, and in answers from services at run time.

use legate_sip::HeaderKind;

use crate::FilterConfigError;

/// Headers only the proxy core may touch.
const PROXY_MANAGED: [HeaderKind; 9] = [
    HeaderKind::Via,
    HeaderKind::CallId,
    HeaderKind::CSeq,
    HeaderKind::From,
    HeaderKind::To,
    HeaderKind::Route,
    HeaderKind::RecordRoute,
    HeaderKind::MaxForwards,
    HeaderKind::ContentLength,
];

/// Why a header name cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    NotToken,
    /// The proxy relies on it (or the caller reserved it).
    Managed,
}

/// What is wrong with `name`, if anything. `also_reserved` adds headers the caller must leave
/// alone too.
pub fn problem(name: &str, also_reserved: &[HeaderKind]) -> Option<NameProblem> {
    if !is_token(name) {
        return Some(NameProblem::NotToken);
    }
    let kind = HeaderKind::from_name(name.as_bytes());
    if PROXY_MANAGED.contains(&kind) || also_reserved.contains(&kind) {
        return Some(NameProblem::Managed);
    }
    None
}

/// Whether `name` is an RFC 3261 token, as a header name must be.
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Whether `value` fits on one header line: no CR, LF or NUL.
pub fn is_single_line(value: &str) -> bool {
    !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// Checks a header name a filter's config asks it to write (at `path` in the config): a token,
/// and not one of the headers the proxy relies on (Via, Call-ID, CSeq, From, To, Route,
/// Record-Route, Max-Forwards, Content-Length).
pub fn check_header_name(name: &str, path: &str) -> Result<(), FilterConfigError> {
    check(name, path, &[], "cannot be written by a filter")
}

/// Checks the header name at `path`. `also_reserved` adds headers this filter must leave alone
/// too; `refusal` finishes the sentence "`X` is managed by the proxy and …".
pub fn check(
    name: &str,
    path: &str,
    also_reserved: &[HeaderKind],
    refusal: &str,
) -> Result<(), FilterConfigError> {
    match problem(name, also_reserved) {
        None => Ok(()),
        Some(NameProblem::NotToken) => Err(FilterConfigError::new(
            path,
            format!(
                "`{name}` is not a valid header name (a token of letters, digits and -.!%*_+`'~)"
            ),
        )),
        Some(NameProblem::Managed) => Err(FilterConfigError::new(
            path,
            format!("`{name}` is managed by the proxy and {refusal}"),
        )),
    }
}
