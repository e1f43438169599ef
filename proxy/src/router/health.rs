//! Active health checks: a SIP OPTIONS request to each endpoint (the usual SIP keep-alive ping).
//! Any final answer below 500 means the endpoint is alive; 5xx or silence means it is not.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use legate_api::{HealthCheckConfig, Transport};
use pingora_error::{Error, ErrorType, Result};
use pingora_load_balancing::health_check::HealthCheck;
use pingora_load_balancing::Backend;

use crate::core::{ClientOutcome, Core, NextHop};
use crate::transport::transport_token;

pub struct SipOptionsCheck {
    cluster: String,
    transport: Transport,
    server_name: Option<String>,
    config: HealthCheckConfig,
    /// `None` in a snapshot built only to be checked, whose health checks never run.
    core: Option<Arc<Core>>,
}

impl SipOptionsCheck {
    pub fn new(
        cluster: String,
        transport: Transport,
        server_name: Option<String>,
        config: HealthCheckConfig,
        core: Option<Arc<Core>>,
    ) -> SipOptionsCheck {
        SipOptionsCheck {
            cluster,
            transport,
            server_name,
            config,
            core,
        }
    }

    fn failed(reason: String) -> Box<Error> {
        Error::explain(ErrorType::ConnectError, reason)
    }
}

#[async_trait]
impl HealthCheck for SipOptionsCheck {
    async fn check(&self, target: &Backend) -> Result<()> {
        let core = self.core.as_ref().ok_or_else(|| {
            Self::failed("a snapshot that is only checked has no proxy core".into())
        })?;
        let addr = target
            .addr
            .as_inet()
            .copied()
            .ok_or_else(|| Self::failed("endpoint is not an inet address".into()))?;
        let hop = NextHop {
            transport: self.transport,
            addr,
            server_name: self.server_name.clone(),
        };
        let listeners = core.listeners();
        let listener = listeners
            .serving()
            .find(|l| l.transport() == self.transport)
            .or(listeners.first());
        let sent_by = listener.map(|l| l.host_port()).unwrap_or("127.0.0.1");
        let (token, upper) = transport_token(self.transport);
        let branch = format!("z9hG4bKlghc.{}", legate_sip::generate_tag());
        let text = format!(
            "OPTIONS sip:{addr};transport={token} SIP/2.0\r\n\
             Via: SIP/2.0/{upper} {sent_by};branch={branch}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:legate@{sent_by}>;tag={}\r\n\
             To: <sip:{addr}>\r\n\
             Call-ID: {}@legate-health\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n",
            legate_sip::generate_tag(),
            legate_sip::generate_tag(),
        );
        let request = legate_sip::parse_message(Bytes::from(text), &core.limits)
            .map_err(|e| Self::failed(format!("building OPTIONS: {e}")))?;
        let flow = core
            .flow_to(&hop, listener)
            .await
            .map_err(|e| Self::failed(format!("{addr}: {e}")))?;
        let ignore = |_| {};
        let outcome = tokio::time::timeout(
            self.config.timeout,
            core.client_transaction(request, flow, branch.into(), &ignore, None),
        )
        .await;
        match outcome {
            Ok(ClientOutcome::Final(response)) if response.status().is_some_and(|s| s < 500) => {
                Ok(())
            }
            Ok(ClientOutcome::Final(response)) => Err(Self::failed(format!(
                "{addr} answered OPTIONS with {}",
                response.status().unwrap_or(0)
            ))),
            Ok(ClientOutcome::Timeout) | Err(_) => {
                Err(Self::failed(format!("{addr} did not answer OPTIONS")))
            }
            Ok(ClientOutcome::Unreachable(e)) => {
                Err(Self::failed(format!("{addr} unreachable: {e}")))
            }
        }
    }

    async fn health_status_change(&self, target: &Backend, healthy: bool) {
        let endpoint = target.addr.to_string();
        tracing::info!(cluster = %self.cluster, %endpoint, healthy, "endpoint health changed");
        if let Some(core) = &self.core {
            core.metrics
                .endpoint_health(&self.cluster, &endpoint, healthy);
        }
    }

    fn health_threshold(&self, success: bool) -> usize {
        let threshold = if success {
            self.config.healthy_threshold
        } else {
            self.config.unhealthy_threshold
        };
        threshold.max(1) as usize
    }
}
