//! Running filters the way Legate runs them, for a filter's own tests: a chain built from
//! config by the registry, ending in a stand-in for the router that answers what a test says.
//!
//! ```
//! use legate_filters_api::testing::{request, Harness};
//! use legate_filters_api::Side;
//!
//! # tokio_test_block_on(async {
//! let harness = Harness::new(Side::Internal);
//! let chain = harness.chain(&[]).unwrap(); // the router alone
//! let response = harness.run(&chain, request("OPTIONS sip:bob@example.org SIP/2.0")).await;
//! assert_eq!(response.status(), 200);
//! # });
//! # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use legate_api::FilterConfig;
use legate_sip::{parse_message, Limits, Message};

use crate::{
    build_chain, call, BoxSipService, BuildContext, ChainError, FilterFactory, ListenerInfo,
    Registry, RegistryError, RequestView, Side, SipRequest, SipResponse, Transport, ROUTER,
};

/// What the stand-in router answers a request with.
pub type Upstream = Arc<dyn Fn(&SipRequest) -> Message + Send + Sync>;

/// A listener's worth of chain building: a registry, the build context, and the router's
/// stand-in (by default it answers `200 OK`).
#[derive(Clone)]
pub struct Harness {
    registry: Registry,
    context: BuildContext,
    upstream: Upstream,
}

impl Harness {
    /// A harness for a UDP listener named `test` on 127.0.0.1:5060 of `side`, with an empty
    /// registry, no resources and metrics of its own.
    pub fn new(side: Side) -> Harness {
        let local_addr = SocketAddr::from(([127, 0, 0, 1], 5060));
        Harness {
            registry: Registry::new(),
            context: BuildContext::new(ListenerInfo {
                name: "test".into(),
                side,
                transport: Transport::Udp,
                local_addr,
            }),
            upstream: Arc::new(|request| Message::response_to(&request.message, 200, "OK")),
        }
    }

    /// A harness building with `context` (its listener, resources and metrics).
    pub fn for_context(context: BuildContext) -> Harness {
        Harness {
            context,
            ..Harness::new(Side::Internal)
        }
    }

    /// Registers a vendor's filter.
    pub fn register(mut self, factory: Arc<dyn FilterFactory>) -> Result<Harness, RegistryError> {
        self.registry.register(factory)?;
        Ok(self)
    }

    /// Uses `registry` (Legate's own filters' tests pass theirs).
    pub fn with_registry(mut self, registry: Registry) -> Harness {
        self.registry = registry;
        self
    }

    /// Adds a resource the filters look up while they build.
    pub fn with_resource<T: Clone + Send + Sync + 'static>(mut self, resource: T) -> Harness {
        self.context.resources.insert(resource);
        self
    }

    /// The router's stand-in answers with what `upstream` returns.
    pub fn answering(
        mut self,
        upstream: impl Fn(&SipRequest) -> Message + Send + Sync + 'static,
    ) -> Harness {
        self.upstream = Arc::new(upstream);
        self
    }

    /// The context chains are built with (its `metrics` hold what the filters registered).
    pub fn context(&self) -> &BuildContext {
        &self.context
    }

    /// The chain of `filters` (name and YAML config; `""` for none) before the router.
    pub fn chain(&self, filters: &[(&str, &str)]) -> Result<BoxSipService, ChainError> {
        let mut specs = Vec::with_capacity(filters.len() + 1);
        for (index, (name, config)) in filters.iter().enumerate() {
            let config = serde_yaml::from_str(config).map_err(|error| ChainError {
                field_path: format!("[{index}].config"),
                message: error.to_string(),
            })?;
            specs.push(FilterConfig {
                name: name.to_string(),
                config,
            });
        }
        self.chain_of(specs)
    }

    /// The chain of `specs` (the router is added at the end).
    pub fn chain_of(&self, mut specs: Vec<FilterConfig>) -> Result<BoxSipService, ChainError> {
        specs.push(FilterConfig {
            name: ROUTER.into(),
            config: serde_yaml::Value::Null,
        });
        let upstream = self.upstream.clone();
        let router = BoxSipService::new(tower::service_fn(move |request: SipRequest| {
            let answer = upstream(&request);
            async move { Ok(SipResponse::upstream(answer)) }
        }));
        build_chain(&self.registry, &specs, &self.context, Some(&router))
    }

    /// Runs `request` through `chain`, with the listener in its context as Legate puts it; an
    /// infrastructure error is answered as the proxy answers it.
    pub async fn run(&self, chain: &BoxSipService, mut request: SipRequest) -> SipResponse {
        if request.context.get::<ListenerInfo>().is_none() {
            request.context.insert(self.context.listener.clone());
        }
        // The proxy reads the addressing once as the request arrives; so does the harness.
        if request.context.get::<RequestView>().is_none() {
            request.readdressed();
        }
        let message = request.message.clone();
        match call(chain, request).await {
            Ok(response) => response,
            Err(error) => {
                let (code, reason) = error.status();
                let text = error.to_string();
                SipResponse::upstream(crate::local_answer(&message, code, reason, Some(&text)))
            }
        }
    }
}

/// A request from its text: lines may end in `\n` alone, and the headers a request needs
/// (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length) are added where missing.
///
/// # Panics
///
/// When the text does not parse: a test's own input is wrong.
pub fn request(text: &str) -> SipRequest {
    let message = message(text);
    SipRequest {
        message,
        context: crate::Context::new(),
    }
}

/// A message from its text, completed as [`request`] completes it.
///
/// # Panics
///
/// When the text does not parse.
pub fn message(text: &str) -> Message {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines: Vec<String> = head
        .lines()
        .map(|line| line.trim_end().to_string())
        .collect();
    let method = lines
        .first()
        .and_then(|line| line.split(' ').next())
        .unwrap_or("OPTIONS")
        .to_string();
    let has = |lines: &[String], name: &str| {
        lines.iter().skip(1).any(|line| {
            line.split(':')
                .next()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
        })
    };
    let defaults = [
        (
            "Via",
            "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-test".to_string(),
        ),
        ("From", "<sip:alice@example.com>;tag=from-test".to_string()),
        ("To", "<sip:bob@example.org>".to_string()),
        ("Call-ID", "test-call@127.0.0.1".to_string()),
        ("CSeq", format!("1 {method}")),
        ("Max-Forwards", "70".to_string()),
    ];
    for (name, value) in defaults {
        if !has(&lines, name) {
            lines.push(format!("{name}: {value}"));
        }
    }
    if !has(&lines, "Content-Length") {
        lines.push(format!("Content-Length: {}", body.len()));
    }
    let text = format!("{}\r\n\r\n{body}", lines.join("\r\n"));
    match parse_message(bytes::Bytes::from(text.clone()), &Limits::default()) {
        Ok(message) => message,
        Err(error) => panic!("test message does not parse: {error}\n{text}"),
    }
}
