//! The Legate filter API and the built-in SIP filters.
//!
//! Every request that crosses Legate runs through a chain of filters, Envoy style: each listener
//! names its chain in config, the chain is built once per configuration snapshot, and every
//! dialog runs on the chain of the snapshot it started under.
//!
//! A filter is a Tower [`Layer`](tower::Layer) over a [`SipService`]: it may change the request,
//! attach typed [`Context`], answer locally with a SIP response, or pass the request on and see
//! the final response on its way back. A rejection is a response (a 403 with a reason), never an
//! `Err`: `Err` means infrastructure failed and is turned into a response in one place by the
//! proxy.
//!
//! Filters are made by a [`FilterFactory`] registered by name (`legate.filters.sip.<name>`) in one
//! explicit [`Registry`]. A factory parses and validates its typed config once, at build time.

mod address_list;
pub mod audit;
pub mod authn;
mod chain;
mod context;
mod dialog_hold;
pub mod directory;
pub mod domain_policy;
mod ends;
mod error;
pub mod ext_authz;
mod factory;
pub mod header_mutation;
mod header_name;
pub mod peer_limits;
mod peers;
mod registry;
mod service;
#[cfg(test)]
mod testing;
mod tls_ca;
mod token_bucket;
pub mod translation;

/// The guide to writing filters, `README.md`: its examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct Guide;

pub use chain::{build_chain, build_listener_chains, call, ChainError, FilterSpec};
pub use context::{
    ConfigVersion, Context, DialogInfo, ListenerInfo, PeerAddress, ProvisionalSink, Side,
    TlsPeerIdentity, Transport,
};
pub use dialog_hold::{DialogEnd, DialogHold, DialogHolds};
pub use directory::{
    build_directories, Directories, Directory, DirectoryError, DirectoryUser, LdapConfigError,
    LdapDirectory, LdapSettings, StaticDirectory, StaticDirectoryError,
};
pub use error::{ErrorSource, FilterConfigError, FilterError};
pub use factory::{BuildContext, ConfigFolder, FilterFactory, FilterLayer, FilterStatus};
pub use header_name::check_header_name;
pub use peers::Peers;
pub use registry::{FilterInfo, Registry, RegistryError};
pub use service::{BoxSipService, SipRequest, SipResponse};
pub use token_bucket::TokenBucket;
