//! Errors of the filter API: configuration errors at build time, infrastructure errors at run time.

use std::borrow::Cow;

/// A filter's config did not parse or validate. `path` is relative to the filter's `config`
/// block (`request.add[0].name`); the chain builder prefixes the listener and filter position.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FilterConfigError {
    pub path: String,
    pub message: String,
}

/// A filter whose metric cannot be registered is not built: its config names no field, so the
/// error is the filter's as a whole.
impl From<crate::MetricsError> for FilterConfigError {
    fn from(error: crate::MetricsError) -> FilterConfigError {
        FilterConfigError::new("", error.to_string())
    }
}

impl FilterConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FilterConfigError {
        FilterConfigError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// For filters configured entirely elsewhere: an absent or empty `config` is fine,
    /// anything else is refused with `why`.
    pub fn expect_no_config(
        config: &serde_yaml::Value,
        why: &str,
    ) -> Result<(), FilterConfigError> {
        if config.is_null() || config.as_mapping().is_some_and(|m| m.is_empty()) {
            Ok(())
        } else {
            Err(FilterConfigError::new("", why))
        }
    }

    /// Turns a serde_yaml error from parsing a filter config into a path + message.
    pub fn from_yaml(error: &serde_yaml::Error) -> FilterConfigError {
        let text = error.to_string();
        // serde_yaml prefixes the field path as "path: message"; keep them apart for the locator.
        match text.split_once(": ") {
            Some((path, message)) if !path.contains(' ') => {
                FilterConfigError::new(path, strip_location(message))
            }
            _ => FilterConfigError::new("", strip_location(&text)),
        }
    }
}

fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Where a run-time failure came from; decides the SIP status and whether another endpoint may
/// succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The downstream peer (the one that sent the request) misbehaved.
    Downstream,
    /// The upstream (next hop) failed: unreachable, timed out, connection lost.
    Upstream,
    /// Legate itself failed.
    Internal,
}

/// Infrastructure failed while a filter (or the terminal router) handled a request.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{filter}: {message}")]
pub struct FilterError {
    pub filter: &'static str,
    pub origin: ErrorSource,
    /// Whether trying another endpoint may help.
    pub retryable: bool,
    pub message: Cow<'static, str>,
}

impl FilterError {
    pub fn internal(filter: &'static str, message: impl Into<Cow<'static, str>>) -> FilterError {
        FilterError {
            filter,
            origin: ErrorSource::Internal,
            retryable: false,
            message: message.into(),
        }
    }

    /// The status and reason phrase this failure is answered with: 400 for the sender's
    /// fault, 503 when another attempt may succeed, 502 when the next hop failed for good, 500
    /// for Legate's own failure.
    pub fn status(&self) -> (u16, &'static str) {
        match self.origin {
            ErrorSource::Downstream => (400, "Bad Request"),
            ErrorSource::Upstream if self.retryable => (503, "Service Unavailable"),
            ErrorSource::Upstream => (502, "Bad Gateway"),
            ErrorSource::Internal => (500, "Server Internal Error"),
        }
    }

    pub fn upstream(
        filter: &'static str,
        retryable: bool,
        message: impl Into<Cow<'static, str>>,
    ) -> FilterError {
        FilterError {
            filter,
            origin: ErrorSource::Upstream,
            retryable,
            message: message.into(),
        }
    }
}
