//! Addresses of a request's two ends as policy, translation and audit write them. The ends
//! themselves (which URI is the local user, which the remote party) are the request's
//! [`RequestView`](legate_filters_api::RequestView)'s.

use legate_sip::Uri;

/// The user part without any password (`alice:secret` → `alice`), as written.
pub(crate) fn user_of(uri: &Uri) -> Option<&str> {
    let userinfo = uri.user.as_deref()?;
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    (!user.is_empty()).then_some(user)
}

/// `user@domain` (the domain lower-cased), or the domain alone when the URI names no user.
pub(crate) fn address_of(uri: &Uri) -> String {
    match user_of(uri) {
        Some(user) => legate_sip::concat(&[user, "@", &uri.host_lowercase()]),
        None => uri.host_lowercase().into(),
    }
}
