//! The admin API answered over real HTTP/1.1 connections on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use legate_admin::{AdminServer, AdminState, Metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct FakeProxy {
    ready: AtomicBool,
    /// Whether `/readyz` shows detail lines (an audit sink's state).
    detailed: AtomicBool,
}

impl AdminState for FakeProxy {
    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn readiness_detail(&self) -> Vec<String> {
        if self.detailed.load(Ordering::SeqCst) {
            vec!["audit sink local: down, 3 spooled, 0 queued".into()]
        } else {
            Vec::new()
        }
    }

    fn config_dump(&self) -> serde_json::Value {
        serde_json::json!({ "listeners": [ { "name": "internal" } ] })
    }
}

struct Running {
    address: SocketAddr,
    proxy: Arc<FakeProxy>,
    metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(token: Option<&str>) -> Running {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(error) => panic!("cannot bind: {error}"),
        };
        let address = match listener.local_addr() {
            Ok(address) => address,
            Err(error) => panic!("no local address: {error}"),
        };
        let proxy = Arc::new(FakeProxy {
            ready: AtomicBool::new(true),
            detailed: AtomicBool::new(false),
        });
        let metrics = Arc::new(Metrics::new());
        let server = AdminServer::new(proxy.clone(), metrics.clone(), token.map(str::to_owned));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async {
            let _ = stopped.await;
        }));
        Running {
            address,
            proxy,
            metrics,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(Ok(()))) => {}
            other => panic!("server did not stop cleanly: {other:?}"),
        }
    }

    /// Sends one request and returns (status, headers, body).
    async fn request(&self, method: &str, path: &str, headers: &[&str]) -> Reply {
        let mut stream = match TcpStream::connect(self.address).await {
            Ok(stream) => stream,
            Err(error) => panic!("cannot connect: {error}"),
        };
        let mut text =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        for header in headers {
            text.push_str(header);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        if let Err(error) = stream.write_all(text.as_bytes()).await {
            panic!("cannot send: {error}");
        }
        let mut raw = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
        if !matches!(read, Ok(Ok(_))) {
            panic!("no complete response: {read:?}");
        }
        Reply::parse(&String::from_utf8_lossy(&raw))
    }

    async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[]).await
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn parse(raw: &str) -> Reply {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Reply {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }

    fn has_header(&self, line: &str) -> bool {
        self.head.lines().any(|l| l == line)
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let server = Running::start(None).await;

    let health = server.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    let ready = server.get("/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));

    server.proxy.ready.store(false, Ordering::SeqCst);
    let draining = server.get("/readyz").await;
    assert_eq!(
        (draining.status, draining.body.as_str()),
        (503, "not ready")
    );

    server.stop().await;
}

#[tokio::test]
async fn readiness_shows_the_detail_lines_under_the_verdict() {
    let server = Running::start(None).await;
    server.proxy.detailed.store(true, Ordering::SeqCst);
    let ready = server.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (200, "ready\naudit sink local: down, 3 spooled, 0 queued")
    );
    server.stop().await;
}

#[tokio::test]
async fn without_the_token_readiness_says_only_its_verdict() {
    let server = Running::start(Some("s3cret")).await;
    server.proxy.detailed.store(true, Ordering::SeqCst);
    let probe = server.get("/readyz").await;
    assert_eq!((probe.status, probe.body.as_str()), (200, "ready"));

    let wrong = server
        .request("GET", "/readyz", &["Authorization: Bearer wrong"])
        .await;
    assert_eq!((wrong.status, wrong.body.as_str()), (200, "ready"));

    let operator = server
        .request("GET", "/readyz", &["Authorization: Bearer s3cret"])
        .await;
    assert_eq!(
        operator.body.as_str(),
        "ready\naudit sink local: down, 3 spooled, 0 queued"
    );

    server.proxy.ready.store(false, Ordering::SeqCst);
    let draining = server.get("/readyz").await;
    assert_eq!(
        (draining.status, draining.body.as_str()),
        (503, "not ready")
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_show_recorded_values() {
    let server = Running::start(None).await;
    let metrics = &server.metrics;
    metrics.request_received("internal", "MESSAGE");
    metrics.response_sent("internal", "MESSAGE", 200);
    metrics.response_received("remote-peer", "MESSAGE", 200);
    metrics.message_rejected("external", "parse_error");
    metrics.transaction_finished("MESSAGE", Duration::from_millis(12));
    metrics.transactions_active().inc();
    metrics.dialogs_active().inc();
    metrics.endpoint_health("remote-peer", "127.0.0.1:5070", true);

    let reply = server.get("/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.has_header("content-type: text/plain; version=0.0.4"),
        "{}",
        reply.head
    );
    for name in [
        "legate_sip_requests_received_total{listener=\"internal\",method=\"MESSAGE\"} 1",
        "legate_sip_responses_sent_total{listener=\"internal\",method=\"MESSAGE\",status=\"200\"} 1",
        "legate_sip_upstream_responses_total{cluster=\"remote-peer\",method=\"MESSAGE\",status=\"200\"} 1",
        "legate_sip_messages_rejected_total{listener=\"external\",reason=\"parse_error\"} 1",
        "legate_sip_transaction_duration_seconds_count{method=\"MESSAGE\"} 1",
        "legate_sip_transactions_active 1",
        "legate_sip_dialogs_active 1",
        "legate_cluster_endpoint_healthy{cluster=\"remote-peer\",endpoint=\"127.0.0.1:5070\"} 1",
    ] {
        assert!(reply.body.lines().any(|l| l == name), "missing `{name}` in:\n{}", reply.body);
    }
    server.stop().await;
}

#[tokio::test]
async fn config_dump_is_pretty_json() {
    let server = Running::start(None).await;
    let reply = server.get("/config_dump").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.has_header("content-type: application/json"),
        "{}",
        reply.head
    );
    assert!(
        reply.body.contains("\n  \"listeners\": ["),
        "{}",
        reply.body
    );
    let parsed: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
    assert_eq!(parsed["listeners"][0]["name"], "internal");
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_other_methods() {
    let server = Running::start(None).await;
    assert_eq!(server.get("/nope").await.status, 404);
    assert_eq!(server.get("/").await.status, 404);
    for path in ["/healthz", "/readyz", "/metrics", "/config_dump"] {
        let reply = server.request("POST", path, &["Content-Length: 0"]).await;
        assert_eq!(reply.status, 405, "POST {path}");
        assert!(reply.has_header("allow: get"), "{}", reply.head);
    }
    assert_eq!(server.request("DELETE", "/readyz", &[]).await.status, 405);
    // A query string does not change which endpoint answers.
    assert_eq!(server.get("/healthz?verbose=1").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn token_protects_everything_but_liveness_and_the_readiness_verdict() {
    let server = Running::start(Some("s3cret")).await;

    assert_eq!(server.get("/healthz").await.status, 200);
    for path in ["/metrics", "/config_dump", "/nope"] {
        let reply = server.get(path).await;
        assert_eq!(reply.status, 401, "GET {path} without a token");
        assert!(
            reply.has_header("www-authenticate: bearer realm=\"legate-admin\""),
            "{}",
            reply.head
        );

        let wrong = server
            .request("GET", path, &["Authorization: Bearer wrong"])
            .await;
        assert_eq!(wrong.status, 401, "GET {path} with a wrong token");
    }

    let good = ["Authorization: Bearer s3cret"];
    assert_eq!(server.request("GET", "/readyz", &good).await.status, 200);
    assert_eq!(server.request("GET", "/metrics", &good).await.status, 200);
    assert_eq!(
        server.request("GET", "/config_dump", &good).await.status,
        200
    );
    assert_eq!(server.request("GET", "/nope", &good).await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_connections_do_not_block_shutdown() {
    let server = Running::start(None).await;
    let mut idle = match TcpStream::connect(server.address).await {
        Ok(stream) => stream,
        Err(error) => panic!("cannot connect: {error}"),
    };
    let sent = idle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    assert!(sent.is_ok());
    let mut buf = [0u8; 256];
    let read = idle.read(&mut buf).await.unwrap_or(0);
    assert!(String::from_utf8_lossy(&buf[..read]).starts_with("HTTP/1.1 200"));

    // The connection stays open (keep-alive) while the server is told to stop.
    server.stop().await;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");
}

#[tokio::test]
async fn garbage_requests_get_an_answer_not_a_crash() {
    let server = Running::start(None).await;
    let mut stream = match TcpStream::connect(server.address).await {
        Ok(stream) => stream,
        Err(error) => panic!("cannot connect: {error}"),
    };
    let _ = stream.write_all(b"\x00\xffNOT HTTP AT ALL\r\n\r\n").await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw)).await;
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 400"),
        "{raw:?}"
    );

    // And the server keeps serving.
    assert_eq!(server.get("/healthz").await.status, 200);
    server.stop().await;
}
