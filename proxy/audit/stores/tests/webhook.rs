//! The webhook sink against a real HTTP receiver the test runs on 127.0.0.1.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::link;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use legate_audit::{Chain, ChainedRecord, Sink, SinkError};
use legate_audit_stores::WebhookSink;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// What the receiver got: each request's `Authorization` header and its records.
type Received = Arc<Mutex<Vec<(Option<String>, Vec<ChainedRecord>)>>>;

/// Answers every POST with `status` and keeps what it got; plain HTTP, or TLS with `tls`.
async fn receiver(status: StatusCode, tls: Option<tokio_rustls::TlsAcceptor>) -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let kept = Arc::clone(&kept);
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let kept = Arc::clone(&kept);
                    async move {
                        let authorization = request
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_string());
                        assert_eq!(request.headers()["content-type"], "application/json");
                        let body = request.into_body().collect().await?.to_bytes();
                        let batch: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        let records = serde_json::from_value(batch["records"].clone()).unwrap();
                        kept.lock().await.push((authorization, records));
                        let mut response = Response::new(Full::new(Bytes::new()));
                        *response.status_mut() = status;
                        Ok::<_, hyper::Error>(response)
                    }
                });
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                }
            });
        }
    });
    (port, received)
}

fn timeout() -> Duration {
    Duration::from_secs(5)
}

#[tokio::test]
async fn batches_arrive_in_order_with_the_configured_header() {
    let (port, received) = receiver(StatusCode::NO_CONTENT, None).await;
    let sink = WebhookSink::new(
        &format!("http://127.0.0.1:{port}/audit?tenant=acme"),
        timeout(),
    )
    .unwrap()
    .with_header("authorization", b"Bearer intake-token")
    .unwrap();
    let mut chain = Chain::resume("node-1", None);
    let batches = [
        link(&mut chain, 1, 2),
        link(&mut chain, 3, 3),
        link(&mut chain, 4, 6),
    ];
    for batch in &batches {
        sink.append(batch).await.unwrap();
    }
    assert_eq!(sink.last("node-1").await.unwrap(), None);

    let received = received.lock().await;
    let got: Vec<&Vec<ChainedRecord>> = received.iter().map(|(_, records)| records).collect();
    assert_eq!(got, batches.iter().collect::<Vec<_>>());
    assert!(received
        .iter()
        .all(|(auth, _)| auth.as_deref() == Some("Bearer intake-token")));
}

#[tokio::test]
async fn a_receiver_that_is_down_makes_the_sink_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sink = WebhookSink::new(&format!("http://127.0.0.1:{port}/audit"), timeout()).unwrap();
    let mut chain = Chain::resume("p", None);
    let error = sink.append(&link(&mut chain, 1, 1)).await.unwrap_err();
    assert!(
        matches!(&error, SinkError::Unavailable { reason, .. } if reason.contains("cannot connect")),
        "{error}"
    );
}

#[tokio::test]
async fn an_error_status_makes_the_sink_unavailable_with_the_status() {
    let (port, received) = receiver(StatusCode::INTERNAL_SERVER_ERROR, None).await;
    let sink = WebhookSink::new(&format!("http://127.0.0.1:{port}/audit"), timeout()).unwrap();
    let mut chain = Chain::resume("p", None);
    let error = sink.append(&link(&mut chain, 1, 1)).await.unwrap_err();
    assert!(
        matches!(&error, SinkError::Unavailable { reason, .. } if reason.contains("500")),
        "{error}"
    );
    assert_eq!(received.lock().await.len(), 1);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds the connection without a word.
    let holder = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    });
    let sink = WebhookSink::new(
        &format!("http://127.0.0.1:{port}/audit"),
        Duration::from_millis(300),
    )
    .unwrap();
    let mut chain = Chain::resume("p", None);
    let error = sink.append(&link(&mut chain, 1, 1)).await.unwrap_err();
    assert!(
        matches!(&error, SinkError::Unavailable { reason, .. } if reason.contains("no answer within")),
        "{error}"
    );
    holder.abort();
}

#[tokio::test]
async fn https_receivers_are_checked_against_the_given_roots() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let certificate = certified.cert.der().clone();
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(certified.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certificate.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let (port, received) = receiver(StatusCode::OK, Some(acceptor)).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let url = format!("https://127.0.0.1:{port}/audit");
    let sink = WebhookSink::new(&url, timeout())
        .unwrap()
        .with_tls(Arc::new(client))
        .unwrap();
    let mut chain = Chain::resume("p", None);
    let batch = link(&mut chain, 1, 2);
    sink.append(&batch).await.unwrap();
    assert_eq!(received.lock().await[0].1, batch);

    // The system's roots do not know the test's certificate.
    if let Ok(untrusting) = WebhookSink::new(&url, timeout()) {
        let error = untrusting.append(&batch).await.unwrap_err();
        assert!(
            matches!(&error, SinkError::Unavailable { reason, .. } if reason.contains("TLS")),
            "{error}"
        );
    }
}

#[test]
fn urls_it_cannot_post_to_are_invalid() {
    for url in [
        "ftp://127.0.0.1/x",
        "not a url",
        "http://user:pw@127.0.0.1/x",
        "/audit",
    ] {
        let error = WebhookSink::new(url, timeout()).unwrap_err();
        assert!(matches!(error, SinkError::Invalid { .. }), "{url}: {error}");
    }
    let error = WebhookSink::new("http://127.0.0.1/x", timeout())
        .unwrap()
        .with_header("bad header", b"x")
        .unwrap_err();
    assert!(matches!(error, SinkError::Invalid { .. }), "{error}");
}
