//! Header names in filter configs: each must be an RFC 3261 token, and never one of the headers
//! the proxy itself relies on (a filter that changed those would break routing).

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

/// Checks a header name a filter's config asks it to write (at `path` in the config): a token,
/// and not one of the headers the proxy relies on (Via, Call-ID, CSeq, From, To, Route,
/// Record-Route, Max-Forwards, Content-Length).
pub fn check_header_name(name: &str, path: &str) -> Result<(), FilterConfigError> {
    check(name, path, &[], "cannot be written by a filter")
}

/// Checks the header name at `path`. `also_reserved` adds headers this filter must leave alone
/// too; `refusal` finishes the sentence "`X` is managed by the proxy and …".
pub(crate) fn check(
    name: &str,
    path: &str,
    also_reserved: &[HeaderKind],
    refusal: &str,
) -> Result<(), FilterConfigError> {
    let is_token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
    if !is_token {
        return Err(FilterConfigError::new(
            path,
            format!(
                "`{name}` is not a valid header name (a token of letters, digits and -.!%*_+`'~)"
            ),
        ));
    }
    let kind = HeaderKind::from_name(name.as_bytes());
    if PROXY_MANAGED.contains(&kind) || also_reserved.contains(&kind) {
        return Err(FilterConfigError::new(
            path,
            format!("`{name}` is managed by the proxy and {refusal}"),
        ));
    }
    Ok(())
}
