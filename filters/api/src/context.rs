//! The typed per-request context filters read and attach.
//!
//! The proxy core fills in what it knows (listener, peer address, TLS identity, dialog, config
//! version) before the chain runs; filters add their own typed values for the filters after them
//! (`ctx.insert(PolicyDecision { .. })`). Keys are types, never strings.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

pub use legate_api::{Side, Transport};
use legate_sip::Message;

use crate::type_map::TypeMap;
use crate::FilterTrace;

/// Typed values attached to one request as it runs through the chain.
#[derive(Default, Clone)]
pub struct Context {
    values: TypeMap,
    /// The chain's record of a sampled request: a field of its own, since every filter of
    /// every request asks for it.
    trace: Option<Arc<FilterTrace>>,
    /// On a response: how long the part of the chain it came back from took, so each filter's
    /// own time is its total less this.
    pub(crate) chain_time: Option<std::time::Duration>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Attaches `value`, replacing any earlier value of the same type (returned).
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.values.insert(value)
    }

    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values.get::<T>()
    }

    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.values.get_mut::<T>()
    }

    /// The value of type `T`, attached first (made by `make`) when there is none.
    pub fn get_or_insert_with<T: Clone + Send + Sync + 'static>(
        &mut self,
        make: impl FnOnce() -> T,
    ) -> &mut T {
        if self.values.get::<T>().is_none() {
            self.values.insert(make());
        }
        match self.values.get_mut::<T>() {
            Some(value) => value,
            None => unreachable!("a value of this type was just attached"),
        }
    }

    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.values.remove::<T>()
    }

    /// Makes the request traced: the chain records its steps in `trace`.
    pub fn set_trace(&mut self, trace: Arc<FilterTrace>) {
        self.trace = Some(trace);
    }

    /// The chain's record of the request, when it is sampled.
    pub fn trace(&self) -> Option<&Arc<FilterTrace>> {
        self.trace.as_ref()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("values", &self.values.len())
            .finish()
    }
}

/// The listener a request arrived on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerInfo {
    pub name: Arc<str>,
    pub side: Side,
    pub transport: Transport,
    pub local_addr: SocketAddr,
}

/// The network address the request came from (after any connection reuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddress(pub SocketAddr);

/// What the peer proved with its TLS client certificate (a verified chain only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsPeerIdentity {
    /// DNS names from the certificate's subjectAltName, lower-cased.
    pub dns_names: Vec<String>,
    /// SIP/SIPS URIs from the subjectAltName (RFC 5922 §7.1).
    pub uris: Vec<String>,
}

/// Where the request stands relative to a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogInfo {
    /// `Call-ID` plus the local tags: stable for the dialog's life.
    pub id: Arc<str>,
    /// True for requests inside an established dialog (they carry a To tag).
    pub in_dialog: bool,
    /// Whether this replica knew the dialog (false after a restart or on another replica; the
    /// route then came from Legate's signed Record-Route state).
    pub known_locally: bool,
}

/// The version of the configuration snapshot the request (or its dialog) runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigVersion(pub u64);

/// Passes provisional responses (1xx) back towards the request's sender while the chain is still
/// waiting for the final response.
#[derive(Clone)]
pub struct ProvisionalSink(Arc<dyn Fn(Message) + Send + Sync>);

impl ProvisionalSink {
    pub fn new(send: impl Fn(Message) + Send + Sync + 'static) -> ProvisionalSink {
        ProvisionalSink(Arc::new(send))
    }

    pub fn send(&self, response: Message) {
        (self.0)(response)
    }
}

impl fmt::Debug for ProvisionalSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProvisionalSink")
    }
}
