//! The DMZ edge tried as an attacker would: each test replays or floods what a partner (or
//! anyone who can reach an external listener) can send, shows the hole closed, and shows that
//! legitimate traffic still passes. Everything runs on 127.0.0.1 and is bounded in count.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::net::{TcpListener, UdpSocket};

use legate_e2e::config::config_head;
use legate_e2e::raw_sip::{has_pending, header, port_of, receive, reply, send, udp_socket, uri_in};
use legate_e2e::stream::SipConnection;
use legate_e2e::tls::{tls_connect, Ca, TlsStream};
use legate_e2e::{free_port, Legate};

/// Names that exist only inside Legate's config; none may reach a partner.
const LISTENER_NAMES: [&str; 4] = ["inside-lsn", "edge-udp-lsn", "edge-tcp-lsn", "edge-tls-lsn"];

/// An internal host a partner would like to reach through Legate: nothing may arrive on it.
struct Victim {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Victim {
    fn new() -> Victim {
        loop {
            let udp = udp_socket();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port_of(&udp))) {
                tcp.set_nonblocking(true).unwrap();
                return Victim { udp, tcp };
            }
        }
    }

    fn port(&self) -> u16 {
        port_of(&self.udp)
    }

    /// Nothing reached it, over either transport. Called after Legate answered the request
    /// that tried: Legate forwards before it answers, so there is nothing left to wait for.
    fn assert_untouched(&self) {
        assert!(!has_pending(&self.udp), "a datagram reached the victim");
        assert!(
            self.tcp.accept().is_err(),
            "a connection reached the victim"
        );
    }
}

/// One Legate with an internal listener, an unauthenticated external UDP listener and an
/// external TLS listener that requires a partner certificate; `acme.example` is served by the
/// internal IM server, a raw socket of the test.
struct Edge {
    dir: tempfile::TempDir,
    ca: Ca,
    admin: u16,
    internal: u16,
    external_udp: u16,
    external_tls: u16,
    external_tcp: u16,
    im: UdpSocket,
    /// A partner's server that Legate sends to (`partner.example`, from the internal side).
    far: UdpSocket,
    victim: Victim,
}

impl Edge {
    fn new() -> Edge {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "hostile");
        Edge {
            dir,
            ca,
            admin: free_port(),
            internal: free_port(),
            external_udp: free_port(),
            external_tls: free_port(),
            external_tcp: free_port(),
            im: udp_socket(),
            far: udp_socket(),
            victim: Victim::new(),
        }
    }

    fn config(&self, proxy_extra: &str) -> String {
        let server = self.ca.server("legate");
        let _ = &self.dir;
        format!(
            "{head}{proxy_extra}
listeners:
  - name: inside-lsn
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.router
  - name: edge-udp-lsn
    address: \"127.0.0.1:{external_udp}\"
    transport: udp
    side: external
    filters:
      - name: legate.filters.sip.router
  - name: edge-tcp-lsn
    address: \"127.0.0.1:{external_tcp}\"
    transport: tcp
    side: external
    filters:
      - name: legate.filters.sip.router
  - name: edge-tls-lsn
    address: \"127.0.0.1:{external_tls}\"
    transport: tls
    side: external
    tls: {{ certificate: \"{cert}\", private_key: \"{key}\", client_ca: \"{ca}\" }}
    filters:
      - name: legate.filters.sip.authn
        config: {{ local_domains: [acme.example] }}
      - name: legate.filters.sip.router
routes:
  - {{ name: to-acme, match: {{ domain: acme.example, side: external }}, cluster: im }}
  - {{ name: out, match: {{ domain: partner.example, side: internal }}, cluster: far }}
clusters:
  - {{ name: im, transport: udp, endpoints: [\"127.0.0.1:{im}\"] }}
  - {{ name: far, transport: udp, endpoints: [\"127.0.0.1:{far}\"] }}
peers:
  - name: partner
    domains: [partner.example]
    reach: {{ address: \"127.0.0.1:5999\" }}
    trust_bundle: \"{ca}\"
",
            head = config_head(self.admin),
            internal = self.internal,
            external_udp = self.external_udp,
            external_tls = self.external_tls,
            external_tcp = self.external_tcp,
            im = port_of(&self.im),
            far = port_of(&self.far),
            cert = server.certificate.display(),
            key = server.private_key.display(),
            ca = self.ca.pem.display(),
        )
    }

    /// A partner on the unauthenticated UDP listener.
    fn udp_partner(&self) -> Partner {
        Partner::Udp {
            socket: udp_socket(),
            legate: self.external_udp,
            seen: Vec::new(),
        }
    }

    /// A partner over mutual TLS with a certificate for `partner.example`.
    fn tls_partner(&self) -> Partner {
        let certificate = self.ca.client("partner.example");
        Partner::Tls {
            connection: Box::new(SipConnection::new(tls_connect(
                self.external_tls,
                &self.ca,
                Some(&certificate),
            ))),
            seen: Vec::new(),
        }
    }

    /// What would betray the inside: listener names, the internal ports, OS errors, the
    /// product's name.
    fn assert_nothing_internal(&self, seen: &[String]) {
        let all = seen.join("\n");
        for name in LISTENER_NAMES {
            assert!(!all.contains(name), "listener name `{name}` leaked:\n{all}");
        }
        for port in [self.internal, port_of(&self.im), self.victim.port()] {
            assert!(
                !all.contains(&format!(":{port}")),
                "internal port {port} leaked:\n{all}"
            );
        }
        let lower = all.to_ascii_lowercase();
        for word in ["refused", "os error", "unreachable", "legate", "no route"] {
            assert!(!lower.contains(word), "`{word}` leaked:\n{all}");
        }
    }
}

/// The far side of an external listener, recording every message it receives.
enum Partner {
    Udp {
        socket: UdpSocket,
        legate: u16,
        seen: Vec<String>,
    },
    Tls {
        connection: Box<SipConnection<TlsStream>>,
        seen: Vec<String>,
    },
}

impl Partner {
    fn via(&self, branch: &str) -> String {
        match self {
            Partner::Udp { socket, .. } => format!(
                "SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK-{branch};rport",
                port_of(socket)
            ),
            Partner::Tls { .. } => format!("SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-{branch}"),
        }
    }

    fn send(&mut self, message: &str) {
        match self {
            Partner::Udp { socket, legate, .. } => send(socket, *legate, message),
            Partner::Tls { connection, .. } => connection
                .send(message.replace('\n', "\r\n").as_bytes())
                .unwrap(),
        }
    }

    /// The next message other than `100 Trying`.
    fn receive(&mut self) -> String {
        let message = match self {
            Partner::Udp { socket, .. } => receive(socket),
            Partner::Tls { connection, .. } => loop {
                let message = connection.receive().message();
                if !message.starts_with("SIP/2.0 100") {
                    break message;
                }
            },
        };
        match self {
            Partner::Udp { seen, .. } | Partner::Tls { seen, .. } => seen.push(message.clone()),
        }
        message
    }

    fn seen(&self) -> &[String] {
        match self {
            Partner::Udp { seen, .. } | Partner::Tls { seen, .. } => seen,
        }
    }

    /// Sends `method` to `uri` and returns the final answer's status line.
    fn request(&mut self, method: &str, uri: &str, call: &str, headers: &str) -> String {
        let message = format!(
            "{method} {uri} SIP/2.0
Via: {via}
Max-Forwards: 70
{headers}From: <sip:bob@partner.example>;tag=p1
Call-ID: {call}
CSeq: 2 {method}
Content-Length: 0

",
            via = self.via(&format!("{call}-{method}-{}", self.seen().len())),
        );
        self.send(&message);
        let answer = self.receive();
        answer.lines().next().unwrap().to_string()
    }
}

/// What a partner keeps from a dialog it set up: Legate's Record-Route entry and the Contact
/// it was given.
struct Dialog {
    call: String,
    record_route: String,
    contact: String,
}

/// The partner calls alice@acme.example; the IM server answers 200 from its own address.
fn establish(edge: &Edge, partner: &mut Partner, call: &str) -> Dialog {
    let invite = format!(
        "INVITE sip:alice@acme.example SIP/2.0
Via: {via}
Max-Forwards: 70
From: <sip:bob@partner.example>;tag=p1
To: <sip:alice@acme.example>
Call-ID: {call}
CSeq: 1 INVITE
Contact: <sip:bob@127.0.0.1:9>
Content-Length: 0

",
        via = partner.via(&format!("{call}-invite"))
    );
    partner.send(&invite);
    let inside = receive(&edge.im);
    assert!(inside.starts_with("INVITE "), "{inside}");
    let im = port_of(&edge.im);
    let record_route = header(&inside, "Record-Route")
        .iter()
        .map(|r| format!("Record-Route: {r}\n"))
        .collect::<String>();
    send(
        &edge.im,
        edge.internal,
        &reply(
            &inside,
            "200 OK",
            "a1",
            &format!("{record_route}Contact: <sip:alice@127.0.0.1:{im}>\n"),
        ),
    );
    let answer = partner.receive();
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    let dialog = Dialog {
        call: call.to_string(),
        record_route: header(&answer, "Record-Route")[0].to_string(),
        contact: uri_in(header(&answer, "Contact")[0]).to_string(),
    };
    // The ACK reaches the IM server through Legate: the dialog works.
    let ack = format!(
        "ACK {contact} SIP/2.0
Via: {via}
Max-Forwards: 70
Route: {route}
From: <sip:bob@partner.example>;tag=p1
To: <sip:alice@acme.example>;tag=a1
Call-ID: {call}
CSeq: 1 ACK
Content-Length: 0

",
        contact = dialog.contact,
        route = dialog.record_route,
        via = partner.via(&format!("{call}-ack"))
    );
    partner.send(&ack);
    let inside = receive(&edge.im);
    assert!(inside.starts_with("ACK "), "{inside}");
    dialog
}

/// Every way a partner could steer an in-dialog request to a host of its choosing, with route
/// state Legate really issued to it: all refused, nothing reaches the victim, the dialog itself
/// still ends normally, and replays after its BYE are refused too.
fn replays_are_refused(edge: &Edge, mut partner: Partner) {
    let dialog = establish(edge, &mut partner, &format!("replay-{}", free_port()));
    let victim = edge.victim.port();
    let in_dialog = format!(
        "Route: {}\nTo: <sip:alice@acme.example>;tag=a1\n",
        dialog.record_route
    );
    let replay = |partner: &mut Partner, what: &str| {
        for transport in ["udp", "tcp"] {
            let target = format!("sip:x@127.0.0.1:{victim};transport={transport}");
            let status = partner.request("MESSAGE", &target, &dialog.call, &in_dialog);
            assert!(
                status.starts_with("SIP/2.0 403"),
                "{what}, {transport}: {status}"
            );
        }
        edge.victim.assert_untouched();
    };
    replay(&mut partner, "during the dialog");

    // The target Legate gave, with a Route entry of the partner's own after Legate's.
    let foreign = format!(
        "Route: {}, <sip:127.0.0.1:{victim};lr>\nTo: <sip:alice@acme.example>;tag=a1\n",
        dialog.record_route
    );
    let status = partner.request("MESSAGE", &dialog.contact, &dialog.call, &foreign);
    assert!(status.starts_with("SIP/2.0 403"), "foreign route: {status}");
    // Out of dialog, a Route naming an internal host.
    let preloaded = format!("Route: <sip:127.0.0.1:{victim};lr>\nTo: <sip:alice@acme.example>\n");
    let status = partner.request(
        "MESSAGE",
        "sip:alice@acme.example",
        &format!("{}-ood", dialog.call),
        &preloaded,
    );
    assert!(
        status.starts_with("SIP/2.0 403"),
        "preloaded route: {status}"
    );
    edge.victim.assert_untouched();
    assert!(
        !has_pending(&edge.im),
        "a refused request reached the IM server"
    );

    // The dialog itself still ends normally.
    let bye = format!(
        "BYE {contact} SIP/2.0
Via: {via}
Max-Forwards: 70
Route: {route}
From: <sip:bob@partner.example>;tag=p1
To: <sip:alice@acme.example>;tag=a1
Call-ID: {call}
CSeq: 3 BYE
Content-Length: 0

",
        contact = dialog.contact,
        route = dialog.record_route,
        call = dialog.call,
        via = partner.via(&format!("{}-bye", dialog.call))
    );
    partner.send(&bye);
    let inside = receive(&edge.im);
    assert!(inside.starts_with("BYE sip:alice@127.0.0.1:"), "{inside}");
    send(&edge.im, edge.internal, &reply(&inside, "200 OK", "", ""));
    let answer = partner.receive();
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");

    replay(&mut partner, "after the BYE");
    // A domain no route serves: the answer does not map the route table (authn refuses it
    // first for an authenticated partner).
    let status = partner.request(
        "MESSAGE",
        "sip:nobody@nowhere.example",
        &format!("{}-unrouted", dialog.call),
        "To: <sip:nobody@nowhere.example>\n",
    );
    assert!(
        status.starts_with("SIP/2.0 404") || status.starts_with("SIP/2.0 403"),
        "unrouted: {status}"
    );
    edge.assert_nothing_internal(partner.seen());
}

#[test]
fn replayed_route_state_cannot_steer_requests_from_the_external_side() {
    let edge = Edge::new();
    let _legate = Legate::start(&edge.config(""), edge.admin);
    replays_are_refused(&edge, edge.udp_partner());
}

#[test]
fn replayed_route_state_cannot_steer_requests_of_an_authenticated_partner() {
    let edge = Edge::new();
    let _legate = Legate::start(&edge.config(""), edge.admin);
    replays_are_refused(&edge, edge.tls_partner());
}

/// With `foreign_routes: remove`, a partner's own Route entries are dropped instead: the
/// request goes where Legate's routes send it, never to the host the entry named.
#[test]
fn foreign_route_entries_can_be_removed_instead_of_refused() {
    let edge = Edge::new();
    let proxy = "  edge: { foreign_routes: remove }\n";
    let _legate = Legate::start(&edge.config(proxy), edge.admin);
    let mut partner = edge.udp_partner();
    let victim = edge.victim.port();
    let message = format!(
        "MESSAGE sip:alice@acme.example SIP/2.0
Via: {via}
Max-Forwards: 70
Route: <sip:127.0.0.1:{victim};lr>
From: <sip:bob@partner.example>;tag=p1
To: <sip:alice@acme.example>
Call-ID: removed-routes
CSeq: 1 MESSAGE
Content-Length: 0

",
        via = partner.via("removed")
    );
    partner.send(&message);
    let inside = receive(&edge.im);
    assert!(inside.starts_with("MESSAGE "), "{inside}");
    assert!(header(&inside, "Route").is_empty(), "{inside}");
    send(&edge.im, edge.internal, &reply(&inside, "200 OK", "m1", ""));
    assert!(partner.receive().starts_with("SIP/2.0 200"));
    edge.victim.assert_untouched();
    edge.assert_nothing_internal(partner.seen());
}

/// `validate` and `run` judge an admin token file alike: a one-byte token (or an empty file) is
/// refused by both, with the reason; a strong one passes.
#[test]
fn weak_admin_tokens_are_refused_by_validate_and_run_alike() {
    let dir = tempfile::tempdir().unwrap();
    let admin = free_port();
    let token = dir.path().join("admin-token");
    let config = dir.path().join("legate.yaml");
    let yaml = format!(
        "admin: {{ address: \"127.0.0.1:{admin}\", token_file: \"{}\" }}
listeners:
  - name: internal
    address: \"127.0.0.1:{}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.router
",
        token.display(),
        free_port()
    );
    std::fs::write(&config, yaml).unwrap();
    let legate = |command: &str| {
        let mut process = std::process::Command::new(legate_e2e::legate_bin());
        match command {
            "run" => process.args(["run", "--config"]),
            _ => process.arg(command),
        };
        process.arg(&config).output().unwrap()
    };
    for (contents, reason) in [("x", "at least 16"), ("", "is empty")] {
        std::fs::write(&token, contents).unwrap();
        for command in ["validate", "run"] {
            let output = legate(command);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{command} accepted {contents:?}");
            assert!(
                stderr.contains("admin.token_file") && stderr.contains(reason),
                "{command}: {stderr}"
            );
        }
    }
    std::fs::write(&token, "Xk2-9fQ_pL7wZ3rT-4nV8\n").unwrap();
    let output = legate("validate");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Header values with control characters (raw, or escaped in a quoted string) and bytes that
/// are not UTF-8 get 400 at the edge and never reach the inside; UTF-8 text passes.
#[test]
fn control_characters_and_invalid_utf8_are_refused_at_the_edge() {
    let edge = Edge::new();
    let _legate = Legate::start(&edge.config(""), edge.admin);
    let partner = udp_socket();
    let message = |call: &str, extra: &[u8]| {
        let mut bytes = format!(
            "MESSAGE sip:alice@acme.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK-{call};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"Zoë\" <sip:bob@partner.example>;tag=p1\r\n\
             To: <sip:alice@acme.example>\r\n\
             Call-ID: {call}\r\n\
             CSeq: 1 MESSAGE\r\n",
            port_of(&partner)
        )
        .into_bytes();
        bytes.extend_from_slice(extra);
        bytes.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        bytes
    };
    let cases: [(&str, &[u8], &str); 4] = [
        ("nul", b"Subject: a\0b", "control character"),
        ("escaped-nul", b"Subject: \"a\\\0b\"", "control character"),
        ("bell", b"X-Note: \x07", "control character"),
        ("latin1", b"Subject: caf\xe9", "not valid utf-8"),
    ];
    let mut answers = Vec::new();
    for (call, extra, reason) in cases {
        partner
            .send_to(&message(call, extra), ("127.0.0.1", edge.external_udp))
            .unwrap();
        let answer = receive(&partner);
        assert!(answer.starts_with("SIP/2.0 400"), "{call}: {answer}");
        assert!(header(&answer, "Warning")[0].contains(reason), "{answer}");
        answers.push(answer);
    }
    edge.assert_nothing_internal(&answers);
    assert!(
        !has_pending(&edge.im),
        "a refused request reached the inside"
    );

    partner
        .send_to(
            &message("utf8", "Subject: café au lait".as_bytes()),
            ("127.0.0.1", edge.external_udp),
        )
        .unwrap();
    let inside = receive(&edge.im);
    assert!(inside.contains("Subject: café au lait"), "{inside}");
}

/// Topology hiding folds every internal Via and Record-Route entry into one sealed value. A
/// request with so many that the sealed value would pass Legate's own line limit is refused
/// with 513 before it is sent (its answers could not be read back); one with a few passes.
#[test]
fn requests_that_would_leave_beyond_the_limits_are_refused_not_retried() {
    let edge = Edge::new();
    let _legate = Legate::start(&edge.config(""), edge.admin);
    let ua = udp_socket();
    let ua_port = port_of(&ua);
    let request = |call: &str, vias: usize, record_routes: usize| {
        let mut text = "INVITE sip:bob@partner.example SIP/2.0\n".to_string();
        text.push_str(&format!(
            "Via: SIP/2.0/UDP 127.0.0.1:{ua_port};branch=z9hG4bK-{call};rport\n"
        ));
        // Forty entries a line keeps every line under the 8 KiB limit on the way in.
        let lines = |count: usize, name: &str, entry: &dyn Fn(usize) -> String| {
            let entries: Vec<String> = (0..count).map(entry).collect();
            entries
                .chunks(40)
                .map(|chunk| format!("{name}: {}\n", chunk.join(", ")))
                .collect::<String>()
        };
        text.push_str(&lines(vias, "Via", &|i| {
            format!("SIP/2.0/UDP proxy{i}.acme.example;branch=z9hG4bK-{i}")
        }));
        text.push_str(&lines(record_routes, "Record-Route", &|i| {
            format!("<sip:proxy{i}.acme.example;lr>")
        }));
        text.push_str(&format!(
            "Max-Forwards: 70
From: <sip:alice@acme.example>;tag=u1
To: <sip:bob@partner.example>
Call-ID: {call}
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:{ua_port}>
Content-Length: 0

"
        ));
        send(&ua, edge.internal, &text);
        receive(&ua)
    };
    for (call, vias, record_routes) in [("vias", 300, 0), ("record-routes", 0, 400)] {
        let answer = request(call, vias, record_routes);
        assert!(answer.starts_with("SIP/2.0 513"), "{call}: {answer}");
        assert!(
            header(&answer, "Warning")[0].contains("line limit"),
            "{answer}"
        );
    }
    assert!(!has_pending(&edge.far), "an oversized request was sent");

    let answer_to = |call| {
        let arrived = receive(&edge.far);
        assert!(arrived.contains(&format!("Call-ID: {call}")), "{arrived}");
        assert_eq!(header(&arrived, "Via").len(), 1, "{arrived}");
        let far = port_of(&edge.far);
        send(
            &edge.far,
            edge.external_udp,
            &reply(
                &arrived,
                "486 Busy Here",
                "b1",
                &format!("Contact: <sip:bob@127.0.0.1:{far}>\n"),
            ),
        );
    };
    // Five of each fit: the request goes out and its answer comes back to the caller.
    let answer = std::thread::scope(|scope| {
        let sent = scope.spawn(|| request("few", 5, 5));
        answer_to("few");
        sent.join().unwrap()
    });
    assert!(answer.starts_with("SIP/2.0 486"), "{answer}");
}

/// A UDP socket on another loopback address, so Legate sees it as a source of its own.
fn udp_socket_at(ip: &str) -> UdpSocket {
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    socket
}

/// A TCP connection to 127.0.0.1:`port` from the loopback address `ip`.
fn tcp_from(ip: &str, port: u16) -> std::net::TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: std::net::SocketAddr = format!("{ip}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    let remote: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    socket.connect(&remote.into()).unwrap();
    let stream: std::net::TcpStream = socket.into();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Whether Legate closed `stream` (end of stream or reset), reading up to its read timeout.
fn closed_by_legate(stream: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) => {
                return !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

/// A MESSAGE from `socket` to `target`, as text.
fn message_from(socket: &UdpSocket, call: &str, target: &str) -> String {
    format!(
        "MESSAGE sip:{target} SIP/2.0
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call};rport
Max-Forwards: 70
From: <sip:bob@partner.example>;tag=p1
To: <sip:{target}>
Call-ID: {call}
CSeq: 1 MESSAGE
Content-Length: 0

",
        local = socket.local_addr().unwrap()
    )
}

/// Sends a request the way a user agent does over UDP (Timer E: again after 500 ms without
/// an answer, six tries) and returns the final answer's status line, or `None` after the last
/// try.
fn request_like_a_user_agent(socket: &UdpSocket, port: u16, message: &str) -> Option<String> {
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    for _ in 0..6 {
        send(socket, port, message);
        let mut buffer = vec![0u8; 65535];
        while let Ok((len, _)) = socket.recv_from(&mut buffer) {
            let text = String::from_utf8_lossy(&buffer[..len]).into_owned();
            if !text.starts_with("SIP/2.0 1") {
                return text.lines().next().map(str::to_string);
            }
        }
    }
    None
}

/// One source floods the external UDP listener with many times the messages its limit
/// allows, while another sends at a normal rate: the normal one is answered every time, and
/// the flooder is banned with its transactions held under the cap.
#[test]
fn a_udp_flood_from_one_source_leaves_another_unharmed() {
    const FLOOD: usize = 20_000;
    let edge = Edge::new();
    let proxy = "  edge: { per_source: { requests_per_second: 50, burst: 100, ban_for: 60s, \
                 max_transactions: 150 } }\n";
    let legate = Legate::start(&edge.config(proxy), edge.admin);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        // The IM server answers whatever reaches it.
        scope.spawn(|| {
            edge.im
                .set_read_timeout(Some(std::time::Duration::from_millis(100)))
                .unwrap();
            let mut buffer = vec![0u8; 65535];
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok((len, _)) = edge.im.recv_from(&mut buffer) {
                    let request = String::from_utf8_lossy(&buffer[..len]).into_owned();
                    if request.starts_with("MESSAGE") {
                        send(
                            &edge.im,
                            edge.internal,
                            &reply(&request, "200 OK", "i1", ""),
                        );
                    }
                }
            }
        });
        let flooder = scope.spawn(|| {
            let socket = udp_socket_at("127.0.0.2");
            for n in 0..FLOOD {
                let message =
                    message_from(&socket, &format!("flood-{n}"), "nobody@nowhere.example");
                send(&socket, edge.external_udp, &message);
            }
        });
        let normal = udp_socket_at("127.0.0.3");
        let mut failures = Vec::new();
        for n in 0..40 {
            let message = message_from(&normal, &format!("normal-{n}"), "alice@acme.example");
            match request_like_a_user_agent(&normal, edge.external_udp, &message) {
                Some(status) if status.starts_with("SIP/2.0 200") => {}
                other => failures.push((n, other)),
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        flooder.join().unwrap();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(
            failures.is_empty(),
            "the normal source failed: {failures:?}"
        );
    });
    let bans = legate.metric("legate_edge_bans_total").unwrap_or(0.0);
    assert!(bans >= 1.0, "the flooder was not banned");
    let dropped = legate
        .metric("legate_edge_messages_dropped_total{reason=\"banned\"}")
        .unwrap_or(0.0);
    assert!(
        dropped > 1000.0,
        "only {dropped} messages dropped as banned"
    );
    let held = legate
        .metric("legate_edge_transactions_active")
        .unwrap_or(f64::MAX);
    assert!(held <= 150.0 + 40.0, "{held} transactions held");
}

/// One source opens connections up to its cap: the next is closed at accept, and a partner
/// from another address still connects and is served.
#[test]
fn a_connection_flood_from_one_source_leaves_room_for_partners() {
    let edge = Edge::new();
    let proxy = "  edge: { per_source: { max_connections: 8 } }\n";
    let legate = Legate::start(&edge.config(proxy), edge.admin);
    let held: Vec<_> = (0..8)
        .map(|_| tcp_from("127.0.0.2", edge.external_tcp))
        .collect();
    // Legate has taken them all once the gauge says so.
    for _ in 0..200 {
        if legate.metric("legate_edge_connections_active") == Some(8.0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(legate.metric("legate_edge_connections_active"), Some(8.0));
    let mut over = tcp_from("127.0.0.2", edge.external_tcp);
    assert!(
        closed_by_legate(&mut over),
        "a ninth connection stayed open"
    );
    assert_eq!(
        legate.metric("legate_edge_connections_refused_total{limit=\"per_source\"}"),
        Some(1.0)
    );

    let partner = tcp_from("127.0.0.3", edge.external_tcp);
    let mut connection = SipConnection::new(partner);
    let message = "MESSAGE sip:alice@acme.example SIP/2.0\r\n\
                   Via: SIP/2.0/TCP 127.0.0.3:9;branch=z9hG4bK-partner\r\n\
                   Max-Forwards: 70\r\n\
                   From: <sip:bob@partner.example>;tag=p1\r\n\
                   To: <sip:alice@acme.example>\r\n\
                   Call-ID: partner-over-tcp\r\n\
                   CSeq: 1 MESSAGE\r\n\
                   Content-Length: 0\r\n\r\n";
    connection.send(message.as_bytes()).unwrap();
    let inside = receive(&edge.im);
    assert!(inside.starts_with("MESSAGE "), "{inside}");
    send(&edge.im, edge.internal, &reply(&inside, "200 OK", "i1", ""));
    let answer = connection.receive().message();
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    drop(held);
}

/// A message whose header section trickles in byte by byte (slowloris), and one whose body
/// never comes, are cut off at their deadlines, not the idle timeout.
#[test]
fn slow_headers_and_withheld_bodies_are_closed_at_their_deadlines() {
    use std::io::Write;
    let edge = Edge::new();
    let proxy = "  edge: { streams: { header_timeout: 1s, body_timeout: 1s } }\n";
    let legate = Legate::start(&edge.config(proxy), edge.admin);

    let mut slow = tcp_from("127.0.0.2", edge.external_tcp);
    slow.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let head = b"MESSAGE sip:alice@acme.example SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2:9;branch=z9hG4bK-slow\r\nX-Padding: ";
    let mut closed = false;
    // One byte every 200 ms, each resetting an idle timer: at most 100 (20 s) before giving up.
    for byte in head.iter().chain(std::iter::repeat(&b'a')).take(100) {
        if slow.write_all(&[*byte]).is_err() || closed_by_legate(&mut slow) {
            closed = true;
            break;
        }
    }
    assert!(closed, "a trickling header kept its connection");

    let mut withheld = tcp_from("127.0.0.3", edge.external_tcp);
    let message = "MESSAGE sip:alice@acme.example SIP/2.0\r\n\
                   Via: SIP/2.0/TCP 127.0.0.3:9;branch=z9hG4bK-withheld\r\n\
                   Max-Forwards: 70\r\n\
                   From: <sip:bob@partner.example>;tag=p1\r\n\
                   To: <sip:alice@acme.example>\r\n\
                   Call-ID: withheld\r\n\
                   CSeq: 1 MESSAGE\r\n\
                   Content-Length: 100\r\n\r\nonly ten b";
    withheld.write_all(message.as_bytes()).unwrap();
    assert!(
        closed_by_legate(&mut withheld),
        "a withheld body kept its connection"
    );
    assert!(
        !has_pending(&edge.im),
        "a partial message reached the inside"
    );
    for phase in ["header", "body"] {
        let missed = format!("legate_edge_stream_deadlines_missed_total{{phase=\"{phase}\"}}");
        assert_eq!(legate.metric(&missed), Some(1.0), "{phase}");
    }
}

/// INVITEs from a forged source address that never acknowledges: Legate's answers and their
/// retransmissions (Timer G) to that address stay within three times what it sent (plus one
/// transaction's worth), instead of the many times an unanswered INVITE used to draw.
#[test]
fn answers_to_an_unacknowledging_source_do_not_amplify() {
    let edge = Edge::new();
    let legate = Legate::start(&edge.config(""), edge.admin);
    let victim = udp_socket_at("127.0.0.4");
    let mut sent = 0;
    for n in 0..10 {
        let invite = message_from(&victim, &format!("reflect-{n}"), "nobody@nowhere.example")
            .replace("MESSAGE", "INVITE");
        sent += invite.replace('\n', "\r\n").len();
        send(&victim, edge.external_udp, &invite);
    }
    // All ten transactions started, then all ended (Timer H) once none is active.
    let active = || legate.metric("legate_edge_transactions_active");
    for wanted in [10.0, 0.0] {
        for _ in 0..400 {
            if active() == Some(wanted) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(active(), Some(wanted));
    }
    let mut received = 0;
    let mut answers = 0;
    victim.set_nonblocking(true).unwrap();
    let mut buffer = vec![0u8; 65535];
    while let Ok((len, _)) = victim.recv_from(&mut buffer) {
        received += len;
        answers += 1;
    }
    assert!(
        answers >= 10,
        "each INVITE is answered at least once: {answers}"
    );
    assert!(
        received <= 3 * sent + 2048,
        "{received} bytes answered to {sent} bytes sent"
    );
    assert!(
        legate
            .metric("legate_edge_answers_dropped_total")
            .unwrap_or(0.0)
            > 0.0
    );
}
