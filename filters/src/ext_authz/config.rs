//! Typed config of the ext_authz filter, as written in YAML, and its checked form.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use legate_sip::Method;
use rustls::pki_types::ServerName;
use serde::Deserialize;

use legate_filters_api::{ConfigFolder, FilterConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtAuthzConfig {
    /// Where check requests are POSTed: `http://host:port/path` or `https://…` with `tls_ca`.
    pub url: String,
    /// PEM CAs the service's certificate must chain to (https only); a relative path is taken
    /// from the configuration file's folder.
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    /// Bounds each whole call: connecting, sending, and reading the answer.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// What happens when the service cannot be reached, times out or answers garbage.
    #[serde(default)]
    pub failure_mode: FailureMode,
    /// Request headers copied into the check request, by name.
    #[serde(default)]
    pub include_headers: Vec<String>,
    /// Copy the body into the check request, up to `max_bytes`.
    #[serde(default)]
    pub include_body: Option<IncludeBody>,
    /// Idle connections kept open to the service.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Only these methods are checked; left out, every method is.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// Check requests inside a dialog too (by default the dialog was checked when it started).
    #[serde(default)]
    pub check_in_dialog: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncludeBody {
    pub max_bytes: usize,
}

/// What a request gets when the service gives no usable answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// `503 Service Unavailable` with `Retry-After`: nothing passes unchecked.
    #[default]
    Deny,
    /// The request passes on unchecked, and the failure is logged.
    Allow,
}

impl FailureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureMode::Deny => "deny",
            FailureMode::Allow => "allow",
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(1)
}

fn default_pool_size() -> usize {
    4
}

/// The longest `timeout` accepted: a SIP transaction gives up after 32 seconds anyway.
const MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the service is, checked.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The URL requests are sent to.
    pub uri: http::Uri,
    pub host: String,
    pub port: u16,
    /// Set for https.
    pub tls: Option<Tls>,
}

/// How an https service is verified: its certificate chains to `tls_ca` and names `name`.
#[derive(Debug, Clone)]
pub(crate) struct Tls {
    pub config: Arc<rustls::ClientConfig>,
    pub name: ServerName<'static>,
}

/// The config checked once; requests only read it.
#[derive(Debug)]
pub(crate) struct Settings {
    pub endpoint: Endpoint,
    pub timeout: Duration,
    pub failure_mode: FailureMode,
    pub include_headers: Vec<String>,
    pub body_max_bytes: Option<usize>,
    pub pool_size: usize,
    /// `None`: every method.
    pub methods: Option<Vec<Method>>,
    pub check_in_dialog: bool,
}

impl ExtAuthzConfig {
    /// Parses the filter's `config` block. Errors carry the field path.
    pub fn from_yaml(value: &serde_yaml::Value) -> Result<Self, FilterConfigError> {
        if value.is_null() {
            return Err(FilterConfigError::new(
                "url",
                "ext_authz needs a config with at least the service's `url`",
            ));
        }
        // Deserialising a `Value` directly loses the field path; the text parser keeps it.
        let text = serde_yaml::to_string(value)
            .map_err(|error| FilterConfigError::new("", error.to_string()))?;
        serde_yaml::from_str(&text).map_err(|error| FilterConfigError::from_yaml(&error))
    }

    /// Checks every field; `folder` resolves a relative `tls_ca`.
    pub(crate) fn compile(
        &self,
        folder: Option<&ConfigFolder>,
    ) -> Result<Settings, FilterConfigError> {
        let endpoint = self.endpoint(folder)?;
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(FilterConfigError::new(
                "timeout",
                "must be more than 0s and at most 30s",
            ));
        }
        for (i, name) in self.include_headers.iter().enumerate() {
            if !legate_filters_api::header_name::is_token(name) {
                return Err(FilterConfigError::new(
                    format!("include_headers[{i}]"),
                    format!("`{name}` is not a valid header name"),
                ));
            }
        }
        let body_max_bytes = match self.include_body {
            Some(IncludeBody { max_bytes: 0 }) => {
                return Err(FilterConfigError::new(
                    "include_body.max_bytes",
                    "must be at least 1; leave `include_body` out to send no body",
                ))
            }
            Some(body) => Some(body.max_bytes),
            None => None,
        };
        Ok(Settings {
            endpoint,
            timeout: self.timeout,
            failure_mode: self.failure_mode,
            include_headers: self.include_headers.clone(),
            body_max_bytes,
            pool_size: self.pool_size,
            methods: self.methods()?,
            check_in_dialog: self.check_in_dialog,
        })
    }

    fn endpoint(&self, folder: Option<&ConfigFolder>) -> Result<Endpoint, FilterConfigError> {
        let bad_url = |why: &str| {
            FilterConfigError::new(
                "url",
                format!("`{}` {why}: expected http://host:port/path", self.url),
            )
        };
        let uri: http::Uri = self.url.parse().map_err(|_| bad_url("is not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad_url("is neither http nor https")),
        };
        let authority = uri.authority().ok_or_else(|| bad_url("names no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad_url("carries credentials, which are not supported"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(bad_url("names no host"));
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let tls = match (tls, &self.tls_ca) {
            (true, Some(path)) => {
                let path = folder.map_or_else(|| path.clone(), |f| f.resolve(path));
                let config = legate_tls::client_config(&path, None)
                    .map(Arc::new)
                    .map_err(|e| FilterConfigError::new("tls_ca", e.to_string()))?;
                let name = ServerName::try_from(host.to_string())
                    .map_err(|_| bad_url("names a host that cannot be verified over TLS"))?;
                Some(Tls { config, name })
            }
            (true, None) => {
                return Err(FilterConfigError::new(
                    "tls_ca",
                    "https needs `tls_ca`: the PEM CAs the service's certificate must chain to",
                ))
            }
            (false, Some(_)) => {
                return Err(FilterConfigError::new(
                    "tls_ca",
                    "only used with an https url",
                ))
            }
            (false, None) => None,
        };
        Ok(Endpoint {
            host: host.to_string(),
            port,
            uri,
            tls,
        })
    }

    fn methods(&self) -> Result<Option<Vec<Method>>, FilterConfigError> {
        let Some(names) = &self.methods else {
            return Ok(None);
        };
        if names.is_empty() {
            return Err(FilterConfigError::new(
                "methods",
                "an empty list checks nothing; leave `methods` out to check every method",
            ));
        }
        let mut methods = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let path = format!("methods[{i}]");
            let method = Method::parse(name.as_bytes()).map_err(|_| {
                FilterConfigError::new(&path, format!("`{name}` is not a SIP method"))
            })?;
            if matches!(method, Method::Ack | Method::Cancel) {
                return Err(FilterConfigError::new(
                    path,
                    "ACK and CANCEL are handled by the transaction layer and never reach filters",
                ));
            }
            methods.push(method);
        }
        Ok(Some(methods))
    }

    /// A complete example, the one in the module docs (parsed by a test).
    pub fn example() -> &'static str {
        r#"
url: "http://127.0.0.1:9191/check"
timeout: 1s
failure_mode: deny
include_headers: [Subject, User-Agent, P-Asserted-Identity]
include_body: { max_bytes: 4096 }
pool_size: 4
methods: [MESSAGE, INVITE, SUBSCRIBE]
check_in_dialog: false
"#
    }
}
