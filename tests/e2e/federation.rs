//! Federation trust end to end over real TLS: a partner proves its domain with its client
//! certificate, and `authn` holds it to that domain (RFC 5922) before anything is routed.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use legate_e2e::config::config_head;
use legate_e2e::stream::SipConnection;
use legate_e2e::tls::{tls_connect, Ca, Issued};
use legate_e2e::{free_port, Legate, SippServer};

struct Federation {
    dir: tempfile::TempDir,
    ca: Ca,
    external: u16,
    admin: u16,
    im_server: u16,
}

impl Federation {
    fn new() -> Federation {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "fed");
        Federation {
            dir,
            ca,
            external: free_port(),
            admin: free_port(),
            im_server: free_port(),
        }
    }

    fn config(&self) -> String {
        self.config_with("", "")
    }

    /// `chain_extra` goes between authn and the router on the external listener;
    /// `peer_extra` is appended to the partner's entry.
    fn config_with(&self, chain_extra: &str, peer_extra: &str) -> String {
        let server = self.ca.server("legate");
        format!(
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
{chain_extra}      - name: legate.filters.sip.router
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
{peer_extra}",
            head = config_head(self.admin),
            external = self.external,
            internal = free_port(),
            im = self.im_server,
            cert = server.certificate.display(),
            key = server.private_key.display(),
            ca = self.ca.pem.display(),
        )
    }

    /// Sends one MESSAGE over a new TLS connection presenting `client`; returns the status line.
    fn send(&self, client: &Issued, call: &str, from: &str, uri: &str, extra: &str) -> String {
        let mut connection = SipConnection::new(tls_connect(self.external, &self.ca, Some(client)));
        let request = format!(
            "MESSAGE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
             Max-Forwards: 70\r\n\
             From: <{from}>;tag=f1\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call}@partner.example\r\n\
             CSeq: 1 MESSAGE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        );
        connection.send(request.as_bytes()).unwrap();
        let answer = connection.receive().message();
        answer.lines().next().unwrap_or_default().to_string()
    }
}

#[test]
fn a_partner_speaks_only_for_its_own_domain_and_only_to_ours() {
    let f = Federation::new();
    let legate = Legate::start(&f.config(), f.admin);
    let _im = SippServer::start("uas_message_plain.xml", f.im_server, "u1", 10);
    let partner = f.ca.client("partner.example");
    let impostor = f.ca.client("other.example");
    let (bob, alice) = ("sip:bob@partner.example", "sip:alice@acme.example");

    let ok = f.send(&partner, "fed1", bob, alice, "");
    assert!(
        ok.starts_with("SIP/2.0 200 "),
        "the partner's MESSAGE should arrive: {ok}"
    );

    let cases = [
        (
            "a certificate naming another domain",
            &impostor,
            bob,
            alice,
            "",
        ),
        (
            "a From domain the partner does not own",
            &partner,
            "sip:eve@other.example",
            alice,
            "",
        ),
        (
            "an asserted identity of another domain",
            &partner,
            bob,
            alice,
            "P-Asserted-Identity: <sip:ceo@acme.example>\r\n",
        ),
        (
            "a target outside our domains (relaying)",
            &partner,
            bob,
            "sip:x@elsewhere.example",
            "",
        ),
    ];
    for (index, (what, client, from, uri, extra)) in cases.into_iter().enumerate() {
        let status = f.send(client, &format!("fed-bad{index}"), from, uri, extra);
        assert!(status.starts_with("SIP/2.0 403 "), "{what}: {status}");
    }
    // Each refusal is counted by reason in /metrics.
    for (reason, count) in [
        ("certificate_mismatch", 1.0),
        ("not_partner", 1.0),
        ("identity_not_owned", 1.0),
        ("not_addressed_here", 1.0),
    ] {
        let series = format!("legate_authn_refusals_total{{reason=\"{reason}\"}}");
        assert_eq!(legate.metric(&series), Some(count), "{series}");
    }
    let _ = &f.dir;
}

#[test]
fn a_partner_over_its_request_rate_is_told_to_wait() {
    let f = Federation::new();
    let config = f.config_with(
        "      - name: legate.filters.sip.peer_limits\n",
        "    limits: { requests_per_second: 1, burst: 2 }\n",
    );
    let legate = Legate::start(&config, f.admin);
    let _im = SippServer::start("uas_message_plain.xml", f.im_server, "u1", 10);
    let partner = f.ca.client("partner.example");
    let (bob, alice) = ("sip:bob@partner.example", "sip:alice@acme.example");
    // The burst of two goes through; the partner may not send faster than one a second after.
    let statuses: Vec<String> = (0..4)
        .map(|i| f.send(&partner, &format!("rate{i}"), bob, alice, ""))
        .collect();
    assert!(statuses[0].starts_with("SIP/2.0 200 "), "{statuses:?}");
    assert!(statuses[1].starts_with("SIP/2.0 200 "), "{statuses:?}");
    let limited = statuses
        .iter()
        .filter(|s| s.starts_with("SIP/2.0 503 "))
        .count();
    assert!(limited >= 1, "no request was rate limited: {statuses:?}");
    assert!(legate
        .metric("legate_peer_rate_limited_total")
        .is_some_and(|n| n >= 1.0));
}
