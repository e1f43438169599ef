//! Routing to federation partners end to end: a partner's servers are found in DNS (RFC 3263
//! NAPTR → SRV → A, served by a dnsmasq the test runs) or at a fixed address; Legate connects
//! over TLS asking for the partner's domain (SNI), verifies the partner's certificate against
//! that partner's trust bundle and domain, and presents its own domain certificate, the one of
//! its external listener. The partners are TLS servers in the test that write down what they saw.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::net::UdpSocket;
use std::time::Duration;

use legate_e2e::config::config_head;
use legate_e2e::dns::Dnsmasq;
use legate_e2e::partner::TlsPartner;
use legate_e2e::tls::{Ca, Issued};
use legate_e2e::{free_port, Legate};

/// Two organisations' worth of certificates: ours (acme.example) and the partners'.
struct Pki {
    dir: tempfile::TempDir,
    /// Issues our domain certificate.
    ours: Ca,
    /// What the partners' trust bundles hold.
    partners: Ca,
    /// A CA no trust bundle holds.
    stranger: Ca,
    /// acme.example's domain certificate, on Legate's external listener.
    domain: Issued,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ours = Ca::new(dir.path(), "acme");
        let partners = Ca::new(dir.path(), "partners");
        let stranger = Ca::new(dir.path(), "stranger");
        let domain = ours.domain("acme.example");
        Pki {
            dir,
            ours,
            partners,
            stranger,
            domain,
        }
    }

    /// A partner server whose certificate `partners` issued for `names`.
    fn partner(&self, names: &[&str]) -> TlsPartner {
        TlsPartner::start(&self.partners.server_for(names[0], names), &self.ours)
    }
}

/// One `peers` entry, and a route sending its domain to it.
struct Peer<'a> {
    name: &'a str,
    domain: &'a str,
    reach: String,
    trust_bundle: &'a Ca,
}

fn by_dns<'a>(pki: &'a Pki, name: &'a str, domain: &'a str) -> Peer<'a> {
    Peer {
        name,
        domain,
        reach: "{ dns: true }".into(),
        trust_bundle: &pki.partners,
    }
}

fn at<'a>(pki: &'a Pki, name: &'a str, domain: &'a str, partner: &TlsPartner) -> Peer<'a> {
    Peer {
        name,
        domain,
        reach: format!("{{ address: \"127.0.0.1:{}\" }}", partner.port),
        trust_bundle: &pki.partners,
    }
}

/// Legate with an internal UDP listener, an external TLS listener holding our domain
/// certificate, `peers` with their routes, and `dns`.
struct Gateway {
    legate: Legate,
    internal: u16,
}

impl Gateway {
    fn start(pki: &Pki, dns: &str, peers: &[Peer<'_>]) -> Gateway {
        let (internal, admin) = (free_port(), free_port());
        let mut routes = String::from("routes:\n");
        let mut peer_section = String::from("peers:\n");
        for Peer {
            name,
            domain,
            reach,
            trust_bundle,
        } in peers
        {
            routes.push_str(&format!(
                "  - {{ name: to-{name}, match: {{ domain: {domain}, side: internal }}, peer: {name} }}\n"
            ));
            peer_section.push_str(&format!(
                "  - {{ name: {name}, domains: [{domain}], reach: {reach}, trust_bundle: \"{}\" }}\n",
                trust_bundle.pem.display()
            ));
        }
        let config = format!(
            "{head}{dns}
listeners:
  - name: internal
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.router
  - name: external
    address: \"127.0.0.1:{external}\"
    transport: tls
    side: external
    tls: {{ certificate: \"{cert}\", private_key: \"{key}\" }}
    filters:
      - name: legate.filters.sip.router
{routes}{peer_section}",
            head = config_head(admin),
            external = free_port(),
            cert = pki.domain.certificate.display(),
            key = pki.domain.private_key.display(),
        );
        Gateway {
            legate: Legate::start(&config, admin),
            internal,
        }
    }

    /// Sends a MESSAGE to `uri` from an internal user and returns the final answer.
    fn message(&self, uri: &str, call: &str) -> String {
        let phone = Phone::new(self);
        phone.request(&format!(
            "MESSAGE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{call};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@acme.example>;tag=a1\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call}@acme.example\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Type: text/plain\r\n\
             Content-Length: 5\r\n\r\nhello",
            port = phone.port
        ))
    }
}

/// An internal user's UDP socket, talking to Legate's internal listener.
struct Phone {
    socket: UdpSocket,
    port: u16,
    legate: u16,
}

impl Phone {
    fn new(gateway: &Gateway) -> Phone {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        Phone {
            socket,
            port,
            legate: gateway.internal,
        }
    }

    fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), ("127.0.0.1", self.legate))
            .unwrap();
    }

    /// Sends `text` and returns the final answer.
    fn request(&self, text: &str) -> String {
        self.send(text);
        let mut buffer = vec![0u8; 65536];
        loop {
            let len = match self.socket.recv(&mut buffer) {
                Ok(len) => len,
                Err(error) => panic!("no final answer to {text}: {error}"),
            };
            let answer = String::from_utf8_lossy(&buffer[..len]).into_owned();
            if !answer.starts_with("SIP/2.0 1") {
                return answer;
            }
        }
    }
}

/// The values of every `name:` header line of `message`, in order.
fn header_values<'m>(message: &'m str, name: &str) -> Vec<&'m str> {
    message
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
        .collect()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default()
}

fn warning(answer: &str) -> String {
    answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("warning:"))
        .unwrap_or_else(|| panic!("no Warning in {answer}"))
        .to_string()
}

fn dns_section(dns: &Dnsmasq) -> String {
    format!("dns: {{ servers: [\"{}\"], timeout: 1s }}\n", dns.address())
}

/// NAPTR names an SRV record, the SRV record a host and a port only it mentions, the host an
/// address: the MESSAGE arrives there, over TLS, asking for the partner's domain, and showing
/// our domain certificate. A decoy under `_sips._tcp.<domain>` proves the NAPTR record was
/// followed rather than skipped.
#[test]
fn a_partner_found_through_naptr_srv_and_a_sees_its_domain_and_our_certificate() {
    let pki = Pki::new();
    let partner = pki.partner(&["partner.example"]);
    let decoy = pki.partner(&["partner.example"]);
    let dns = Dnsmasq::start(
        pki.dir.path(),
        &[
            "--naptr-record=partner.example,10,20,s,SIPS+D2T,,_sips._tcp.edge.partner.example"
                .into(),
            "--naptr-record=partner.example,5,10,s,SIP+D2U,,_sip._udp.partner.example".into(),
            format!(
                "--srv-host=_sips._tcp.edge.partner.example,sip1.partner.example,{},10,10",
                partner.port
            ),
            format!(
                "--srv-host=_sips._tcp.partner.example,sip1.partner.example,{},10,10",
                decoy.port
            ),
            "--host-record=sip1.partner.example,127.0.0.1".into(),
        ],
    );
    let gateway = Gateway::start(
        &pki,
        &dns_section(&dns),
        &[by_dns(&pki, "partner", "partner.example")],
    );

    let answer = gateway.message("sip:bob@partner.example", "naptr1");
    assert!(
        status_line(&answer).starts_with("SIP/2.0 200 "),
        "{answer}\ndnsmasq: {}",
        dns.log()
    );
    let seen = partner.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].request_line,
        "MESSAGE sip:bob@partner.example SIP/2.0"
    );
    assert_eq!(seen[0].sni.as_deref(), Some("partner.example"));
    assert_eq!(
        seen[0].client_certificate.as_ref(),
        Some(&pki.domain.der()),
        "Legate must present the external listener's domain certificate"
    );
    assert!(decoy.seen().is_empty(), "the NAPTR record was not followed");

    // The next one reuses the connection made for the partner.
    let again = gateway.message("sip:carol@partner.example", "naptr2");
    assert!(status_line(&again).starts_with("SIP/2.0 200 "), "{again}");
    let seen = partner.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].connection, seen[0].connection);
    drop(gateway.legate);
}

/// Without NAPTR records, `_sips._tcp.<domain>` is asked; with neither, a URI port leads to the
/// domain's own address record on that port.
#[test]
fn srv_records_alone_or_an_address_record_reach_the_partner() {
    let pki = Pki::new();
    let by_srv = pki.partner(&["srvonly.example"]);
    let by_address = pki.partner(&["direct.example"]);
    let dns = Dnsmasq::start(
        pki.dir.path(),
        &[
            format!(
                "--srv-host=_sips._tcp.srvonly.example,box.srvonly.example,{},0,0",
                by_srv.port
            ),
            "--host-record=box.srvonly.example,127.0.0.1".into(),
            "--host-record=direct.example,127.0.0.1".into(),
        ],
    );
    let gateway = Gateway::start(
        &pki,
        &dns_section(&dns),
        &[
            by_dns(&pki, "srvonly", "srvonly.example"),
            by_dns(&pki, "direct", "direct.example"),
        ],
    );

    let answer = gateway.message("sip:bob@srvonly.example", "srv1");
    assert!(
        status_line(&answer).starts_with("SIP/2.0 200 "),
        "{answer}\ndnsmasq: {}",
        dns.log()
    );
    assert_eq!(by_srv.seen()[0].sni.as_deref(), Some("srvonly.example"));

    let uri = format!("sip:bob@direct.example:{}", by_address.port);
    let answer = gateway.message(&uri, "a1");
    assert!(status_line(&answer).starts_with("SIP/2.0 200 "), "{answer}");
    assert_eq!(by_address.seen()[0].sni.as_deref(), Some("direct.example"));
}

/// A domain DNS knows nothing about gets a 404 that says so; a name server that does not
/// answer gets 503 with Retry-After. Neither Warning shows more than the domain.
#[test]
fn a_domain_without_records_or_an_unanswering_dns_gets_a_clear_answer() {
    let pki = Pki::new();
    let dns = Dnsmasq::start(pki.dir.path(), &[]);
    let gateway = Gateway::start(
        &pki,
        &dns_section(&dns),
        &[by_dns(&pki, "nowhere", "nowhere.example")],
    );
    let answer = gateway.message("sip:bob@nowhere.example", "nx1");
    assert!(status_line(&answer).starts_with("SIP/2.0 404 "), "{answer}");
    assert!(
        warning(&answer).contains("domain nowhere.example has no SIP service in DNS"),
        "{answer}"
    );
    drop(gateway);

    // A UDP socket that takes queries and never answers them.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_dns = format!(
        "dns: {{ servers: [\"{}\"], timeout: 300ms }}\n",
        silent.local_addr().unwrap()
    );
    let gateway = Gateway::start(
        &pki,
        &silent_dns,
        &[by_dns(&pki, "nowhere", "nowhere.example")],
    );
    let answer = gateway.message("sip:bob@nowhere.example", "silent1");
    assert!(status_line(&answer).starts_with("SIP/2.0 503 "), "{answer}");
    assert!(
        answer.lines().any(|l| l.starts_with("Retry-After:")),
        "{answer}"
    );
    let warning = warning(&answer);
    assert!(
        warning.contains("domain nowhere.example cannot be looked up in DNS"),
        "{warning}"
    );
    assert!(!warning.contains("127.0.0.1"), "{warning}");
}

/// A partner whose certificate names another domain, or comes from a CA outside its trust
/// bundle (even one another partner's bundle holds), is not used: the internal sender gets 503
/// and a Warning saying TLS failed. A partner whose certificate names its domain as a `sip:`
/// URI only is accepted (RFC 5922).
#[test]
fn a_partner_certificate_must_name_the_domain_and_chain_to_its_bundle() {
    let pki = Pki::new();
    let wrong_name = pki.partner(&["other.example"]);
    let outsider = TlsPartner::start(
        &pki.stranger.server_for("outsider", &["outsider.example"]),
        &pki.ours,
    );
    let uri_named = TlsPartner::start(
        &pki.partners.server_for_sip_uri("uri", "uri.example"),
        &pki.ours,
    );
    let friend = Peer {
        trust_bundle: &pki.stranger,
        ..at(&pki, "friend", "friend.example", &outsider)
    };
    let gateway = Gateway::start(
        &pki,
        "",
        &[
            at(&pki, "misnamed", "misnamed.example", &wrong_name),
            at(&pki, "outsider", "outsider.example", &outsider),
            at(&pki, "uri", "uri.example", &uri_named),
            friend,
        ],
    );

    for (uri, call, reason) in [
        ("sip:bob@misnamed.example", "name1", "not valid for name"),
        ("sip:bob@outsider.example", "ca1", "UnknownIssuer"),
    ] {
        let answer = gateway.message(uri, call);
        assert!(status_line(&answer).starts_with("SIP/2.0 503 "), "{answer}");
        let warning = warning(&answer);
        assert!(
            warning.contains("tls handshake") && warning.contains(reason),
            "{uri}: {warning}"
        );
    }
    assert!(wrong_name.seen().is_empty() && outsider.seen().is_empty());

    let answer = gateway.message("sip:bob@uri.example", "uri1");
    assert!(status_line(&answer).starts_with("SIP/2.0 200 "), "{answer}");
}

/// A fixed `reach.address` gets the partner's domain as SNI too. Two partners hosted at the
/// same address get a connection each, each verified for its own domain: the connection made
/// for one is never used for the other.
#[test]
fn static_partners_sharing_an_address_get_their_own_connections() {
    let pki = Pki::new();
    let host = pki.partner(&["one.example", "two.example"]);
    let gateway = Gateway::start(
        &pki,
        "",
        &[
            at(&pki, "one", "one.example", &host),
            at(&pki, "two", "two.example", &host),
        ],
    );
    for (uri, call) in [
        ("sip:bob@one.example", "one1"),
        ("sip:bob@two.example", "two1"),
        ("sip:carol@one.example", "one2"),
        ("sip:carol@two.example", "two2"),
    ] {
        let answer = gateway.message(uri, call);
        assert!(status_line(&answer).starts_with("SIP/2.0 200 "), "{answer}");
    }
    let seen = host.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for request in &seen {
        let domain = request
            .request_line
            .split('@')
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap();
        assert_eq!(request.sni.as_deref(), Some(domain), "{request:?}");
        assert_eq!(request.client_certificate.as_ref(), Some(&pki.domain.der()));
    }
    assert_eq!(seen[0].connection, seen[2].connection);
    assert_eq!(seen[1].connection, seen[3].connection);
    assert_ne!(seen[0].connection, seen[1].connection);
}

/// Requests inside a dialog with a partner follow the partner's Contact, not the route: they
/// are still verified against the configured trust bundles (the partner's among them) and
/// still carry our domain certificate.
#[test]
fn in_dialog_requests_to_a_partner_are_verified_and_carry_our_certificate() {
    let pki = Pki::new();
    let partner = TlsPartner::start(
        &pki.partners
            .server_for("partner", &["partner.example", "127.0.0.1"]),
        &pki.ours,
    );
    let gateway = Gateway::start(
        &pki,
        "",
        &[at(&pki, "partner", "partner.example", &partner)],
    );
    let phone = Phone::new(&gateway);
    let p = phone.port;
    let common =
        "Max-Forwards: 70\r\nFrom: <sip:alice@acme.example>;tag=a1\r\nCall-ID: dlg1@acme.example\r\n";
    let ok = phone.request(&format!(
        "INVITE sip:bob@partner.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK-dlg1-1;rport\r\n{common}\
         To: <sip:bob@partner.example>\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:alice@127.0.0.1:{p}>\r\n\
         Content-Length: 0\r\n\r\n"
    ));
    assert!(status_line(&ok).starts_with("SIP/2.0 200 "), "{ok}");
    // The UAC's route set is the Record-Route of the answer, reversed (RFC 3261 §12.1.2).
    let routes: String = header_values(&ok, "Record-Route")
        .iter()
        .rev()
        .map(|route| format!("Route: {route}\r\n"))
        .collect();
    let to = header_values(&ok, "To")[0];
    let contact = header_values(&ok, "Contact")[0]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();
    assert!(!routes.is_empty(), "Legate must record-route: {ok}");
    let in_dialog = |method: &str, seq: u32| {
        format!(
            "{method} {contact} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK-dlg1-{seq};rport\r\n{common}\
             To: {to}\r\n{routes}\
             CSeq: {seq} {method}\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    phone.send(&in_dialog("ACK", 1));
    let bye = phone.request(&in_dialog("BYE", 2));
    assert!(status_line(&bye).starts_with("SIP/2.0 200 "), "{bye}");

    let seen = partner.seen();
    let invite = seen
        .iter()
        .find(|s| s.request_line.starts_with("INVITE"))
        .unwrap();
    let bye = seen
        .iter()
        .find(|s| s.request_line.starts_with("BYE"))
        .unwrap_or_else(|| panic!("the BYE did not arrive: {seen:?}"));
    assert_eq!(invite.sni.as_deref(), Some("partner.example"));
    assert!(
        bye.request_line.starts_with("BYE sip:partner@127.0.0.1:"),
        "{bye:?}"
    );
    assert_eq!(bye.client_certificate.as_ref(), Some(&pki.domain.der()));
}
