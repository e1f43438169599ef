//! A partner's concurrent dialogs held to its `limits` end to end, over real TLS: a partner at
//! `max_sessions` or `max_subscriptions_per_user` is told to wait (503, Retry-After), and gets
//! its slot back when the dialog ends, whichever side ends it.
//!
//! The partner is the test itself on a TLS connection with its client certificate; the
//! organisation's IM server is a UDP socket the test answers from, so the test can also end a
//! dialog from the inside.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use legate_e2e::config::config_head;
use legate_e2e::stream::{Received, SipConnection};
use legate_e2e::tls::{tls_connect, Ca, TlsStream};
use legate_e2e::{free_port, Legate};

/// The value of header `name` in `message` (first line of it), if any.
fn header(message: &str, name: &str) -> Option<String> {
    message.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

/// Every line of header `name`, whole (`Via: …`), in order.
fn lines_of(message: &str, name: &str) -> Vec<String> {
    message
        .lines()
        .filter(|line| {
            line.split_once(':')
                .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        })
        .map(str::to_string)
        .collect()
}

/// The Record-Route entries of `message`, one per URI, in order.
fn record_routes(message: &str) -> Vec<String> {
    lines_of(message, "Record-Route")
        .iter()
        .filter_map(|line| line.split_once(':').map(|(_, value)| value.to_string()))
        .flat_map(|value| {
            value
                .split(">,")
                .map(|entry| entry.trim().trim_end_matches('>').to_string() + ">")
                .collect::<Vec<_>>()
        })
        .collect()
}

fn status_line(message: &str) -> &str {
    message.lines().next().unwrap_or_default()
}

/// The organisation's IM server: answers what Legate forwards to it, and can end a dialog.
struct ImServer {
    socket: UdpSocket,
}

impl ImServer {
    fn bind(port: u16) -> ImServer {
        let socket = UdpSocket::bind(("127.0.0.1", port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        ImServer { socket }
    }

    fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    /// The next message from Legate starting with `start` for Call-ID `call`, skipping others
    /// (ACKs, retransmissions).
    fn expect(&self, start: &str, call: &str) -> (String, SocketAddr) {
        let mut buffer = vec![0u8; 65536];
        loop {
            let (len, from) = self
                .socket
                .recv_from(&mut buffer)
                .unwrap_or_else(|e| panic!("the IM server waited in vain for {start} {call}: {e}"));
            let text = String::from_utf8_lossy(&buffer[..len]).into_owned();
            let call_id = header(&text, "Call-ID").unwrap_or_default();
            if text.starts_with(start) && call_id.starts_with(call) {
                return (text, from);
            }
        }
    }

    /// Accepts the dialog-creating `request`: 200 with a To tag, the Record-Route echoed.
    fn accept(&self, request: &str, to: SocketAddr, call: &str, extra: &str) {
        self.respond("200 OK", request, to, call, extra);
    }

    /// Answers `request` with `status` (code and reason).
    fn respond(&self, status: &str, request: &str, to: SocketAddr, call: &str, extra: &str) {
        let mut response = format!("SIP/2.0 {status}\r\n");
        for line in lines_of(request, "Via")
            .into_iter()
            .chain(lines_of(request, "Record-Route"))
        {
            response.push_str(&line);
            response.push_str("\r\n");
        }
        for name in ["From", "Call-ID", "CSeq"] {
            response.push_str(&format!("{name}: {}\r\n", header(request, name).unwrap()));
        }
        let request_to = header(request, "To").unwrap();
        let to_value = if request_to.contains("tag=") {
            request_to
        } else {
            format!("{request_to};tag=im-{call}")
        };
        response.push_str(&format!(
            "To: {to_value}\r\nContact: <sip:alice@127.0.0.1:{}>\r\n{extra}Content-Length: 0\r\n\r\n",
            self.port()
        ));
        self.socket.send_to(response.as_bytes(), to).unwrap();
    }

    /// Ends the dialog `request` set up, from the inside: `method` (BYE, or a NOTIFY with
    /// `extra` saying the subscription is terminated) along its Record-Route to Legate's
    /// internal listener.
    fn end_dialog(&self, method: &str, request: &str, call: &str, internal: u16, extra: &str) {
        let routes: String = record_routes(request)
            .iter()
            .map(|route| format!("Route: {route}\r\n"))
            .collect();
        let ending = format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{method}-{call}\r\n\
             Max-Forwards: 70\r\n\
             {routes}\
             From: <sip:alice@acme.example>;tag=im-{call}\r\n\
             To: {partner}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 2 {method}\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            target = contact_uri(request),
            port = self.port(),
            partner = header(request, "From").unwrap(),
            call_id = header(request, "Call-ID").unwrap(),
        );
        self.socket
            .send_to(ending.as_bytes(), ("127.0.0.1", internal))
            .unwrap();
    }
}

/// The URI of `message`'s Contact.
fn contact_uri(message: &str) -> String {
    let contact = header(message, "Contact").unwrap();
    let start = contact.find('<').map_or(0, |i| i + 1);
    let end = contact.find('>').unwrap_or(contact.len());
    contact[start..end].to_string()
}

/// The federation partner: one TLS connection, presenting its client certificate.
struct Partner {
    connection: SipConnection<TlsStream>,
}

impl Partner {
    fn connect(gateway: &Gateway) -> Partner {
        let client = gateway.ca.client("partner.example");
        Partner {
            connection: SipConnection::new(tls_connect(
                gateway.external,
                &gateway.ca,
                Some(&client),
            )),
        }
    }

    /// Sends a new dialog-creating `method` from `user` to alice.
    fn open(&mut self, method: &str, user: &str, call: &str) {
        let subscription = if method == "SUBSCRIBE" {
            "Event: presence\r\nExpires: 600\r\n"
        } else {
            ""
        };
        let request = format!(
            "{method} sip:alice@acme.example SIP/2.0\r\n\
             Via: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@partner.example>;tag=f-{call}\r\n\
             To: <sip:alice@acme.example>\r\n\
             Call-ID: {call}@partner.example\r\n\
             CSeq: 1 {method}\r\n\
             Contact: <sip:{user}@127.0.0.1:9;transport=tls>\r\n\
             {subscription}Content-Length: 0\r\n\r\n"
        );
        self.connection.send(request.as_bytes()).unwrap();
    }

    /// Sends `method` inside the dialog `ok` (the 2xx that set it up) answered.
    fn in_dialog(&mut self, method: &str, ok: &str, cseq: u32, extra: &str) {
        let routes: String = record_routes(ok)
            .iter()
            .rev()
            .map(|route| format!("Route: {route}\r\n"))
            .collect();
        let call_id = header(ok, "Call-ID").unwrap();
        let call = call_id.split('@').next().unwrap_or_default();
        let request = format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-{method}-{cseq}-{call}\r\n\
             Max-Forwards: 70\r\n\
             {routes}\
             From: {from}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            target = contact_uri(ok),
            from = header(ok, "From").unwrap(),
            to = header(ok, "To").unwrap(),
        );
        self.connection.send(request.as_bytes()).unwrap();
    }

    fn final_response(&mut self) -> String {
        loop {
            let message = self.connection.receive().message();
            if !message.starts_with("SIP/2.0 1") {
                return message;
            }
        }
    }

    /// Answers the next request that comes down the connection (skipping responses) with 200.
    fn answer_next(&mut self, method: &str) {
        let request = loop {
            match self.connection.receive() {
                Received::Message(text) if text.starts_with(method) => break text,
                Received::Message(_) => continue,
                other => panic!("the partner waited in vain for {method}: {other:?}"),
            }
        };
        let mut response = String::from("SIP/2.0 200 OK\r\n");
        for line in lines_of(&request, "Via") {
            response.push_str(&line);
            response.push_str("\r\n");
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            response.push_str(&format!("{name}: {}\r\n", header(&request, name).unwrap()));
        }
        response.push_str("Content-Length: 0\r\n\r\n");
        self.connection.send(response.as_bytes()).unwrap();
    }
}

/// Legate with a TLS listener for the partner and a UDP one for the IM server.
struct Gateway {
    _dir: tempfile::TempDir,
    ca: Ca,
    external: u16,
    internal: u16,
    legate: Legate,
    im: ImServer,
}

impl Gateway {
    fn start(limits: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "limits");
        let server = ca.server("legate");
        let (external, internal, admin) = (free_port(), free_port(), free_port());
        let im = ImServer::bind(free_port());
        let config = format!(
            "{head}
listeners:
  - name: external
    address: \"127.0.0.1:{external}\"
    transport: tls
    side: external
    tls: {{ certificate: \"{cert}\", private_key: \"{key}\", client_ca: \"{ca}\" }}
    filters:
      - name: legate.filters.sip.authn
        config: {{ local_domains: [acme.example] }}
      - name: legate.filters.sip.peer_limits
      - name: legate.filters.sip.router
  - name: internal
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.authn
        config: {{ local_domains: [acme.example], trusted_sources: [127.0.0.0/8] }}
      - name: legate.filters.sip.router
routes:
  - {{ name: to-acme, match: {{ domain: acme.example, side: external }}, cluster: im }}
clusters:
  - {{ name: im, transport: udp, endpoints: [\"127.0.0.1:{im}\"] }}
peers:
  - name: partner
    domains: [partner.example]
    reach: {{ address: \"127.0.0.1:5999\" }}
    trust_bundle: \"{ca}\"
    limits: {limits}
",
            head = config_head(admin),
            im = im.port(),
            cert = server.certificate.display(),
            key = server.private_key.display(),
            ca = ca.pem.display(),
        );
        let legate = Legate::start(&config, admin);
        Gateway {
            _dir: dir,
            ca,
            external,
            internal,
            legate,
            im,
        }
    }

    /// The partner opens `method` from `user`; the IM server accepts it. Returns the request as
    /// the IM server saw it and the 2xx as the partner saw it.
    fn establish(
        &self,
        partner: &mut Partner,
        method: &str,
        user: &str,
        call: &str,
    ) -> (String, String) {
        partner.open(method, user, call);
        let extra = if method == "SUBSCRIBE" {
            "Expires: 600\r\n"
        } else {
            ""
        };
        let request = self.accept(method, call, extra);
        let ok = partner.final_response();
        assert!(
            ok.starts_with("SIP/2.0 200 "),
            "{method} {call} should be established: {}",
            status_line(&ok)
        );
        (request, ok)
    }

    /// The IM server accepts the next `method` of `call` with a 200 carrying `extra`.
    fn accept(&self, method: &str, call: &str, extra: &str) -> String {
        let (request, from) = self.im.expect(method, call);
        self.im.accept(&request, from, call, extra);
        request
    }

    /// The IM server ends the dialog `request` set up with `method`; the partner accepts it.
    fn end_from_inside(
        &self,
        method: &str,
        request: &str,
        call: &str,
        extra: &str,
        partner: &mut Partner,
    ) {
        self.im
            .end_dialog(method, request, call, self.internal, extra);
        partner.answer_next(method);
        let (answer, _) = self.im.expect("SIP/2.0", call);
        assert!(answer.starts_with("SIP/2.0 200 "), "{method}: {answer}");
    }

    /// `legate_peer_sessions_active` or `legate_peer_subscriptions_active` of the partner.
    fn active(&self, what: &str) -> Option<f64> {
        self.legate
            .metric(&format!("legate_peer_{what}_active{{peer=\"partner\"}}"))
    }

    fn refusals(&self, limit: &str) -> Option<f64> {
        self.legate.metric(&format!(
            "legate_peer_limit_refusals_total{{limit=\"{limit}\",peer=\"partner\"}}"
        ))
    }
}

/// A 503 telling the partner to wait, naming `limit` and nothing more.
fn assert_told_to_wait(response: &str, limit: &str) {
    assert!(
        response.starts_with("SIP/2.0 503 "),
        "expected 503 for {limit}: {response}"
    );
    assert!(
        header(response, "Retry-After").is_some_and(|v| v.parse::<u64>().is_ok()),
        "no Retry-After: {response}"
    );
    let warning = header(response, "Warning").unwrap_or_default();
    assert!(
        warning.contains(limit),
        "Warning should name {limit}: {warning}"
    );
}

#[test]
fn a_partner_at_max_sessions_waits_until_a_session_ends_from_either_side() {
    let gateway = Gateway::start("{ max_sessions: 1 }");
    let mut partner = Partner::connect(&gateway);

    let (invite, ok) = gateway.establish(&mut partner, "INVITE", "bob", "call1");
    partner.in_dialog("ACK", &ok, 1, "");
    assert_eq!(gateway.active("sessions"), Some(1.0));

    partner.open("INVITE", "bob", "call2");
    let refused = partner.final_response();
    assert_told_to_wait(&refused, "max_sessions");
    assert_eq!(gateway.refusals("max_sessions"), Some(1.0));

    // The organisation's side hangs up: the BYE never passes the partner's chain, and still
    // gives the slot back.
    gateway.end_from_inside("BYE", &invite, "call1", "", &mut partner);
    assert_eq!(gateway.active("sessions"), Some(0.0));

    let (_, ok) = gateway.establish(&mut partner, "INVITE", "bob", "call3");
    partner.in_dialog("ACK", &ok, 1, "");
    assert_eq!(gateway.refusals("max_sessions"), Some(1.0));

    // The IM server has lost this call (a restart, say) and answers the partner's BYE with 481:
    // the call is over all the same, and its slot comes back.
    partner.in_dialog("BYE", &ok, 2, "");
    let (bye, from) = gateway.im.expect("BYE", "call3");
    gateway.im.respond(
        "481 Call/Transaction Does Not Exist",
        &bye,
        from,
        "call3",
        "",
    );
    assert!(partner.final_response().starts_with("SIP/2.0 481 "));
    assert_eq!(gateway.active("sessions"), Some(0.0));
    gateway.establish(&mut partner, "INVITE", "bob", "call4");
}

#[test]
fn a_user_at_max_subscriptions_per_user_waits_while_other_users_subscribe() {
    let gateway = Gateway::start("{ max_subscriptions_per_user: 1 }");
    let mut partner = Partner::connect(&gateway);

    let (_, bob) = gateway.establish(&mut partner, "SUBSCRIBE", "bob", "sub1");
    partner.open("SUBSCRIBE", "bob", "sub2");
    let refused = partner.final_response();
    assert_told_to_wait(&refused, "max_subscriptions_per_user");
    let (carol, _) = gateway.establish(&mut partner, "SUBSCRIBE", "carol", "sub3");
    assert_eq!(gateway.active("subscriptions"), Some(2.0));

    // A refresh inside bob's subscription is not a new one: it passes at the limit.
    partner.in_dialog("SUBSCRIBE", &bob, 2, "Event: presence\r\nExpires: 600\r\n");
    gateway.accept("SUBSCRIBE", "sub1", "Expires: 600\r\n");
    let refreshed = partner.final_response();
    assert!(refreshed.starts_with("SIP/2.0 200 "), "{refreshed}");

    // Bob unsubscribes (Expires: 0): his slot comes back.
    partner.in_dialog("SUBSCRIBE", &bob, 3, "Event: presence\r\nExpires: 0\r\n");
    gateway.accept("SUBSCRIBE", "sub1", "Expires: 0\r\n");
    let unsubscribed = partner.final_response();
    assert!(unsubscribed.starts_with("SIP/2.0 200 "), "{unsubscribed}");
    gateway.establish(&mut partner, "SUBSCRIBE", "bob", "sub4");

    assert_eq!(gateway.refusals("max_subscriptions_per_user"), Some(1.0));
    assert_eq!(gateway.refusals("max_sessions"), Some(0.0));
    assert_eq!(gateway.active("subscriptions"), Some(2.0));

    // The IM server ends carol's subscription (NOTIFY, terminated): her slot comes back too.
    let terminated = "Event: presence\r\nSubscription-State: terminated;reason=noresource\r\n";
    gateway.end_from_inside("NOTIFY", &carol, "sub3", terminated, &mut partner);
    assert_eq!(gateway.active("subscriptions"), Some(1.0));
    gateway.establish(&mut partner, "SUBSCRIBE", "carol", "sub5");
}
