//! Topology hiding: nothing that leaves by an external listener names an internal host.
//!
//! Whatever the internal side wrote that would reveal it travels on sealed inside Legate's own
//! entries, so hiding needs no per-dialog state and any replica can undo it:
//! - Via: a request leaving carries only Legate's Via; the Vias below it are sealed into it
//!   (`lgv`, bound to its branch) and put back when the response pops it.
//! - Record-Route: the internal entries (and Legate's internal-side entry) are sealed into
//!   Legate's external entry (`lgh`, bound to the Call-ID). The far side's route set then holds
//!   only Legate; its in-dialog requests bring the entry back, and Legate restores the hidden
//!   entries as the next Route entries. Responses coming back in get the full list restored.
//! - Contact: replaced by a URI of the external listener carrying the original, sealed (`lgc`,
//!   bound to the Call-ID); an in-dialog request to it is turned back into a request to the
//!   original Contact.
//! - Warning headers written by internal servers name those servers; only Legate's go out,
//!   with the listener's advertised host as their agent.
//!
//! The Call-ID is not rewritten: peers see it as the internal user agent chose it.

use std::sync::Arc;

use legate_filters_api::Side;
use legate_sip::{Header, HeaderKind, Message, NameAddr, Uri, Via};

use super::sealer::{bound, SealError};
use super::{Core, ListenerRuntime};
use crate::transport::{parse_transport, transport_token};

/// Via parameter holding the sealed Vias below Legate's.
pub const HIDDEN_VIAS: &str = "lgv";
/// Record-Route/Route URI parameter holding the sealed route entries.
pub const HIDDEN_ROUTES: &str = "lgh";
/// Contact URI parameter holding the sealed original Contact.
pub const HIDDEN_CONTACT: &str = "lgc";

/// The user part of the Contact URIs Legate writes (a Request-URI without a user part that
/// points at Legate would read as a strict router's).
const CONTACT_USER: &str = "lg";

fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

impl Core {
    /// Whether messages leaving by `listener` are hidden.
    pub fn hides(&self, listener: &ListenerRuntime) -> bool {
        listener.info.side == Side::External
    }

    /// The name of the listener `uri` points at, if it is one of ours.
    fn is_own_uri(&self, uri: &Uri) -> Option<Arc<str>> {
        let transport = uri.param("transport").flatten().and_then(parse_transport);
        self.listeners()
            .find(&uri.host, uri.port, transport)
            .map(|l| l.info.name.clone())
    }

    /// A request leaving by the external listener `egress`, its Vias already sealed
    /// ([`Core::seal_vias`]) and, for a dialog-creating request, Legate's Record-Route entry on
    /// top.
    pub fn hide_request(&self, message: &mut Message, egress: &ListenerRuntime) {
        let call_id = message.call_id().cloned().unwrap_or_default();
        let routes = message.headers.values(HeaderKind::RecordRoute);
        let ours_on_top = routes
            .first()
            .and_then(|top| NameAddr::parse(top).ok())
            .is_some_and(|top| self.is_own_uri(&top.uri).is_some());
        let hidden: Vec<String> = routes.iter().skip(1).map(|r| text(r)).collect();
        let top = routes.first().filter(|_| ours_on_top).cloned();
        self.replace_record_routes(message, top.as_deref(), &hidden, &call_id);
        self.hide_contacts(message, egress, &call_id);
        keep_only_own_warnings(message, egress);
    }

    /// A response leaving by the external listener `listener` (the far side's Vias only: Legate
    /// popped its own). Entries above Legate's entry for `listener` were added on the internal
    /// side; the far side reads the list bottom-up, so they are sealed in the order it will
    /// route through them.
    pub fn hide_response(&self, message: &mut Message, listener: &ListenerRuntime) {
        let call_id = message.call_id().cloned().unwrap_or_default();
        let routes = message.headers.values(HeaderKind::RecordRoute);
        let ours = routes.iter().position(|r| {
            NameAddr::parse(r).ok().is_some_and(|entry| {
                self.is_own_uri(&entry.uri)
                    .is_some_and(|name| name == listener.info.name)
            })
        });
        if let Some(index) = ours {
            let hidden: Vec<String> = routes.iter().take(index).rev().map(|r| text(r)).collect();
            let own = routes.get(index).cloned();
            let outside: Vec<String> = routes.iter().skip(index + 1).map(|r| text(r)).collect();
            self.replace_record_routes(message, own.as_deref(), &hidden, &call_id);
            for entry in outside {
                message
                    .headers
                    .push(Header::new(HeaderKind::RecordRoute, entry));
            }
        } else {
            // Legate did not record-route: no dialog goes through it, nothing to keep.
            message.headers.remove_all(HeaderKind::RecordRoute);
        }
        self.hide_contacts(message, listener, &call_id);
        keep_only_own_warnings(message, listener);
    }

    /// A response that came back in answer to a request hidden on its way out: Legate's entry
    /// gets its hidden Record-Route entries back, so the internal side sees the full list.
    fn restore_response(&self, message: &mut Message) {
        let call_id = message.call_id().cloned().unwrap_or_default();
        let routes = message.headers.values(HeaderKind::RecordRoute);
        let mut restored = Vec::with_capacity(routes.len());
        let mut changed = false;
        for value in &routes {
            match self.unfold_route(value, &call_id) {
                Ok(Some((own, hidden))) => {
                    restored.push(own);
                    restored.extend(hidden);
                    changed = true;
                }
                // An entry whose hidden list does not open goes on as it came.
                Ok(None) | Err(_) => restored.push(text(value)),
            }
        }
        if changed {
            message.headers.remove_all(HeaderKind::RecordRoute);
            for entry in restored {
                message
                    .headers
                    .push(Header::new(HeaderKind::RecordRoute, entry));
            }
        }
    }

    /// Legate's own route entry (from a Route or Record-Route) without its hidden list, and the
    /// list opened; `None` when the entry hides nothing.
    pub fn unfold_route(
        &self,
        value: &[u8],
        call_id: &[u8],
    ) -> Result<Option<(String, Vec<String>)>, SealError> {
        if memchr::memmem::find(value, HIDDEN_ROUTES.as_bytes()).is_none() {
            return Ok(None);
        }
        let Ok(mut entry) = NameAddr::parse(value) else {
            return Ok(None);
        };
        let Some(Some(token)) = entry
            .uri
            .param(HIDDEN_ROUTES)
            .map(|t| t.map(str::to_string))
        else {
            return Ok(None);
        };
        if self.is_own_uri(&entry.uri).is_none() {
            return Ok(None);
        }
        let hidden = self
            .sealer
            .open_values(&token, &bound(HIDDEN_ROUTES, call_id))?;
        entry
            .uri
            .params
            .retain(|(name, _)| !name.eq_ignore_ascii_case(HIDDEN_ROUTES));
        Ok(Some((entry.to_string(), hidden)))
    }

    /// The original Contact behind a Request-URI Legate wrote; `None` when it is not one.
    pub fn unhide_contact(
        &self,
        request_uri: &Uri,
        call_id: &[u8],
    ) -> Option<Result<String, SealError>> {
        let token = request_uri.param(HIDDEN_CONTACT).flatten()?;
        self.is_own_uri(request_uri)?;
        Some(
            self.sealer
                .open(token, &bound(HIDDEN_CONTACT, call_id))
                .map(|original| text(&original)),
        )
    }

    /// A response that reached Legate, `top_via` its top Via (Legate's) as parsed: that Via
    /// popped, and whatever Legate hid on the way out (Vias, Record-Route entries) put back, so
    /// it goes on as if nothing had been hidden.
    pub fn unhide_response(&self, message: &mut Message, top_via: &Via) {
        self.pop_own_via(message, top_via);
        self.restore_response(message);
    }

    /// Pops Legate's Via (`via`) and puts back the Vias it hid.
    fn pop_own_via(&self, message: &mut Message, via: &Via) {
        if message.headers.pop_first_value(HeaderKind::Via).is_none() {
            return;
        }
        if let (Some(Some(token)), Some(branch)) = (via.param(HIDDEN_VIAS), via.branch()) {
            match self
                .sealer
                .open_values(token, &bound(HIDDEN_VIAS, branch.as_bytes()))
            {
                Ok(hidden) => {
                    for value in hidden.into_iter().rev() {
                        message
                            .headers
                            .push_front(Header::new(HeaderKind::Via, value));
                    }
                }
                Err(error) => tracing::debug!(%error, "hidden vias of a response do not open"),
            }
        }
    }

    /// Takes every Via out of a request about to leave by an external listener, before
    /// Legate adds its own: the `;lgv=` parameter that carries them sealed, bound to Legate's
    /// `branch`, for its own Via (empty when there were none).
    pub fn seal_vias(&self, message: &mut Message, branch: &str) -> String {
        let vias = message.headers.values(HeaderKind::Via);
        if vias.is_empty() {
            return String::new();
        }
        let vias: Vec<String> = vias.iter().map(|v| text(v)).collect();
        let token = self
            .sealer
            .seal_values(&vias, &bound(HIDDEN_VIAS, branch.as_bytes()));
        message.headers.remove_all(HeaderKind::Via);
        legate_sip::concat(&[";", HIDDEN_VIAS, "=", &token])
    }

    /// Replaces every Record-Route entry with `own` carrying `hidden` sealed (or with nothing
    /// when Legate has no entry of its own).
    fn replace_record_routes(
        &self,
        message: &mut Message,
        own: Option<&[u8]>,
        hidden: &[String],
        call_id: &[u8],
    ) {
        message.headers.remove_all(HeaderKind::RecordRoute);
        let Some(Ok(mut entry)) = own.map(NameAddr::parse) else {
            return;
        };
        if !hidden.is_empty() {
            let token = self
                .sealer
                .seal_values(hidden, &bound(HIDDEN_ROUTES, call_id));
            entry
                .uri
                .params
                .push((HIDDEN_ROUTES.into(), Some(token.into())));
        }
        message
            .headers
            .push(Header::new(HeaderKind::RecordRoute, entry.to_string()));
    }

    /// Every Contact becomes a URI of `listener` carrying the original sealed.
    fn hide_contacts(&self, message: &mut Message, listener: &ListenerRuntime, call_id: &[u8]) {
        let contacts = message.headers.values(HeaderKind::Contact);
        if contacts.is_empty() {
            return;
        }
        let (transport, _) = transport_token(listener.transport());
        let mut rewritten = Vec::with_capacity(contacts.len());
        for value in &contacts {
            let Ok(mut contact) = NameAddr::parse(value) else {
                // `*` (remove all bindings) names no host; anything else unparsable stays out.
                if value.as_ref().trim_ascii() == b"*" {
                    rewritten.push("*".to_string());
                }
                continue;
            };
            let sealed = self.sealer.seal(
                contact.uri.to_string().as_bytes(),
                &bound(HIDDEN_CONTACT, call_id),
            );
            contact.uri = Uri {
                scheme: "sip".into(),
                user: Some(CONTACT_USER.into()),
                host: listener.advertised_host.clone(),
                port: Some(listener.advertised_port),
                params: vec![
                    ("transport".into(), Some(transport.into())),
                    (HIDDEN_CONTACT.into(), Some(sealed.into())),
                ],
                headers: None,
            };
            rewritten.push(contact.to_string());
        }
        message.headers.remove_all(HeaderKind::Contact);
        for value in rewritten {
            message
                .headers
                .push(Header::new(HeaderKind::Contact, value));
        }
    }
}

/// Warning headers (`code agent "text"`) from anyone but Legate name internal servers, so only
/// Legate's go out, and those with the listener's advertised host as their agent (RFC 3261
/// §20.43) rather than the product's name.
fn keep_only_own_warnings(message: &mut Message, listener: &ListenerRuntime) {
    let own = |value: &[u8]| value.split(|&b| b == b' ').nth(1) == Some(&b"legate"[..]);
    let warnings: Vec<String> = message
        .headers
        .values(HeaderKind::Warning)
        .iter()
        .filter(|value| own(value))
        .map(|value| {
            let (code, text) = text(value)
                .split_once(" legate ")
                .map(|(code, text)| (code.to_string(), text.to_string()))
                .unwrap_or_default();
            format!("{code} {} {text}", listener.advertised_host)
        })
        .collect();
    if message.headers.remove_all(HeaderKind::Warning) == 0 {
        return;
    }
    for warning in warnings {
        message
            .headers
            .push(Header::new(HeaderKind::Warning, warning));
    }
}
