//! Clusters: static endpoints (addresses, and what names resolved to when the configuration was
//! loaded) behind pingora's load balancers (round robin, or consistent hash
//! on Call-ID so a dialog's requests land on the same endpoint), with SIP OPTIONS health checks.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use legate_api::{ClusterConfig, HealthCheckConfig, LoadBalancing, Transport};
use pingora_load_balancing::selection::{Consistent, RoundRobin};
use pingora_load_balancing::{discovery, Backend, Backends, LoadBalancer};

use super::health::SipOptionsCheck;
use crate::core::Core;

enum Balancer {
    RoundRobin(LoadBalancer<RoundRobin>),
    Consistent(LoadBalancer<Consistent>),
}

pub struct Cluster {
    pub name: String,
    /// `cluster <name>`: what warnings, logs and traces call it.
    pub description: String,
    pub transport: Transport,
    pub tls_server_name: Option<String>,
    pub health_check: Option<HealthCheckConfig>,
    balancer: Balancer,
}

/// Upper bound on distinct endpoints tried for one request.
const MAX_SELECT_ITERATIONS: usize = 256;

impl Cluster {
    pub fn new(config: &ClusterConfig, core: Option<&Arc<Core>>) -> Cluster {
        let backends: BTreeSet<Backend> = config
            .endpoints
            .iter()
            .flat_map(|endpoint| endpoint.addresses())
            .map(|addr| Backend {
                addr: pingora_core::protocols::l4::socket::SocketAddr::Inet(*addr),
                weight: 1,
                ext: Default::default(),
            })
            .collect();
        if let (Some(core), Some(_)) = (core, &config.health_check) {
            // Endpoints start healthy until a check says otherwise, and the gauge says so.
            for backend in &backends {
                let endpoint = backend.addr.to_string();
                core.metrics.endpoint_health(&config.name, &endpoint, true);
            }
        }
        let mut backends = Backends::new(discovery::Static::new(backends));
        if let Some(health) = &config.health_check {
            backends.set_health_check(Box::new(SipOptionsCheck::new(
                config.name.clone(),
                config.transport,
                config.tls_server_name.clone(),
                *health,
                core.cloned(),
            )));
        }
        let balancer = match config.load_balancing {
            LoadBalancing::RoundRobin => {
                Balancer::RoundRobin(LoadBalancer::from_backends(backends))
            }
            LoadBalancing::ConsistentHash => {
                Balancer::Consistent(LoadBalancer::from_backends(backends))
            }
        };
        let cluster = Cluster {
            name: config.name.clone(),
            description: format!("cluster {}", config.name),
            transport: config.transport,
            tls_server_name: config.tls_server_name.clone(),
            health_check: config.health_check,
            balancer,
        };
        cluster.refresh_now();
        cluster
    }

    /// Static discovery never waits, so the first update completes on the first poll.
    fn refresh_now(&self) {
        use futures_lite::FutureExt as _;
        let update = match &self.balancer {
            Balancer::RoundRobin(lb) => lb.update().boxed(),
            Balancer::Consistent(lb) => lb.update().boxed(),
        };
        if let Some(Err(error)) =
            futures_lite::future::block_on(futures_lite::future::poll_once(update))
        {
            tracing::warn!(cluster = %self.name, %error, "cluster endpoints not loaded");
        }
    }

    /// A healthy endpoint not yet in `tried`: keyed by Call-ID for consistent hashing.
    pub fn select(&self, call_id: &[u8], tried: &[SocketAddr]) -> Option<SocketAddr> {
        let accept = |backend: &Backend, healthy: bool| {
            healthy && inet(backend).is_some_and(|addr| !tried.contains(&addr))
        };
        let backend = match &self.balancer {
            Balancer::RoundRobin(lb) => lb.select_with(call_id, MAX_SELECT_ITERATIONS, accept),
            Balancer::Consistent(lb) => lb.select_with(call_id, MAX_SELECT_ITERATIONS, accept),
        }?;
        inet(&backend)
    }

    /// One health-check pass over every endpoint (a no-op without a health check).
    pub async fn run_health_check(&self) {
        match &self.balancer {
            Balancer::RoundRobin(lb) => lb.backends().run_health_check(true).await,
            Balancer::Consistent(lb) => lb.backends().run_health_check(true).await,
        }
    }
}

fn inet(backend: &Backend) -> Option<SocketAddr> {
    backend.addr.as_inet().copied()
}

/// The clusters of one snapshot, by name.
#[derive(Default)]
pub struct Clusters {
    by_name: HashMap<String, Arc<Cluster>>,
}

impl Clusters {
    pub fn new(configs: &[ClusterConfig], core: Option<&Arc<Core>>) -> Clusters {
        let by_name = configs
            .iter()
            .map(|c| (c.name.clone(), Arc::new(Cluster::new(c, core))))
            .collect();
        Clusters { by_name }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Cluster>> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Cluster>> {
        self.by_name.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(balancing: &str) -> Cluster {
        let config: ClusterConfig = serde_yaml::from_str(&format!(
            "{{ name: c, transport: udp, load_balancing: {balancing}, endpoints: [127.0.0.1:5001, 127.0.0.1:5002, 127.0.0.1:5003] }}"
        ))
        .unwrap();
        Cluster::new(&config, None)
    }

    #[test]
    fn consistent_hash_keeps_a_call_id_on_one_endpoint_and_spreads_call_ids() {
        let cluster = cluster("consistent_hash");
        let mut used = BTreeSet::new();
        for call in 0..50 {
            let call_id = format!("call-{call}@example.com");
            let first = cluster.select(call_id.as_bytes(), &[]).unwrap();
            for _ in 0..5 {
                assert_eq!(cluster.select(call_id.as_bytes(), &[]), Some(first));
            }
            used.insert(first);
        }
        assert_eq!(used.len(), 3, "50 Call-IDs should reach every endpoint");
    }

    #[test]
    fn round_robin_rotates_and_failover_skips_tried_endpoints() {
        let cluster = cluster("round_robin");
        let picks: BTreeSet<_> = (0..3)
            .map(|_| cluster.select(b"same", &[]).unwrap())
            .collect();
        assert_eq!(picks.len(), 3);
        let first = cluster.select(b"x", &[]).unwrap();
        let second = cluster.select(b"x", &[first]).unwrap();
        let third = cluster.select(b"x", &[first, second]).unwrap();
        assert!(first != second && second != third && first != third);
        assert_eq!(cluster.select(b"x", &[first, second, third]), None);
    }
}
