//! An OTLP trace receiver for the tracing tests, on 127.0.0.1: OTLP/gRPC (the collector service
//! of the official protobuf definitions, served by tonic) and OTLP/HTTP with protobuf bodies,
//! each on a port of its own (and OTLP/HTTP over TLS when given a certificate). It keeps every
//! span it accepts; it can be told to refuse exports or to answer them slowly, as a collector
//! in trouble does.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message as _;

use crate::tls::Issued;

/// One span as received, with what the tests look at.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service_name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// `SPAN_KIND_*` as a number: 1 internal, 2 server, 3 client.
    pub kind: i32,
    pub attributes: BTreeMap<String, String>,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// How the receiver answers exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// gRPC `UNAVAILABLE`, HTTP 503.
    Refuse,
    /// Accepts after waiting this long.
    Slow(Duration),
}

#[derive(Default)]
struct State {
    spans: Vec<ReceivedSpan>,
    exports: usize,
}

struct Shared {
    state: Mutex<State>,
    behaviour: Mutex<Behaviour>,
}

pub struct OtlpReceiver {
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    /// OTLP/HTTP over TLS, when started with a certificate.
    pub https: Option<SocketAddr>,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

impl OtlpReceiver {
    /// Starts both endpoints; they accept until told otherwise.
    pub fn start() -> OtlpReceiver {
        OtlpReceiver::start_with(None)
    }

    /// The same, and OTLP/HTTP over TLS with `certificate` on a third port.
    pub fn start_https(certificate: &Issued) -> OtlpReceiver {
        OtlpReceiver::start_with(Some(certificate))
    }

    fn start_with(certificate: Option<&Issued>) -> OtlpReceiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            behaviour: Mutex::new(Behaviour::Accept),
        });
        let grpc_listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let http_listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let grpc = grpc_listener.local_addr().unwrap();
        let http = http_listener.local_addr().unwrap();
        let service = TraceServiceServer::new(Grpc(shared.clone()));
        runtime.spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(grpc_listener);
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await;
        });
        runtime.spawn(serve_http(http_listener, None, shared.clone()));
        let https = certificate.map(|certificate| {
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let address = listener.local_addr().unwrap();
            let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.der()], certificate.key_der())
            .unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
            runtime.spawn(serve_http(listener, Some(acceptor), shared.clone()));
            address
        });
        OtlpReceiver {
            grpc,
            http,
            https,
            shared,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:<port>` of the gRPC endpoint.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// The base URL of the HTTP endpoint (`/v1/traces` is added by the exporter).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http)
    }

    /// The base URL of the HTTPS endpoint, by the name its certificate has (`localhost`).
    pub fn https_endpoint(&self) -> String {
        let port = self.https.expect("started with a certificate").port();
        format!("https://localhost:{port}")
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = behaviour;
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.state.lock().unwrap().spans.clone()
    }

    /// Export requests received, answered or not.
    pub fn exports(&self) -> usize {
        self.shared.state.lock().unwrap().exports
    }

    /// Waits (up to `timeout`) until the spans received satisfy `ready`, and returns them.
    pub fn wait_for(
        &self,
        timeout: Duration,
        ready: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if ready(&spans) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "the spans awaited did not arrive; received: {spans:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Shared {
    /// Counts the export and, unless refused, keeps its spans (after the delay of a slow
    /// collector). `false`: refused.
    async fn receive(&self, request: ExportTraceServiceRequest) -> bool {
        self.state.lock().unwrap().exports += 1;
        let behaviour = *self.behaviour.lock().unwrap();
        match behaviour {
            Behaviour::Refuse => return false,
            Behaviour::Slow(delay) => tokio::time::sleep(delay).await,
            Behaviour::Accept => {}
        }
        let spans = flatten(request);
        self.state.lock().unwrap().spans.extend(spans);
        true
    }
}

struct Grpc(Arc<Shared>);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        if self.0.receive(request.into_inner()).await {
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: None,
            }))
        } else {
            Err(tonic::Status::unavailable("refusing exports"))
        }
    }
}

async fn serve_http(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer_http(request, &shared).await) }
            });
            let http = hyper::server::conn::http1::Builder::new();
            let _ = match tls {
                None => {
                    http.serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await
                }
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        http.serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await
                    }
                    Err(_) => return,
                },
            };
        });
    }
}

async fn answer_http(
    request: hyper::Request<hyper::body::Incoming>,
    shared: &Shared,
) -> hyper::Response<Full<Bytes>> {
    let status = |code: u16| {
        hyper::Response::builder()
            .status(code)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    if request.method() != hyper::Method::POST || request.uri().path() != "/v1/traces" {
        return status(404);
    }
    let Ok(body) = request.into_body().collect().await else {
        return status(400);
    };
    let Ok(export) = ExportTraceServiceRequest::decode(body.to_bytes()) else {
        return status(400);
    };
    if !shared.receive(export).await {
        return status(503);
    }
    let answer = ExportTraceServiceResponse {
        partial_success: None,
    };
    hyper::Response::builder()
        .header("content-type", "application/x-protobuf")
        .body(Full::new(Bytes::from(answer.encode_to_vec())))
        .unwrap()
}

fn flatten(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let service_name = resource_spans
            .resource
            .as_ref()
            .and_then(|resource| {
                resource
                    .attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .map(text)
            })
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                out.push(ReceivedSpan {
                    service_name: service_name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    kind: span.kind,
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.clone(), text(kv)))
                        .collect(),
                });
            }
        }
    }
    out
}

fn text(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
