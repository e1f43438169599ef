//! Address mapping and topology hiding end to end: an organisation whose users are
//! `…@corp.internal` inside federates as `acme.example`. Both ends are raw UDP sockets of the
//! test, so everything that crosses to the partner is captured and searched for internal names.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::net::UdpSocket;
use std::time::Duration;

use legate_e2e::config::config_head;
use legate_e2e::raw_sip::{
    header, port_of as port, receive, reply, request_uri, send, udp_socket as socket,
};
use legate_e2e::{free_port, Legate};

/// Names that exist only inside the organisation; none may reach the partner.
const INTERNAL_NAMES: [&str; 3] = ["corp.internal", "a.smith", "im1"];

struct Setup {
    internal: u16,
    external: u16,
    admin: u16,
    /// The internal IM server (and user agents) and the partner, as raw sockets.
    im: UdpSocket,
    partner: UdpSocket,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            internal: free_port(),
            external: free_port(),
            admin: free_port(),
            im: socket(),
            partner: socket(),
        }
    }

    fn config(&self) -> String {
        let translation = "      - name: legate.filters.sip.translation
        config:
          address_mapping:
            - { internal: corp.internal, external: acme.example }
            - { internal: a.smith@corp.internal, external: alice@acme.example }
";
        format!(
            "{head}
listeners:
  - name: internal
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
{translation}      - name: legate.filters.sip.router
  - name: external
    address: \"127.0.0.1:{external}\"
    transport: udp
    side: external
    filters:
{translation}      - name: legate.filters.sip.router
routes:
  - name: to-partner
    match: {{ domain: partner.example, side: internal }}
    cluster: partner
  - name: to-im
    match: {{ domain: corp.internal, side: external }}
    cluster: im
clusters:
  - name: partner
    transport: udp
    endpoints: [\"127.0.0.1:{partner}\"]
  - name: im
    transport: udp
    endpoints: [\"127.0.0.1:{im}\"]
",
            head = config_head(self.admin),
            internal = self.internal,
            external = self.external,
            partner = port(&self.partner),
            im = port(&self.im),
        )
    }

    /// What could betray the inside: its names, and the ports of the internal listener and
    /// the internal IM server (every host here is 127.0.0.1, so ports are what tell them apart).
    fn assert_nothing_internal(&self, captured: &str) {
        for name in INTERNAL_NAMES {
            assert!(!captured.contains(name), "`{name}` leaked:\n{captured}");
        }
        for port in [self.internal, port(&self.im)] {
            assert!(
                !captured.contains(&format!(":{port}")),
                "internal port {port} leaked:\n{captured}"
            );
        }
    }
}

#[test]
fn a_call_out_shows_the_partner_federated_addresses_and_no_internal_host() {
    let s = Setup::new();
    let _legate = Legate::start(&s.config(), s.admin);
    let ua = port(&s.im);
    let invite = format!(
        "INVITE sip:bob@partner.example SIP/2.0
Via: SIP/2.0/UDP im1.corp.internal:{ua};branch=z9hG4bK-out-1;rport
Max-Forwards: 70
From: \"A. Smith\" <sip:a.smith@corp.internal>;tag=u1
To: <sip:bob@partner.example>
Call-ID: out-1
CSeq: 1 INVITE
Contact: <sip:a.smith@127.0.0.1:{ua}>
P-Asserted-Identity: <sip:a.smith@corp.internal>
Warning: 399 im1.corp.internal \"internal note\"
Content-Length: 0

"
    );
    send(&s.im, s.internal, &invite);

    // The partner sees the federated identity, one Via, Legate's Contact and route entry.
    let arrived = receive(&s.partner);
    s.assert_nothing_internal(&arrived);
    assert_eq!(
        header(&arrived, "From"),
        ["\"A. Smith\" <sip:alice@acme.example>;tag=u1"]
    );
    assert_eq!(
        header(&arrived, "P-Asserted-Identity"),
        ["<sip:alice@acme.example>"]
    );
    assert_eq!(header(&arrived, "Via").len(), 1, "{arrived}");
    assert_eq!(header(&arrived, "Record-Route").len(), 1, "{arrived}");
    assert!(header(&arrived, "Warning").is_empty(), "{arrived}");
    let contact = header(&arrived, "Contact")[0];
    assert!(
        contact.contains(&format!("127.0.0.1:{};", s.external)),
        "{contact}"
    );

    let record_route = header(&arrived, "Record-Route")[0].to_string();
    let partner = port(&s.partner);
    send(
        &s.partner,
        s.external,
        &reply(
            &arrived,
            "200 OK",
            "p1",
            &format!("Record-Route: {record_route}\nContact: <sip:bob@127.0.0.1:{partner}>\n"),
        ),
    );

    // The caller gets its own From back, and the full route set (both of Legate's entries).
    let answer = receive(&s.im);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert_eq!(
        header(&answer, "From"),
        ["\"A. Smith\" <sip:a.smith@corp.internal>;tag=u1"]
    );
    assert_eq!(header(&answer, "Record-Route").len(), 2, "{answer}");
    assert_eq!(header(&answer, "Via").len(), 1, "{answer}");
    assert!(
        header(&answer, "Via")[0].contains("im1.corp.internal"),
        "{answer}"
    );

    // The partner hangs up: to the Contact and through the route it was given.
    let contact_uri = contact.trim_start_matches('<').split('>').next().unwrap();
    let bye = format!(
        "BYE {contact_uri} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{partner};branch=z9hG4bK-bye-1;rport
Max-Forwards: 70
Route: {record_route}
From: <sip:bob@partner.example>;tag=p1
To: \"A. Smith\" <sip:alice@acme.example>;tag=u1
Call-ID: out-1
CSeq: 1 BYE
Content-Length: 0

"
    );
    send(&s.partner, s.external, &bye);
    let bye_inside = receive(&s.im);
    assert_eq!(
        request_uri(&bye_inside),
        format!("sip:a.smith@127.0.0.1:{ua}")
    );
    assert_eq!(
        header(&bye_inside, "To"),
        ["\"A. Smith\" <sip:a.smith@corp.internal>;tag=u1"]
    );
    send(
        &s.im,
        s.internal,
        &reply(
            &bye_inside,
            "200 OK",
            "",
            "Warning: 399 im1.corp.internal \"bye\"\n",
        ),
    );
    let bye_answer = receive(&s.partner);
    assert!(bye_answer.starts_with("SIP/2.0 200"), "{bye_answer}");
    assert_eq!(
        header(&bye_answer, "To"),
        ["\"A. Smith\" <sip:alice@acme.example>;tag=u1"]
    );
    s.assert_nothing_internal(&bye_answer);
}

#[test]
fn a_message_in_reaches_the_internal_address_and_its_answer_leaves_federated() {
    let s = Setup::new();
    let _legate = Legate::start(&s.config(), s.admin);
    let partner = port(&s.partner);
    let message = format!(
        "MESSAGE sip:alice@acme.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{partner};branch=z9hG4bK-in-1;rport
Max-Forwards: 70
From: <sip:bob@partner.example>;tag=p2
To: <sip:alice@acme.example>
Call-ID: in-1
CSeq: 1 MESSAGE
Content-Length: 0

"
    );
    send(&s.partner, s.external, &message);

    let inside = receive(&s.im);
    assert_eq!(request_uri(&inside), "sip:a.smith@corp.internal");
    assert_eq!(header(&inside, "To"), ["<sip:a.smith@corp.internal>"]);
    assert_eq!(
        header(&inside, "From"),
        ["<sip:bob@partner.example>;tag=p2"]
    );
    let im = port(&s.im);
    send(
        &s.im,
        s.internal,
        &reply(
            &inside,
            "200 OK",
            "i2",
            &format!(
                "Contact: <sip:a.smith@im1.corp.internal:{im}>\nP-Asserted-Identity: <sip:a.smith@corp.internal>\nWarning: 399 im1.corp.internal \"delivered\"\n"
            ),
        ),
    );

    let answer = receive(&s.partner);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    s.assert_nothing_internal(&answer);
    assert_eq!(header(&answer, "To"), ["<sip:alice@acme.example>;tag=i2"]);
    assert_eq!(
        header(&answer, "P-Asserted-Identity"),
        ["<sip:alice@acme.example>"]
    );
    assert!(header(&answer, "Contact")[0].contains(&format!("127.0.0.1:{}", s.external)));
}

#[test]
fn forged_hidden_state_is_refused_and_never_reaches_inside() {
    let s = Setup::new();
    let _legate = Legate::start(&s.config(), s.admin);
    let partner = port(&s.partner);
    let external = s.external;
    for (n, (uri, route)) in [
        // A Contact token Legate never wrote.
        (
            format!("sip:lg@127.0.0.1:{external};transport=udp;lgc=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            String::new(),
        ),
        // A hidden route set Legate never sealed, on a route entry of Legate's.
        (
            "sip:bob@acme.example".to_string(),
            format!("Route: <sip:127.0.0.1:{external};transport=udp;lr;lgh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA>\n"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let bye = format!(
            "BYE {uri} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{partner};branch=z9hG4bK-forged-{n};rport
Max-Forwards: 70
{route}From: <sip:bob@partner.example>;tag=p3
To: <sip:alice@acme.example>;tag=x
Call-ID: forged-{n}
CSeq: 1 BYE
Content-Length: 0

"
        );
        send(&s.partner, s.external, &bye);
        let answer = receive(&s.partner);
        assert!(answer.starts_with("SIP/2.0 403"), "{answer}");
    }
    s.im.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buffer = [0u8; 2048];
    assert!(
        s.im.recv_from(&mut buffer).is_err(),
        "a forged request got inside"
    );
}
