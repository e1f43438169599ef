//! The per-request side: establish who sent the request, then pass it on with
//! [`Authenticated`] in the context, or answer 403.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use legate_api::PeerConfig;
use legate_sip::{NameAddr, Uri};
use tower::Service;

use super::config::Compiled;
use super::refusal::{Reason, RefusalCounters};
use super::NAME;
use crate::address_list::split_addresses;
use legate_filters_api::Authenticated;
use legate_filters_api::{
    BoxSipService, DialogInfo, FilterError, ListenerInfo, PeerAddress, Peers, Refusal, RequestView,
    Side, SipRequest, SipResponse, TlsPeerIdentity,
};

#[derive(Clone)]
pub struct Authn {
    compiled: Arc<Compiled>,
    peers: Peers,
    /// The side of the listener the chain was built for.
    side: Side,
    refusals: RefusalCounters,
    inner: BoxSipService,
}

impl Authn {
    pub(crate) fn new(
        compiled: Arc<Compiled>,
        peers: Peers,
        side: Side,
        refusals: RefusalCounters,
        inner: BoxSipService,
    ) -> Self {
        Authn {
            compiled,
            peers,
            side,
            refusals,
            inner,
        }
    }
}

impl Service<SipRequest> for Authn {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: SipRequest) -> Self::Future {
        // Only this filter says who a request is from; nothing earlier may have decided it.
        request.context.remove::<Authenticated>();
        let side = request
            .context
            .get::<ListenerInfo>()
            .map_or(self.side, |listener| listener.side);
        let outcome = match side {
            Side::External => self.external(&mut request),
            Side::Internal => self.internal(&request),
        };
        match outcome {
            Ok(who) => {
                tracing::debug!(filter = NAME, ?who, "authenticated");
                if let (Some(trace), Some(partner)) = (request.trace(), who.partner()) {
                    trace.note("legate.partner", partner);
                }
                request.context.insert(who.clone());
                let answer = self.inner.call(request);
                // Filters in front of this one (audit) learn who the request was from.
                Box::pin(async move {
                    let mut response = answer.await?;
                    response.context.insert(who);
                    Ok(response)
                })
            }
            Err(refusal) => {
                self.refusals.count(refusal);
                let remote = request.context.get::<PeerAddress>().map(|a| a.0);
                tracing::info!(
                    filter = NAME,
                    ?side,
                    reason = refusal.label(),
                    remote = ?remote,
                    "request refused"
                );
                let refusal = Refusal::new(NAME, 403, "Forbidden")
                    .warning(refusal.reason())
                    .input("refusal", refusal.label())
                    .input("side", side.as_str());
                let answer = request.refuse(refusal);
                Box::pin(std::future::ready(Ok(answer)))
            }
        }
    }
}

impl Authn {
    /// A federation partner: certificate, sending domain, identity headers, target.
    fn external(&self, request: &mut SipRequest) -> Result<Authenticated, Reason> {
        let certificate = request
            .context
            .get::<TlsPeerIdentity>()
            .ok_or(Reason::NoCertificate)?;
        let view = request.view();
        let domain = view
            .from
            .as_ref()
            .ok_or(Reason::UnreadableFrom)?
            .uri
            .host_lowercase();
        let peer = self.peers.owner_of(&domain).ok_or(Reason::NotPartner)?;
        if !peer.domains.iter().any(|d| names_domain(certificate, d)) {
            return Err(Reason::CertificateMismatch);
        }
        for name in &self.compiled.identity_headers {
            for header in request.message.headers.by_name(name) {
                for value in split_addresses(&header.value) {
                    if !self.owned_by(value, peer) {
                        return Err(Reason::IdentityNotOwned);
                    }
                }
            }
        }
        let in_dialog = request
            .context
            .get::<DialogInfo>()
            .is_some_and(|d| d.in_dialog);
        if !self.addressed_here(&view, in_dialog) {
            return Err(Reason::NotAddressedHere);
        }
        drop(view);
        // A partner's assertion is not trusted inside: the checked From is what the inside sees.
        for name in &self.compiled.identity_headers {
            request.message.headers.remove_by_name(name);
        }
        Ok(Authenticated::Peer {
            name: peer.name.clone(),
            domain: domain.into(),
        })
    }

    /// The organisation's IM system: the source address must be trusted.
    fn internal(&self, request: &SipRequest) -> Result<Authenticated, Reason> {
        let source = request
            .context
            .get::<PeerAddress>()
            .ok_or(Reason::SourceNotTrusted)?
            .0
            .ip();
        if self
            .compiled
            .trusted_sources
            .iter()
            .any(|cidr| cidr.contains(source))
        {
            Ok(Authenticated::Internal)
        } else {
            Err(Reason::SourceNotTrusted)
        }
    }

    /// Whether one identity value names a sip/sips URI whose domain `peer` owns. A `tel:` URI
    /// names no domain, so it cannot be bound to the sender and is refused.
    fn owned_by(&self, value: &[u8], peer: &PeerConfig) -> bool {
        let Ok(address) = NameAddr::parse(value) else {
            return false;
        };
        matches!(address.uri.scheme.as_str(), "sip" | "sips")
            && self
                .peers
                .owner_of(&address.uri.host)
                .is_some_and(|owner| owner.name == peer.name)
    }

    /// Whether the request is for one of our domains: its Request-URI out of dialog; inside a
    /// dialog the Request-URI is a Contact (Legate's own, opened into an internal one), so the
    /// local party is the one in To.
    fn addressed_here(&self, view: &RequestView, in_dialog: bool) -> bool {
        let uri = if in_dialog {
            view.to.as_ref().map(|to| &to.uri)
        } else {
            view.request_uri.as_ref()
        };
        uri.is_some_and(|uri| {
            let host = uri.host_lowercase();
            self.compiled
                .local_domains
                .iter()
                .any(|domain| *domain == host)
        })
    }
}

/// Whether the certificate names `domain`: a dNSName equal to it, or a `sip:`/`sips:` URI of
/// just that domain (RFC 5922 §7.1).
fn names_domain(certificate: &TlsPeerIdentity, domain: &str) -> bool {
    let by_dns = certificate
        .dns_names
        .iter()
        .any(|name| name.eq_ignore_ascii_case(domain));
    let by_uri = certificate.uris.iter().any(|text| {
        Uri::parse(text.as_bytes()).is_ok_and(|uri| {
            matches!(uri.scheme.as_str(), "sip" | "sips")
                && uri.user.is_none()
                && uri.port.is_none()
                && uri.params.is_empty()
                && uri.headers.is_none()
                && uri.host.eq_ignore_ascii_case(domain)
        })
    });
    by_dns || by_uri
}
