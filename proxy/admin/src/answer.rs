//! The answers both HTTP APIs (admin, control plane) build: a body with its content type and
//! `Cache-Control: no-store` (what they serve changes from one request to the next), plain text,
//! 405 with `Allow`, and 401 with the bearer challenge.

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::Full;

pub const TEXT: &str = "text/plain; charset=utf-8";

pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    response(status, TEXT, body)
}

pub fn method_not_allowed(allowed: &'static str) -> Response<Full<Bytes>> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    response
}

/// 401 with `WWW-Authenticate: Bearer realm="<realm>"` (`realm` as the whole header value).
pub fn unauthorized(challenge: &'static str) -> Response<Full<Bytes>> {
    let mut response = text(StatusCode::UNAUTHORIZED, "unauthorized");
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}
