//! The Legate filter API: what a filter needs, and nothing more. Legate's built-in filters use
//! it exactly as a vendor's filter does.
//!
//! Every request that crosses Legate runs through a chain of filters, Envoy style: each listener
//! names its chain in config, the chain is built once per configuration snapshot, and every
//! dialog runs on the chain of the snapshot it started under. Every chain ends in Legate's
//! router ([`ROUTER`]), which the proxy provides.
//!
//! A filter is made by a [`FilterFactory`], registered by name under its vendor's namespace
//! (`<vendor>.filters.sip.<name>`; `legate.` is Legate's own) in a [`Registry`]. The factory
//! parses and validates its typed config once, at build time, and returns a [`FilterLayer`]. The
//! layer is either a [`Hook`] (`on_request`, `on_response`, both no-ops by default: the common
//! case) or a full Tower service over [`BoxSipService`].
//!
//! A filter may change the request, attach typed [`Context`] for the filters after it, answer
//! locally, or pass the request on and see the final response on its way back. A refusal is a
//! [`Refusal`] (filter, status, reason, rule id): audit records it as `denied` with its rule id,
//! and `/metrics` counts it, whichever filter raised it. `Err` ([`FilterError`]) means
//! infrastructure failed; the proxy turns it into a response in one place.
//!
//! A filter that proves who a peer is declares it ([`FilterFactory::authenticates_peers`]) and
//! attaches [`Authenticated`]; on an external listener, filters that are not safe in front of
//! untrusted peers must come after one. Filters count what they do through [`Metrics`], which
//! the proxy serves on `/metrics`. [`testing`] runs a filter in a chain the way Legate does.

mod answer;
mod boxed;
mod chain;
mod context;
mod dialog_hold;
mod directory;
mod error;
mod factory;
pub mod header_name;
mod hook;
mod identity;
pub mod metrics;
mod peers;
mod refusal;
mod registry;
mod service;
pub mod testing;
mod trace;
mod type_map;
mod view;

pub use answer::{local_answer, with_to_tag};
pub use boxed::{BoxSipService, SipFuture};
pub use chain::{
    build_chain, build_listener_chains, call, ChainError, ChainInputs, FilterSpec, ROUTER,
};
pub use context::{
    ConfigVersion, Context, DialogInfo, ListenerInfo, PeerAddress, ProvisionalSink, Side,
    TlsPeerIdentity, Transport,
};
pub use dialog_hold::{DialogEnd, DialogHold, DialogHolds};
pub use directory::{Directories, Directory, DirectoryError, DirectoryUser, LookupFuture};
pub use error::{ErrorSource, FilterConfigError, FilterError};
pub use factory::{BuildContext, ConfigFolder, FilterFactory, FilterLayer, FilterStatus};
pub use header_name::check_header_name;
pub use hook::{hook_layer, Hook, Verdict};
pub use identity::Authenticated;
pub use metrics::{Metrics, MetricsError};
pub use peers::{PeerConfig, Peers};
pub use refusal::Refusal;
pub use registry::{FilterInfo, Registry, RegistryError, BUILTIN_PREFIX};
pub use service::{SipRequest, SipResponse};
pub use trace::{FilterStep, FilterTrace, StepOutcome, TraceIds};
pub use view::RequestView;

/// The guide to writing filters, `README.md`: its examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct Guide;

/// The types every filter's source names, for one `use legate_filters_api::prelude::*;`.
pub mod prelude {
    pub use crate::{
        hook_layer, BoxSipService, BuildContext, Context, FilterConfigError, FilterError,
        FilterFactory, FilterLayer, FilterStatus, Hook, Refusal, SipRequest, SipResponse, Verdict,
    };
}
