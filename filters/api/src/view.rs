//! [`RequestView`]: what a request says about who talks to whom, read once.
//!
//! The proxy parses a request's Request-URI, From, To and top Via when the request arrives and
//! puts the result in its context; every filter and the router read that instead of parsing
//! the headers again. A filter that rewrites the Request-URI, From or To (address translation
//! does) calls [`SipRequest::readdressed`] afterwards, so the filters after it and the router
//! see the new addressing.

use std::borrow::Cow;

use legate_sip::{Message, NameAddr, Uri, Via};

use crate::{Context, Side, SipRequest};

/// A request's addressing, parsed. A field is `None` when its header is missing or cannot be
/// read; the proxy's checks have already refused requests that lack what routing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestView {
    pub request_uri: Option<Uri>,
    pub from: Option<NameAddr>,
    pub to: Option<NameAddr>,
    /// The top Via as received (with `received`/`rport` noted by the proxy).
    pub top_via: Option<Via>,
}

impl RequestView {
    /// Reads `message` (a request).
    pub fn of(message: &Message) -> RequestView {
        RequestView {
            request_uri: message.request_uri().and_then(|uri| Uri::parse(uri).ok()),
            from: message.from_header().ok(),
            to: message.to_header().ok(),
            top_via: message.top_via().ok(),
        }
    }

    /// Whom the request is for: the Request-URI when it names a user, else To's URI (a
    /// Request-URI may be a bare host after a redirect, or for an OPTIONS ping).
    pub fn target(&self) -> Option<&Uri> {
        match &self.request_uri {
            Some(uri) if uri.user.is_some() => Some(uri),
            other => self.to.as_ref().map(|to| &to.uri).or(other.as_ref()),
        }
    }

    /// The two ends seen from the organisation, `(local, remote)`, for a request that arrived
    /// on a listener of `side`: from an internal listener the local user sends (From) to a
    /// remote target; from an external one a remote user (From) sends to the local target.
    pub fn ends(&self, side: Side) -> (Option<&Uri>, Option<&Uri>) {
        let from = self.from.as_ref().map(|from| &from.uri);
        match side {
            Side::Internal => (from, self.target()),
            Side::External => (self.target(), from),
        }
    }

    /// The view attached to a request's `context`, to change in step with a rewrite of
    /// `message`: read from the message and attached first when there is none.
    pub fn attached<'a>(context: &'a mut Context, message: &Message) -> &'a mut RequestView {
        context.get_or_insert_with(|| RequestView::of(message))
    }

    /// The From tag, if any.
    pub fn from_tag(&self) -> Option<&str> {
        self.from.as_ref().and_then(NameAddr::tag)
    }

    /// The To tag, if any: only requests inside a dialog carry one.
    pub fn to_tag(&self) -> Option<&str> {
        self.to.as_ref().and_then(NameAddr::tag)
    }
}

impl SipRequest {
    /// The request's addressing: the one the proxy read when it arrived, or read now from the
    /// message when none is attached (a request built by hand, in a test).
    pub fn view(&self) -> Cow<'_, RequestView> {
        match self.context.get::<RequestView>() {
            Some(view) => Cow::Borrowed(view),
            None => Cow::Owned(RequestView::of(&self.message)),
        }
    }

    /// Reads the addressing again, after a filter rewrote the Request-URI, From or To.
    pub fn readdressed(&mut self) {
        self.context.insert(RequestView::of(&self.message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::request;

    #[test]
    fn the_target_is_the_request_uri_when_it_names_a_user_else_to() {
        let named = request("MESSAGE sip:bob@remote.example SIP/2.0\nTo: <sip:carol@to.example>\n");
        let view = named.view();
        assert_eq!(
            view.target().map(|uri| uri.host.as_str()),
            Some("remote.example")
        );

        let bare = request("OPTIONS sip:remote.example SIP/2.0\nTo: <sip:carol@to.example>\n");
        let view = bare.view();
        assert_eq!(
            view.target().map(|uri| uri.host.as_str()),
            Some("to.example")
        );
    }

    #[test]
    fn the_ends_swap_with_the_side_the_request_arrived_on() {
        let message = request(
            "MESSAGE sip:bob@remote.example SIP/2.0\nFrom: <sip:alice@local.example>;tag=1\n",
        );
        let view = message.view();
        let host = |uri: Option<&Uri>| uri.map(|uri| uri.host.clone());
        let (local, remote) = view.ends(Side::Internal);
        assert_eq!(host(local).as_deref(), Some("local.example"));
        assert_eq!(host(remote).as_deref(), Some("remote.example"));
        let (local, remote) = view.ends(Side::External);
        assert_eq!(host(local).as_deref(), Some("remote.example"));
        assert_eq!(host(remote).as_deref(), Some("local.example"));
        assert_eq!(view.from_tag(), Some("1"));
    }

    #[test]
    fn a_rewritten_request_is_read_again_when_readdressed() {
        let mut message = request("MESSAGE sip:bob@remote.example SIP/2.0\n");
        message.readdressed();
        message.message.set_request_uri("sip:bob@elsewhere.example");
        // The attached view still says what was read: a filter that rewrites says so.
        let host = |view: &RequestView| view.request_uri.as_ref().map(|uri| uri.host.clone());
        assert_eq!(host(&message.view()).as_deref(), Some("remote.example"));
        message.readdressed();
        assert_eq!(host(&message.view()).as_deref(), Some("elsewhere.example"));
    }
}
