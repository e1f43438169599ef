//! The JSON exchanged with the authorization service: the check request Legate sends and the
//! answer it expects, with the answer's checks (the module docs describe both for service
//! authors).

use std::collections::BTreeMap;

use legate_sip::HeaderKind;
use serde::{Deserialize, Serialize};

use super::error::AuthzError;
use crate::header_mutation::CompiledRules;
use legate_filters_api::header_name::{is_single_line, problem, NameProblem};

/// The version of the check request format; raised only for changes a service must know about.
pub(crate) const VERSION: u32 = 1;

/// What the service is asked about one SIP request.
#[derive(Debug, Serialize)]
pub(crate) struct CheckRequest<'a> {
    pub version: u32,
    pub method: &'a str,
    pub request_uri: String,
    pub call_id: String,
    /// The From and To URIs (without display name or tag).
    pub from: String,
    pub to: String,
    /// As domain_policy classifies it: im, presence, voice, video, file-transfer, chat, other.
    pub service: &'static str,
    /// inbound (from a federation partner) or outbound (from the organisation's own systems).
    pub direction: &'static str,
    /// The federation partner authn established, by its configured name.
    pub partner: Option<&'a str>,
    /// What authn proved about the sender; `None` when authn did not run before this filter.
    pub identity: Option<Identity<'a>>,
    /// The listener the request arrived on.
    pub listener: &'a str,
    /// `ip:port` the request came from.
    pub source: Option<String>,
    /// The domain_policy decision, when that filter ran before this one.
    pub policy: Option<Policy<'a>>,
    /// The configured `include_headers` present on the request, by the configured name.
    pub headers: BTreeMap<&'a str, Vec<String>>,
    /// The body (as UTF-8, invalid sequences replaced) when `include_body` is set.
    pub body: Option<String>,
    /// Whether `body` was cut at `include_body.max_bytes`.
    pub body_truncated: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Identity<'a> {
    /// `partner`: proven by a TLS certificate; `internal`: the organisation's own IM system,
    /// trusted by listener and source address.
    pub kind: &'static str,
    /// The sending domain authn checked against the certificate (partners only).
    pub domain: Option<&'a str>,
    /// The certificate's subjectAltName DNS names and SIP URIs (partners only; else empty).
    pub dns_names: &'a [String],
    pub uris: &'a [String],
}

#[derive(Debug, Serialize)]
pub(crate) struct Policy<'a> {
    /// allow or deny.
    pub decision: &'static str,
    /// The rule that decided; `None` when the default did.
    pub rule_id: Option<&'a str>,
}

/// The service's answer. Unknown fields are ignored, so services may add their own.
#[derive(Debug, Deserialize)]
pub(crate) struct CheckAnswer {
    pub result: Outcome,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The service's own rule that decided a deny, recorded by audit.
    #[serde(default)]
    pub rule_id: Option<String>,
    #[serde(default)]
    pub headers: Option<HeaderChanges>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    Allow,
    Deny,
}

/// Changes an allowing service asks for before the request goes on.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct HeaderChanges {
    /// Each replaces every header of its name with one.
    #[serde(default)]
    pub set: Vec<SetHeader>,
    /// Removes every header of each name.
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SetHeader {
    pub name: String,
    pub value: String,
}

/// The checked answer.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Pass on, after these header changes.
    Allow(CompiledRules),
    /// Answer `status` with `reason` (sanitised), under the service's rule `rule_id`.
    Deny {
        status: u16,
        reason: String,
        rule_id: Option<String>,
    },
}

/// Status of a deny answer that names none.
pub(crate) const DEFAULT_DENY_STATUS: u16 = 403;

/// The reason of a deny answer that gives none (or none that survives sanitising).
pub(crate) const DEFAULT_DENY_REASON: &str = "Denied by the authorization service";

/// The longest reason passed on to the SIP peer, in characters.
pub(crate) const MAX_REASON_CHARS: usize = 120;

/// Headers the service may not change besides the ones the proxy manages for every filter:
/// Contact locates the sender's device and topology hiding rewrites it.
const ALSO_PROTECTED: [HeaderKind; 1] = [HeaderKind::Contact];

impl CheckAnswer {
    /// Parses and checks an answer body. Anything that does not make a clear verdict is an
    /// error, which `failure_mode` then handles.
    pub fn parse(body: &[u8]) -> Result<Verdict, AuthzError> {
        let answer: CheckAnswer =
            serde_json::from_slice(body).map_err(|e| AuthzError::Malformed(e.to_string()))?;
        answer.verdict()
    }

    fn verdict(self) -> Result<Verdict, AuthzError> {
        match self.result {
            Outcome::Allow => Ok(Verdict::Allow(
                self.headers.unwrap_or_default().into_rules()?,
            )),
            Outcome::Deny => {
                let status = self.status.unwrap_or(DEFAULT_DENY_STATUS);
                if !(400..=699).contains(&status) {
                    return Err(AuthzError::BadStatus(status));
                }
                let reason = sanitise_reason(self.reason.as_deref().unwrap_or(""));
                let rule_id = self.rule_id.as_deref().and_then(rule_id);
                Ok(Verdict::Deny {
                    status,
                    reason,
                    rule_id,
                })
            }
        }
    }
}

impl HeaderChanges {
    fn into_rules(self) -> Result<CompiledRules, AuthzError> {
        let mut rules = CompiledRules::default();
        for name in self.remove {
            check_name(&name)?;
            rules.remove.push(name);
        }
        for SetHeader { name, value } in self.set {
            check_name(&name)?;
            if !is_single_line(&value) {
                return Err(AuthzError::BadHeader(format!(
                    "the value of `{name}` holds CR, LF or NUL"
                )));
            }
            rules.set.push((name, value));
        }
        Ok(rules)
    }
}

fn check_name(name: &str) -> Result<(), AuthzError> {
    match problem(name, &ALSO_PROTECTED) {
        None => Ok(()),
        Some(NameProblem::Managed) => Err(AuthzError::ProtectedHeader(name.to_string())),
        Some(NameProblem::NotToken) => Err(AuthzError::BadHeader(format!(
            "`{}` is not a header name",
            name.escape_debug()
        ))),
    }
}

/// A rule id the service gave, if it is one: 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
/// Anything else is dropped rather than written into audit records.
fn rule_id(id: &str) -> Option<String> {
    let fits = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    fits.then(|| id.to_string())
}

/// A reason fit for a SIP reason phrase and a quoted Warning text: control characters, quotes
/// and backslashes become spaces, runs of spaces one, and it is cut at [`MAX_REASON_CHARS`].
pub(crate) fn sanitise_reason(reason: &str) -> String {
    let mut clean = String::with_capacity(reason.len().min(MAX_REASON_CHARS));
    let mut count = 0;
    for c in reason.chars() {
        let c = if c.is_control() || c == '"' || c == '\\' {
            ' '
        } else {
            c
        };
        if c == ' ' && (clean.is_empty() || clean.ends_with(' ')) {
            continue;
        }
        if count == MAX_REASON_CHARS {
            break;
        }
        clean.push(c);
        count += 1;
    }
    let clean = clean.trim_end();
    if clean.is_empty() {
        DEFAULT_DENY_REASON.to_string()
    } else {
        clean.to_string()
    }
}
