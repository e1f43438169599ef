//! Legate configs for the end-to-end tests: the quickstart's shape on per-test ports.

use crate::free_port;

/// Ports one test uses, all free on 127.0.0.1 when picked.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub internal: u16,
    pub external: u16,
    pub peer: u16,
    pub peer2: u16,
    pub client: u16,
    pub admin: u16,
}

impl Ports {
    pub fn pick() -> Ports {
        Ports {
            internal: free_port(),
            external: free_port(),
            peer: free_port(),
            peer2: free_port(),
            client: free_port(),
            admin: free_port(),
        }
    }

    /// Legate's internal listener, as a sipp target.
    pub fn internal_target(&self) -> String {
        format!("127.0.0.1:{}", self.internal)
    }
}

/// The head every test config shares: the admin port, a fixed Record-Route secret (so a
/// restarted Legate routes running dialogs), and short timers that keep failover tests quick.
pub fn config_head(admin: u16) -> String {
    format!(
        r#"
admin: {{ address: "127.0.0.1:{admin}" }}
proxy:
  record_route_secret: {{ value: "e2e-secret" }}
  timers: {{ t1: 100ms, t2: 400ms, t4: 500ms }}
  shutdown_grace: 5s
"#
    )
}

/// Internal and external UDP listeners, the route `remote.example` → cluster `remote-peer`
/// (whose YAML body is `cluster`), `extra_routes` and `extra_clusters` appended, and a fixed
/// Record-Route secret so a restarted Legate routes running dialogs. Short timers keep failover
/// tests quick.
pub fn proxy_config(p: &Ports, cluster: &str, extra_routes: &str, extra_clusters: &str) -> String {
    format!(
        r#"{head}
listeners:
  - name: internal
    address: "127.0.0.1:{internal}"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.header_mutation
        config: {{ request: {{ add: [ {{ name: X-Legate-Side, value: internal }} ] }} }}
      - name: legate.filters.sip.router
  - name: external
    address: "127.0.0.1:{external}"
    transport: udp
    side: external
    filters:
      - name: legate.filters.sip.header_mutation
        config: {{ request: {{ add: [ {{ name: X-Legate-Side, value: external }} ] }} }}
      - name: legate.filters.sip.router
routes:
  - name: to-remote
    match: {{ domain: remote.example, side: internal }}
    cluster: remote-peer
{extra_routes}
clusters:
  - name: remote-peer
{cluster}
{extra_clusters}
"#,
        head = config_head(p.admin),
        internal = p.internal,
        external = p.external,
    )
}

/// The cluster body for one UDP endpoint on `port`.
pub fn udp_cluster(ports: &[u16]) -> String {
    let endpoints: Vec<String> = ports.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    format!(
        "    transport: udp\n    endpoints: [{}]\n",
        endpoints.join(", ")
    )
}

/// The common case: one peer endpoint on `p.peer`.
pub fn default_config(p: &Ports) -> String {
    proxy_config(p, &udp_cluster(&[p.peer]), "", "")
}

/// `config` (a [`proxy_config`]) with `filters` (YAML list entries, indented as listed there)
/// run on the internal listener before its `header_mutation`.
pub fn with_internal_filters(config: &str, filters: &str) -> String {
    let marking = "    filters:\n      - name: legate.filters.sip.header_mutation";
    config.replacen(
        marking,
        &format!("    filters:\n{filters}      - name: legate.filters.sip.header_mutation"),
        1,
    )
}
