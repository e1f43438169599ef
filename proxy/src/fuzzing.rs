//! Whole messages through the engine, for the fuzz target in `proxy/fuzz`: a Legate with the
//! federation chain on both sides (authn, domain policy, translation, header mutation,
//! topology hiding, the router) runs in a single-threaded runtime on paused time, and each
//! input is handed to it as if a listener had read it. Not part of the API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use legate_admin::Metrics;

use crate::engine::{Engine, InboundHandler};
use crate::lifecycle::bind::bind_all;
use crate::snapshot::Snapshot;
use crate::start::{start, Boot};
use crate::transport::Inbound;

/// Listeners on ports the kernel picks; every upstream is the discard port, so nothing the
/// fuzzer makes Legate send reaches anything.
const CONFIG: &str = r#"
admin: { address: "127.0.0.1:0" }
proxy:
  record_route_secret: { value: "fuzzing" }
listeners:
  - name: internal
    address: 127.0.0.1:0
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.authn
        config: { local_domains: [local.example], trusted_sources: [127.0.0.0/8] }
      - name: legate.filters.sip.domain_policy
        config:
          default: deny
          rules:
            - { id: partners, action: allow, remote_domains: [remote.example, "*.remote.example"] }
      - name: legate.filters.sip.translation
        config:
          address_mapping:
            - { internal: local.example, external: acme.example }
      - name: legate.filters.sip.router
  - name: external
    address: 127.0.0.1:0
    transport: udp
    side: external
    filters:
      - name: legate.filters.sip.domain_policy
        config:
          default: deny
          rules:
            - { id: partners, action: allow, remote_domains: [remote.example] }
      - name: legate.filters.sip.translation
        config:
          address_mapping:
            - { internal: local.example, external: acme.example }
      - name: legate.filters.sip.header_mutation
        config: { request: { add: [ { name: X-Edge, value: external } ] } }
      - name: legate.filters.sip.router
routes:
  - { name: out, match: { domain: remote.example, side: internal }, cluster: discard }
  - { name: in, match: { domain: local.example, side: external }, cluster: discard }
clusters:
  - { name: discard, transport: udp, endpoints: ["127.0.0.1:9"] }
"#;

/// A running engine and the runtime it runs on.
pub struct EngineHarness {
    runtime: tokio::runtime::Runtime,
    engine: Arc<Engine>,
    inbound: InboundHandler,
    /// Keeps the engine's tasks running.
    _shutdown: tokio::sync::watch::Sender<bool>,
}

impl EngineHarness {
    /// The federation Legate above, started.
    pub fn federation() -> EngineHarness {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => panic!("fuzzing needs a runtime: {error}"),
        };
        let loaded = match legate_api::load_str(CONFIG, "fuzzing.yaml") {
            Ok(loaded) => loaded,
            Err(error) => panic!("the fuzzing config is invalid: {error}"),
        };
        let core = match crate::start::build_core(&loaded.config, Arc::new(Metrics::new())) {
            Ok(core) => core,
            Err(error) => panic!("the fuzzing core cannot be built: {error}"),
        };
        let snapshot = match Snapshot::build(loaded, 1, Some(&core), None) {
            Ok(snapshot) => Arc::new(snapshot),
            Err(error) => panic!("the fuzzing config does not build: {error}"),
        };
        let bound = match bind_all(&snapshot.loaded.config, core.workers.count()) {
            Ok(bound) => bound,
            Err(error) => panic!("the fuzzing listeners cannot bind: {error}"),
        };
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let boot = Boot {
            core,
            snapshot,
            listeners: bound.listeners,
        };
        let engine = runtime.block_on(async { start(boot, watch) });
        engine.set_ready();
        EngineHarness {
            runtime,
            inbound: InboundHandler(engine.clone()),
            engine,
            _shutdown: shutdown,
        }
    }

    /// Hands `message` to the engine as read by the external (or internal) listener from
    /// 127.0.0.1:`port`, then lets every timer it started run out (paused time jumps ahead).
    pub fn feed(&self, message: &[u8], external: bool, port: u16) {
        let listeners = self.engine.core.listeners();
        let name = if external { "external" } else { "internal" };
        let Some(flow) = listeners
            .by_name(name)
            .and_then(|l| l.udp_flow(SocketAddr::from(([127, 0, 0, 1], port))))
        else {
            return;
        };
        self.runtime.block_on(async {
            self.inbound
                .on_message(flow, Bytes::copy_from_slice(message));
            // Timer C (180 s) is the longest a transaction lives.
            tokio::time::sleep(Duration::from_secs(200)).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_fed_run_through_the_chain_and_garbage_is_refused() {
        let harness = EngineHarness::federation();
        let message = "MESSAGE sip:bob@acme.example SIP/2.0\r\n\
                       Via: SIP/2.0/UDP 127.0.0.1:9999;branch=z9hG4bK-f1\r\n\
                       Max-Forwards: 70\r\n\
                       From: <sip:alice@remote.example>;tag=a\r\n\
                       To: <sip:bob@acme.example>\r\n\
                       Call-ID: fuzz-1\r\n\
                       CSeq: 1 MESSAGE\r\n\
                       Content-Length: 0\r\n\r\n";
        harness.feed(message.as_bytes(), true, 9999);
        harness.feed(b"MESSAGE \0garbage", true, 9999);
        let metrics = harness.engine.core.metrics.render();
        assert!(
            metrics.contains(
                "legate_sip_requests_received_total{listener=\"external\",method=\"MESSAGE\"} 1"
            ),
            "{metrics}"
        );
        assert!(
            metrics.contains(
                "legate_sip_messages_rejected_total{listener=\"udp\",reason=\"invalid_request\"} 1"
            ),
            "{metrics}"
        );
    }
}
