//! The SIP torture corpus (proxy/sip/tests/torture, in the spirit of RFC 4475) replayed through
//! a running Legate over UDP. Valid requests must reach the peer intact: the same Request-URI,
//! the same headers in the same order and the same body, apart from what a proxy must change
//! (its Via on top, Max-Forwards, Record-Route, Content-Length). Invalid requests must be answered
//! with the status their file name gives; `drop-*` messages must get no answer at all. Every file
//! is checked and every mismatch reported together.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::{workspace, Legate};
use legate_sip::{parse_message, HeaderKind, Limits, Message};

/// Valid requests a proxy must answer itself rather than forward, and the status it must use.
const ANSWERED_BY_THE_PROXY: &[(&str, u16)] = &[("zeromf", 483), ("bext01", 420)];

fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = workspace().join("proxy/sip/tests/torture").join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn parse(bytes: &[u8]) -> Option<Message> {
    parse_message(Bytes::copy_from_slice(bytes), &Limits::default()).ok()
}

/// The peer Legate forwards to: records every request and answers it 200.
struct Peer {
    port: u16,
    received: Arc<Mutex<Vec<Message>>>,
}

impl Peer {
    fn start() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 70_000];
            // Stops when the test process ends; bounded by the test's own runtime.
            loop {
                let Ok((len, from)) = socket.recv_from(&mut buffer) else {
                    continue;
                };
                let Some(request) = parse(&buffer[..len]) else {
                    continue;
                };
                if !request.is_request() {
                    continue;
                }
                if request.method() != Some(&legate_sip::Method::Ack) {
                    let mut ok = Message::response_to(&request, 200, "OK");
                    if let Ok(mut to) = ok.to_header() {
                        if to.tag().is_none() {
                            to.set_param("tag", Some("peer"));
                            ok.headers.set(HeaderKind::To, to.to_string());
                        }
                    }
                    let _ = socket.send_to(&ok.to_bytes(), from);
                }
                log.lock().unwrap().push(request);
            }
        });
        Peer { port, received }
    }

    fn find(&self, call_id: &[u8]) -> Option<Message> {
        for _ in 0..40 {
            let found = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.call_id().map(|c| c.as_ref()) == Some(call_id))
                .cloned();
            if found.is_some() {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// Sends `bytes` from a fresh socket; returns the first final response (skipping 1xx), if any
/// arrives within two seconds.
fn exchange(target: &str, bytes: &[u8]) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(bytes, target).unwrap();
    let mut buffer = vec![0u8; 70_000];
    loop {
        let (len, _) = socket.recv_from(&mut buffer).ok()?;
        let response = parse(&buffer[..len])?;
        if response.status().is_some_and(|s| s >= 200) {
            return Some(response);
        }
    }
}

/// Headers as (name, value) pairs, without the ones a proxy legitimately changes: its own Via
/// (`skip_top_via`), Max-Forwards, Record-Route, Content-Length, and the `received`/`rport` it
/// notes in the sender's Via (RFC 3581).
fn comparable(message: &Message, skip_top_via: bool) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let mut vias_seen = 0;
    let sender_via = usize::from(skip_top_via);
    for header in message.headers.iter() {
        let mut value = String::from_utf8_lossy(&header.value).into_owned();
        if header.kind == HeaderKind::Via {
            vias_seen += 1;
            if vias_seen - 1 < sender_via {
                continue;
            }
            if vias_seen - 1 == sender_via {
                value = unmark(&value);
            }
        }
        if matches!(
            header.kind,
            HeaderKind::MaxForwards | HeaderKind::RecordRoute | HeaderKind::ContentLength
        ) {
            continue;
        }
        headers.push((
            String::from_utf8_lossy(&header.name).to_ascii_lowercase(),
            value,
        ));
    }
    headers
}

/// The first element of a Via value, parsed and written back without `received` and `rport`:
/// a proxy that marks the Via may also normalise its whitespace.
fn unmark(via: &str) -> String {
    let (first, rest) = match via.split_once(',') {
        Some((first, rest)) => (first, Some(rest)),
        None => (via, None),
    };
    let first = match legate_sip::Via::parse(first.as_bytes()) {
        Ok(mut parsed) => {
            parsed.params.retain(|(name, _)| {
                !name.eq_ignore_ascii_case("received") && !name.eq_ignore_ascii_case("rport")
            });
            parsed.to_string()
        }
        Err(_) => first.to_string(),
    };
    match rest {
        Some(rest) => format!("{first},{rest}"),
        None => first,
    }
}

/// What the Request-URI must look like after Legate: the same, without escaped headers.
fn forwarded_form(uri: &[u8]) -> String {
    match legate_sip::Uri::parse(uri) {
        Ok(parsed) if parsed.headers.is_some() => legate_sip::Uri {
            headers: None,
            ..parsed
        }
        .to_string(),
        _ => String::from_utf8_lossy(uri).into_owned(),
    }
}

fn expected_status(name: &str) -> Option<u16> {
    name.split('-').next().and_then(|code| code.parse().ok())
}

#[test]
fn the_torture_corpus_through_legate() {
    let p = Ports::pick();
    let peer = Peer::start();
    let any_domain = "  - name: anything\n    match: { domain: \"*\" }\n    cluster: remote-peer\n";
    let config = proxy_config(&p, &udp_cluster(&[peer.port]), any_domain, "").replace(
        "      - name: legate.filters.sip.header_mutation\n        config: { request: { add: [ { name: X-Legate-Side, value: internal } ] } }\n",
        "",
    );
    // Both listeners on the internal side: this checks what the proxy passes on untouched, and
    // topology hiding (which rewrites Via, Record-Route and Contact towards the external side)
    // has tests of its own.
    let config = config
        .replace("    side: external\n", "    side: internal\n")
        .replace(
            "      - name: legate.filters.sip.header_mutation\n        config: { request: { add: [ { name: X-Legate-Side, value: external } ] } }\n",
            "",
        );
    let legate = Legate::start(&config, p.admin);
    let target = p.internal_target();
    let mut failures = Vec::new();

    for (name, bytes) in corpus("valid") {
        let original = parse(&bytes).unwrap();
        let answer = exchange(&target, &bytes);
        if !original.is_request() {
            if let Some(answer) = answer {
                failures.push(format!(
                    "valid/{name}: a response got an answer: {:?}",
                    answer.status()
                ));
            }
            continue;
        }
        let expected = ANSWERED_BY_THE_PROXY
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .unwrap_or(200);
        match answer.as_ref().and_then(Message::status) {
            Some(status) if status == expected => {}
            other => {
                failures.push(format!("valid/{name}: expected {expected}, got {other:?}"));
                continue;
            }
        }
        if expected != 200 {
            continue;
        }
        let Some(forwarded) = peer.find(original.call_id().unwrap()) else {
            failures.push(format!("valid/{name}: never reached the peer"));
            continue;
        };
        let original_uri = String::from_utf8_lossy(original.request_uri().unwrap()).into_owned();
        let forwarded_uri = String::from_utf8_lossy(forwarded.request_uri().unwrap()).into_owned();
        // Headers escaped into a Request-URI are not forwarded in it (RFC 4475 §3.1.2.11).
        if forwarded_uri != forwarded_form(original.request_uri().unwrap()) {
            failures.push(format!(
                "valid/{name}: request-uri {original_uri} became {forwarded_uri}"
            ));
        }
        if comparable(&original, false) != comparable(&forwarded, true) {
            failures.push(format!(
                "valid/{name}: headers changed\n  sent:      {:?}\n  forwarded: {:?}",
                comparable(&original, false),
                comparable(&forwarded, true)
            ));
        }
        if original.body != forwarded.body {
            failures.push(format!("valid/{name}: body changed"));
        }
    }

    for (name, bytes) in corpus("invalid") {
        let answer = exchange(&target, &bytes).and_then(|m| m.status());
        match (expected_status(&name), answer) {
            (None, None) => {}
            (Some(code), Some(status)) if code == status => {}
            (expected, got) => failures.push(format!(
                "invalid/{name}: expected {expected:?} (None = dropped), got {got:?}"
            )),
        }
    }

    assert_eq!(
        legate.admin_get("/healthz").map(|(c, _)| c),
        Some(200),
        "legate stopped serving"
    );
    assert!(
        failures.is_empty(),
        "{} torture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
