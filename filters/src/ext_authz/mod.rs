//! `legate.filters.sip.ext_authz`: asks an external HTTP service (a security or compliance
//! system) whether a request may pass, and applies its answer: pass on, pass on with changed
//! headers, or refuse with the service's status and reason.
//!
//! ```yaml
//! - name: legate.filters.sip.ext_authz
//!   config:
//!     url: "http://127.0.0.1:9191/check"   # or https://… with tls_ca
//!     # tls_ca: /etc/legate/authz-ca.pem   # https only: the CAs the service's certificate chains to
//!     timeout: 1s                          # each whole call; default 1s, at most 30s
//!     failure_mode: deny                   # deny (default): 503 + Retry-After; allow: pass and log
//!     include_headers: [Subject, User-Agent, P-Asserted-Identity]   # copied into the check
//!     include_body: { max_bytes: 4096 }    # optional: the body, cut at max_bytes
//!     pool_size: 4                         # idle connections kept to the service; default 4
//!     methods: [MESSAGE, INVITE, SUBSCRIBE]   # optional: only these; default every method
//!     check_in_dialog: false               # default: requests inside a dialog pass unchecked
//! ```
//!
//! For every checked request Legate POSTs a JSON check request (`Content-Type:
//! application/json`) to `url`:
//!
//! ```json
//! {
//!   "version": 1,
//!   "method": "MESSAGE",
//!   "request_uri": "sip:alice@acme.example",
//!   "call_id": "a84b4c76e66710@pc33.partner.example",
//!   "from": "sip:bob@partner.example",
//!   "to": "sip:alice@acme.example",
//!   "service": "im",
//!   "direction": "inbound",
//!   "partner": "partner",
//!   "identity": { "kind": "partner", "domain": "partner.example",
//!                 "dns_names": ["partner.example"], "uris": [] },
//!   "listener": "external",
//!   "source": "192.0.2.10:40112",
//!   "policy": { "decision": "allow", "rule_id": "partners-write-in" },
//!   "headers": { "Subject": ["Quarterly figures"] },
//!   "body": "hello",
//!   "body_truncated": false
//! }
//! ```
//!
//! - `from`, `to`: the URIs of From and To (no display name, no tag);
//! - `service`: as `domain_policy` classifies it (`im`, `presence`, `voice`, `video`,
//!   `file-transfer`, `chat`, `other`); `direction`: `inbound` on an external listener,
//!   `outbound` on an internal one;
//! - `partner`: the federation partner `authn` established (its configured name), else `null`;
//! - `identity`: what `authn` proved, `null` when it did not run earlier in the chain: `kind`
//!   `partner` (with the sending `domain` and the names in the partner's verified certificate)
//!   or `internal` (the organisation's own systems, trusted by source address);
//! - `source`: the address the request came from; `listener`: the listener's name;
//! - `policy`: the `domain_policy` decision and rule id (`null` when the default decided), or
//!   `null` when that filter did not run earlier in the chain;
//! - `headers`: each `include_headers` name present on the request, with all its values;
//! - `body`: with `include_body`, the body as UTF-8 (invalid sequences replaced), cut at
//!   `max_bytes` (`body_truncated` says so); otherwise `null`.
//!
//! The service answers HTTP 200 with a JSON body (unknown fields are ignored):
//!
//! ```json
//! { "result": "allow" }
//! { "result": "allow", "headers": { "set": [ { "name": "X-Compliance", "value": "checked" } ],
//!                                   "remove": [ "Subject" ] } }
//! { "result": "deny", "status": 403, "reason": "Blocked by compliance policy" }
//! ```
//!
//! An allow passes the request on after the header changes: `remove` drops every header of
//! each name, then each `set` replaces every header of its name with one. A deny is answered
//! locally with `status` (400–699, default 403) and `reason` as both the reason phrase and a
//! `Warning: 399 legate "…"`; the reason is sanitised (control characters, quotes and
//! backslashes become spaces) and cut at 120 characters.
//!
//! Anything else is a *service error*, handled by `failure_mode`: no connection, no complete
//! answer within `timeout`, an HTTP status other than 2xx, a body that is not such JSON (or is
//! over 64 KiB), a deny status outside 400–699, or a header change naming a header the proxy
//! depends on (Via, Route, Record-Route, Call-ID, CSeq, From, To, Max-Forwards, Content-Length,
//! Contact) or carrying CR/LF. With `failure_mode: deny` the request gets `503 Service
//! Unavailable` with `Retry-After: 5` (the service's silence is no verdict, so the sender may
//! retry); with `allow` it passes on unchanged. Either way the error is logged and counted.
//! Outcomes are counted as `legate_ext_authz_total{result}` on `/metrics`.
//!
//! ACK and CANCEL are never checked (they cannot be refused). Place the filter after `authn`
//! and `domain_policy` so the service sees who the sender is and what policy decided. Safe in
//! front of untrusted peers: it only adds a check, bounded by `timeout`.

mod client;
mod config;
mod connector;
mod counts;
mod describe;
mod error;
mod layer;
mod service;
#[cfg(test)]
mod test_service;
#[cfg(test)]
mod tests;
mod wire;

pub use config::{ExtAuthzConfig, FailureMode, IncludeBody};
pub use layer::ExtAuthzFactory;
pub use service::ExtAuthz;

/// The registered name of this filter.
pub const NAME: &str = "legate.filters.sip.ext_authz";
