//! The setup every hostile test shares: one Legate with an internal listener and external UDP,
//! TCP and TLS listeners, the IM server and a victim host as raw sockets, partners that record
//! what they receive, and helpers to speak from other loopback addresses.

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use legate_e2e::config::config_head;
use legate_e2e::raw_sip::{has_pending, header, port_of, receive, reply, send, udp_socket, uri_in};
use legate_e2e::stream::SipConnection;
use legate_e2e::tls::{tls_connect, Ca, TlsStream};
use legate_e2e::{free_port, Legate};

/// Names that exist only inside Legate's config; none may reach a partner.
pub(crate) const LISTENER_NAMES: [&str; 4] =
    ["inside-lsn", "edge-udp-lsn", "edge-tcp-lsn", "edge-tls-lsn"];

/// An internal host a partner would like to reach through Legate: nothing may arrive on it.
pub(crate) struct Victim {
    pub(crate) udp: UdpSocket,
    pub(crate) tcp: TcpListener,
}

impl Victim {
    pub(crate) fn new() -> Victim {
        loop {
            let udp = udp_socket();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port_of(&udp))) {
                tcp.set_nonblocking(true).unwrap();
                return Victim { udp, tcp };
            }
        }
    }

    pub(crate) fn port(&self) -> u16 {
        port_of(&self.udp)
    }

    /// Nothing reached it, over either transport. Called after Legate answered the request
    /// that tried: Legate forwards before it answers, so there is nothing left to wait for.
    pub(crate) fn assert_untouched(&self) {
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
pub(crate) struct Edge {
    /// Holds the CA's files for as long as the setup lives.
    _dir: tempfile::TempDir,
    pub(crate) ca: Ca,
    pub(crate) admin: u16,
    pub(crate) internal: u16,
    pub(crate) external_udp: u16,
    pub(crate) external_tls: u16,
    pub(crate) external_tcp: u16,
    pub(crate) im: UdpSocket,
    /// A partner's server that Legate sends to (`partner.example`, from the internal side).
    pub(crate) far: UdpSocket,
    pub(crate) victim: Victim,
}

impl Edge {
    pub(crate) fn new() -> Edge {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "hostile");
        Edge {
            _dir: dir,
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

    pub(crate) fn config(&self, proxy_extra: &str) -> String {
        let server = self.ca.server("legate");
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
    pub(crate) fn udp_partner(&self) -> Partner {
        Partner::Udp {
            socket: udp_socket(),
            legate: self.external_udp,
            seen: Vec::new(),
        }
    }

    /// A partner over mutual TLS with a certificate for `partner.example`.
    pub(crate) fn tls_partner(&self) -> Partner {
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
    pub(crate) fn assert_nothing_internal(&self, seen: &[String]) {
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
pub(crate) enum Partner {
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
    pub(crate) fn via(&self, branch: &str) -> String {
        match self {
            Partner::Udp { socket, .. } => format!(
                "SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK-{branch};rport",
                port_of(socket)
            ),
            Partner::Tls { .. } => format!("SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-{branch}"),
        }
    }

    pub(crate) fn send(&mut self, message: &str) {
        match self {
            Partner::Udp { socket, legate, .. } => send(socket, *legate, message),
            Partner::Tls { connection, .. } => connection
                .send(message.replace('\n', "\r\n").as_bytes())
                .unwrap(),
        }
    }

    /// The next message other than `100 Trying`.
    pub(crate) fn receive(&mut self) -> String {
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

    pub(crate) fn seen(&self) -> &[String] {
        match self {
            Partner::Udp { seen, .. } | Partner::Tls { seen, .. } => seen,
        }
    }

    /// Sends `method` to `uri` and returns the final answer's status line.
    pub(crate) fn request(&mut self, method: &str, uri: &str, call: &str, headers: &str) -> String {
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
pub(crate) struct Dialog {
    pub(crate) call: String,
    pub(crate) record_route: String,
    pub(crate) contact: String,
}

impl Dialog {
    /// The partner's next request in the dialog: to the Contact Legate gave it, along the
    /// route Legate recorded.
    pub(crate) fn request(&self, method: &str, cseq: u32, via: &str) -> String {
        format!(
            "{method} {contact} SIP/2.0
Via: {via}
Max-Forwards: 70
Route: {route}
From: <sip:bob@partner.example>;tag=p1
To: <sip:alice@acme.example>;tag=a1
Call-ID: {call}
CSeq: {cseq} {method}
Content-Length: 0

",
            contact = self.contact,
            route = self.record_route,
            call = self.call,
        )
    }
}

/// The partner calls alice@acme.example; the IM server answers 200 from its own address.
pub(crate) fn establish(edge: &Edge, partner: &mut Partner, call: &str) -> Dialog {
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
    let ack = dialog.request("ACK", 1, &partner.via(&format!("{call}-ack")));
    partner.send(&ack);
    let inside = receive(&edge.im);
    assert!(inside.starts_with("ACK "), "{inside}");
    dialog
}

/// A UDP socket on another loopback address, so Legate sees it as a source of its own.
pub(crate) fn udp_socket_at(ip: &str) -> UdpSocket {
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    socket
}

/// A TCP connection to 127.0.0.1:`port` from the loopback address `ip`.
pub(crate) fn tcp_from(ip: &str, port: u16) -> std::net::TcpStream {
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
pub(crate) fn closed_by_legate(stream: &mut std::net::TcpStream) -> bool {
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
pub(crate) fn message_from(socket: &UdpSocket, call: &str, target: &str) -> String {
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
pub(crate) fn request_like_a_user_agent(
    socket: &UdpSocket,
    port: u16,
    message: &str,
) -> Option<String> {
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

/// Waits (at most 20 s) until `legate`'s metric `name` reads `wanted`, and says whether it did.
pub(crate) fn wait_for_metric(legate: &Legate, name: &str, wanted: f64) -> bool {
    for _ in 0..400 {
        if legate.metric(name) == Some(wanted) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
