//! Legate over stream transports, end to end: TCP with sipp on both sides (connections reused
//! in both directions), a call that changes transport inside Legate, TLS in and out through
//! socat (Debian's sipp speaks no TLS) with client certificates and upstream verification, and
//! Content-Length framing on a raw connection to the TCP listener.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::time::Duration;

use legate_e2e::config::config_head;
use legate_e2e::stream::{
    message_to_remote, options_to_legate, wait_tcp_listener, Received, SipConnection,
};
use legate_e2e::tls::{tls_connect, Ca, Socat};
use legate_e2e::{assert_sipp_success, free_port, sipp_client, Legate, SippServer};

/// How long a sipp peer may take to finish its calls once the other side is done.
const PEER_WAIT: Duration = Duration::from_secs(15);

/// The listener chains: every request is marked with the side it entered Legate on.
fn chain(side: &str) -> String {
    format!(
        "    filters:
      - name: legate.filters.sip.header_mutation
        config: {{ request: {{ add: [ {{ name: X-Legate-Side, value: {side} }} ] }} }}
      - name: legate.filters.sip.router
"
    )
}

fn listener(name: &str, port: u16, transport: &str, side: &str, extra: &str) -> String {
    format!(
        "  - name: {name}
    address: \"127.0.0.1:{port}\"
    transport: {transport}
    side: {side}
{extra}{}",
        chain(side)
    )
}

/// `remote.example` from the internal side goes to the cluster `remote-peer`.
const ROUTE_TO_REMOTE: &str = "routes:
  - name: to-remote
    match: { domain: remote.example, side: internal }
    cluster: remote-peer
";

/// An edge gateway on TCP: internal and external TCP listeners, the remote peer over TCP.
struct TcpSetup {
    internal: u16,
    external: u16,
    peer: u16,
    client: u16,
    admin: u16,
}

impl TcpSetup {
    fn new() -> TcpSetup {
        TcpSetup {
            internal: free_port(),
            external: free_port(),
            peer: free_port(),
            client: free_port(),
            admin: free_port(),
        }
    }

    fn config(&self) -> String {
        format!(
            "{}listeners:\n{}{}{ROUTE_TO_REMOTE}clusters:
  - name: remote-peer
    transport: tcp
    endpoints: [\"127.0.0.1:{}\"]
",
            config_head(self.admin),
            listener("internal", self.internal, "tcp", "internal", ""),
            listener("external", self.external, "tcp", "external", ""),
            self.peer
        )
    }

    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.internal)
    }

    fn start_peer(&self, scenario: &str, calls: u32, extra: &[&str]) -> SippServer {
        let peer = SippServer::start_with(scenario, self.peer, "t1", calls, extra);
        assert!(
            wait_tcp_listener(self.peer, Duration::from_secs(10)),
            "sipp did not listen on {}",
            self.peer
        );
        peer
    }
}

#[test]
fn tcp_message_crosses_to_the_remote_peer_and_back() {
    let s = TcpSetup::new();
    let _legate = Legate::start(&s.config(), s.admin);
    let peer = s.start_peer("uas_message.xml", 3, &[]);
    let output = sipp_client("uac_message.xml", &s.target(), s.client, "t1", 3, &[]);
    assert_sipp_success(&output, "uac over tcp");
    assert!(
        peer.wait_success(PEER_WAIT),
        "the peer did not receive 3 marked MESSAGEs over tcp"
    );
}

#[test]
fn tcp_call_is_set_up_and_torn_down_by_the_caller() {
    let s = TcpSetup::new();
    let _legate = Legate::start(&s.config(), s.admin);
    let peer = s.start_peer("uas_invite.xml", 1, &[]);
    let output = sipp_client(
        "uac_invite.xml",
        &s.target(),
        s.client,
        "t1",
        1,
        &["-d", "200"],
    );
    assert_sipp_success(&output, "uac over tcp");
    assert!(
        peer.wait_success(PEER_WAIT),
        "the called side did not see ACK and BYE over tcp"
    );
}

/// The caller's Via and Contact name a port nobody listens on, so every answer and the callee's
/// BYE can only reach it over the connection it opened: the 100 and 200 come back on it, and
/// the BYE from the called side is sent on it instead of a new connection to the Contact. The
/// BYE arrives at Legate on the connection Legate opened to the callee, and must run the
/// external listener's chain (the caller's scenario checks `X-Legate-Side: external`).
#[test]
fn tcp_callee_hangs_up_over_the_callers_own_connection() {
    let s = TcpSetup::new();
    let nobody = free_port();
    let _legate = Legate::start(&s.config(), s.admin);
    let peer = s.start_peer("uas_invite_hangs_up.xml", 1, &["-d", "300"]);
    let output = sipp_client(
        "uac_invite_callee_hangs_up.xml",
        &s.target(),
        s.client,
        "t1",
        1,
        &["-key", "contact_port", &nobody.to_string()],
    );
    assert_sipp_success(&output, "caller over tcp");
    assert!(
        peer.wait_success(PEER_WAIT),
        "the callee's BYE was not answered by the caller"
    );
}

/// A caller on UDP, the upstream on TCP: Legate record-routes twice (the callee's scenario
/// checks a TCP entry above a UDP one), and the call completes, ACK and BYE included.
#[test]
fn udp_caller_to_tcp_upstream_is_record_routed_twice() {
    let (internal, external, peer_port, client, admin) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let config = format!(
        "{}listeners:\n{}{}{ROUTE_TO_REMOTE}clusters:
  - name: remote-peer
    transport: tcp
    endpoints: [\"127.0.0.1:{peer_port}\"]
",
        config_head(admin),
        listener("internal", internal, "udp", "internal", ""),
        listener("external", external, "tcp", "external", ""),
    );
    let _legate = Legate::start(&config, admin);
    let peer = SippServer::start("uas_invite_two_record_routes.xml", peer_port, "t1", 1);
    assert!(wait_tcp_listener(peer_port, Duration::from_secs(10)));
    let target = format!("127.0.0.1:{internal}");
    let output = sipp_client("uac_invite.xml", &target, client, "u1", 1, &["-d", "200"]);
    assert_sipp_success(&output, "caller over udp");
    assert!(
        peer.wait_success(PEER_WAIT),
        "the tcp callee did not see two Legate Record-Routes, or missed ACK or BYE"
    );
}

/// Ports and certificates of the TLS tests. Legate listens on TLS (`internal`) and on plain
/// TCP (`internal_tcp`, for requests written by the test); its cluster reaches the peer over
/// TLS through socat.
struct TlsSetup {
    dir: tempfile::TempDir,
    ca: Ca,
    other_ca: Ca,
    internal: u16,
    internal_tcp: u16,
    /// socat's TCP side for the caller, which socat carries over TLS to `internal`.
    caller_socat: u16,
    /// socat's TLS side, Legate's upstream endpoint.
    upstream: u16,
    peer: u16,
    client: u16,
    admin: u16,
}

impl TlsSetup {
    fn new() -> TlsSetup {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "one");
        let other_ca = Ca::new(dir.path(), "two");
        TlsSetup {
            dir,
            ca,
            other_ca,
            internal: free_port(),
            internal_tcp: free_port(),
            caller_socat: free_port(),
            upstream: free_port(),
            peer: free_port(),
            client: free_port(),
            admin: free_port(),
        }
    }

    /// `client_ca`: require client certificates from `ca` on the TLS listener. The cluster
    /// trusts `ca` only; a second cluster, never routed to, trusts `other_ca`.
    fn config(&self, client_ca: bool) -> String {
        let server = self.ca.server("legate");
        let mut tls = format!(
            "    tls:\n      certificate: {}\n      private_key: {}\n",
            server.certificate.display(),
            server.private_key.display()
        );
        if client_ca {
            tls.push_str(&format!("      client_ca: {}\n", self.ca.pem.display()));
        }
        format!(
            "{}listeners:\n{}{}{ROUTE_TO_REMOTE}clusters:
  - name: remote-peer
    transport: tls
    endpoints: [\"127.0.0.1:{upstream}\"]
    tls_server_name: localhost
    tls_ca: {ca}
  - name: other-peer
    transport: tls
    endpoints: [\"127.0.0.1:{other}\"]
    tls_ca: {other_ca}
",
            config_head(self.admin),
            listener("internal", self.internal, "tls", "internal", &tls),
            listener("internal_tcp", self.internal_tcp, "tcp", "internal", ""),
            upstream = self.upstream,
            ca = self.ca.pem.display(),
            other = free_port(),
            other_ca = self.other_ca.pem.display(),
        )
    }

    /// The upstream: socat taking TLS with a certificate from `issuer`, passing it to sipp.
    fn upstream(&self, issuer: &Ca) -> Socat {
        Socat::tls_to_tcp(
            self.dir.path(),
            self.upstream,
            self.peer,
            &issuer.server("upstream"),
        )
    }

    fn start_peer(&self, scenario: &str, calls: u32) -> SippServer {
        let peer = SippServer::start(scenario, self.peer, "t1", calls);
        assert!(wait_tcp_listener(self.peer, Duration::from_secs(10)));
        peer
    }
}

/// sipp → socat → TLS → Legate → TLS → socat → sipp: the MESSAGE enters on the TLS listener,
/// leaves on the TLS cluster (verified against its `tls_ca`, as `localhost`), and the 200s come
/// back the same way.
#[test]
fn tls_message_crosses_in_and_out() {
    let s = TlsSetup::new();
    let _legate = Legate::start(&s.config(false), s.admin);
    let peer = s.start_peer("uas_message.xml", 3);
    let upstream = s.upstream(&s.ca);
    let caller_side = Socat::tcp_to_tls(s.dir.path(), s.caller_socat, s.internal, &s.ca, None);
    let target = format!("127.0.0.1:{}", s.caller_socat);
    let output = sipp_client("uac_message.xml", &target, s.client, "t1", 3, &[]);
    assert!(
        output.status.success(),
        "caller over tls failed: {}\ncaller socat: {}\nupstream socat: {}",
        String::from_utf8_lossy(&output.stderr),
        caller_side.log(),
        upstream.log()
    );
    assert!(
        peer.wait_success(PEER_WAIT),
        "the peer behind the tls upstream did not receive 3 marked MESSAGEs"
    );
}

/// With `client_ca`, a client presenting a certificate from that CA is served end to end; a
/// client with no certificate, or one from another CA, is refused during the handshake and
/// never gets a SIP answer; and Legate goes on serving good clients afterwards.
#[test]
fn tls_listener_with_client_ca_serves_only_certified_clients() {
    let s = TlsSetup::new();
    let _legate = Legate::start(&s.config(true), s.admin);
    let peer = s.start_peer("uas_message.xml", 1);
    let _upstream = s.upstream(&s.ca);
    let alice = s.ca.client("alice.local.example");
    let caller_side = Socat::tcp_to_tls(
        s.dir.path(),
        s.caller_socat,
        s.internal,
        &s.ca,
        Some(&alice),
    );
    let target = format!("127.0.0.1:{}", s.caller_socat);
    let output = sipp_client("uac_message.xml", &target, s.client, "t1", 1, &[]);
    assert!(
        output.status.success(),
        "certified caller failed: {}\nsocat: {}",
        String::from_utf8_lossy(&output.stderr),
        caller_side.log()
    );
    assert!(peer.wait_success(PEER_WAIT), "the MESSAGE did not arrive");

    let stranger = s.other_ca.client("mallory.other.example");
    for (what, client) in [
        ("no certificate", None),
        ("a certificate from another CA", Some(&stranger)),
    ] {
        let mut connection = SipConnection::new(tls_connect(s.internal, &s.ca, client));
        // In TLS 1.3 the client finishes its side of the handshake before the server has
        // judged its certificate: the refusal arrives as an alert instead of an answer.
        let outcome = match connection.send(options_to_legate(s.internal, "TLS", "x").as_bytes()) {
            Err(error) => Received::Failed(error),
            Ok(()) => connection.receive(),
        };
        match outcome {
            Received::Failed(error) => {
                let alert = error
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<rustls::Error>());
                assert!(
                    matches!(alert, Some(rustls::Error::AlertReceived(_))),
                    "{what}: expected a tls alert, got {error:?}"
                );
            }
            Received::Closed(pending) => assert!(pending.is_empty(), "{what}: got {pending:?}"),
            other => panic!("{what}: expected a refused handshake, got {other:?}"),
        }
    }

    let mut connection = SipConnection::new(tls_connect(s.internal, &s.ca, Some(&alice)));
    connection
        .send(options_to_legate(s.internal, "TLS", "after-refusals").as_bytes())
        .unwrap();
    let answer = connection.receive().message();
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
}

/// The cluster trusts only its own `tls_ca`. An upstream whose certificate comes from another
/// CA (one another cluster of the same config trusts) is not used: the request fails with 503,
/// and Legate's Warning says it was the certificate.
#[test]
fn tls_upstream_with_a_certificate_from_another_ca_is_refused() {
    let s = TlsSetup::new();
    let _legate = Legate::start(&s.config(false), s.admin);
    let impostor = s.upstream(&s.other_ca);
    let mut connection = SipConnection::tcp(s.internal_tcp);
    connection
        .send(message_to_remote("TCP", "impostor").as_bytes())
        .unwrap();
    let answer = connection.receive().message();
    assert!(
        answer.starts_with("SIP/2.0 503 "),
        "{answer}\nupstream socat: {}",
        impostor.log()
    );
    let warning = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("warning:"))
        .unwrap_or_else(|| panic!("no Warning in {answer}"));
    assert!(
        warning.contains(&format!("127.0.0.1:{}", s.upstream))
            && warning.contains("certificate")
            && warning.contains("UnknownIssuer"),
        "{warning}"
    );
}

/// A TCP listener with nothing behind it: the framing tests only talk to Legate itself.
fn framing_legate() -> (Legate, u16) {
    let (port, admin) = (free_port(), free_port());
    let config = format!(
        "{}listeners:\n{}routes: []\nclusters: []\n",
        config_head(admin),
        listener("internal", port, "tcp", "internal", "")
    );
    (Legate::start(&config, admin), port)
}

fn assert_serves_new_connections(port: u16) {
    let mut connection = SipConnection::tcp(port);
    connection
        .send(options_to_legate(port, "TCP", "still-serving").as_bytes())
        .unwrap();
    let answer = connection.receive().message();
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
}

#[test]
fn two_requests_in_one_write_are_both_answered() {
    let (_legate, port) = framing_legate();
    let mut connection = SipConnection::tcp(port);
    let both = options_to_legate(port, "TCP", "first") + &options_to_legate(port, "TCP", "second");
    connection.send(both.as_bytes()).unwrap();
    let mut answered: Vec<String> = (0..2)
        .map(|_| {
            let answer = connection.receive().message();
            assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
            answer
                .lines()
                .find_map(|l| l.strip_prefix("Call-ID: "))
                .unwrap()
                .to_string()
        })
        .collect();
    answered.sort();
    assert_eq!(answered, ["first@local.example", "second@local.example"]);
}

#[test]
fn request_without_content_length_gets_400_and_the_connection_closes() {
    let (_legate, port) = framing_legate();
    let mut connection = SipConnection::tcp(port);
    let request = options_to_legate(port, "TCP", "no-length").replace("Content-Length: 0\r\n", "");
    connection.send(request.as_bytes()).unwrap();
    let answer = connection.receive().message();
    assert!(
        answer.starts_with("SIP/2.0 400 ") && answer.contains("no-length@local.example"),
        "{answer}"
    );
    match connection.receive() {
        Received::Closed(pending) => assert!(pending.is_empty(), "{pending:?}"),
        other => panic!("expected the connection to close, got {other:?}"),
    }
    assert_serves_new_connections(port);
}

/// A header section over the limits (one endless line; too many fields; too many bytes) is
/// refused with an error answer or a close, never left waiting; Legate then serves new
/// connections as before.
#[test]
fn oversized_header_sections_are_refused_without_a_hang() {
    let (_legate, port) = framing_legate();
    let base = options_to_legate(port, "TCP", "oversized");
    let (head, tail) = base.split_once("Content-Length").unwrap();
    let long_line = format!("X-Long: {}\r\n", "a".repeat(20_000));
    let many_fields: String = (0..200).map(|i| format!("X-Field-{i}: {i}\r\n")).collect();
    let many_bytes: String = (0..20)
        .map(|i| format!("X-Big-{i}: {}\r\n", "b".repeat(4_000)))
        .collect();
    for (what, filler) in [
        ("a line longer than max_line_bytes", long_line),
        ("more fields than max_headers", many_fields),
        ("a header section over max_message_bytes", many_bytes),
    ] {
        let mut connection = SipConnection::tcp(port);
        let request = format!("{head}{filler}Content-Length{tail}");
        // Legate may close before reading everything; the write may then fail, which is fine.
        let _ = connection.send(request.as_bytes());
        match connection.receive() {
            Received::Message(answer) => {
                assert!(
                    answer.starts_with("SIP/2.0 400 ") || answer.starts_with("SIP/2.0 513 "),
                    "{what}: {answer}"
                );
                assert!(
                    matches!(connection.receive(), Received::Closed(_)),
                    "{what}: the connection stayed open after the error answer"
                );
            }
            Received::Closed(_) => {}
            other => panic!("{what}: expected an error answer or a close, got {other:?}"),
        }
    }
    assert_serves_new_connections(port);
}
