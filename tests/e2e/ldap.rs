//! The `ldap` directory against a real OpenLDAP slapd that each test starts itself: group
//! membership in LDAP drives `domain_policy`, hidden and unknown users look the same from
//! outside, an LDAP attribute picks the user's home system, injection-like user parts match no
//! one, and a directory that is down is a 503 (never "no such user") until it is back.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::Write;
use std::time::Duration;

use legate_e2e::config::{config_head, Ports};
use legate_e2e::ldap::{ServerTls, Slapd, BIND_DN, BIND_PASSWORD};
use legate_e2e::tls::Ca;
use legate_e2e::{free_port, legate_bin, udp_exchange, Legate, SippServer};

/// alice: federated + sales; bob: engineering only; carol: federated, on the legacy IM system.
const PEOPLE: &str = "dn: uid=alice,ou=people,dc=local,dc=example
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Example

dn: uid=bob,ou=people,dc=local,dc=example
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Example

dn: uid=carol,ou=people,dc=local,dc=example
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Example
description: legacy

dn: cn=federated,ou=groups,dc=local,dc=example
objectClass: groupOfNames
cn: federated
member: uid=alice,ou=people,dc=local,dc=example
member: uid=carol,ou=people,dc=local,dc=example

dn: cn=sales,ou=groups,dc=local,dc=example
objectClass: groupOfNames
cn: sales
member: uid=alice,ou=people,dc=local,dc=example

dn: cn=engineering,ou=groups,dc=local,dc=example
objectClass: groupOfNames
cn: engineering
member: uid=bob,ou=people,dc=local,dc=example
";

/// Outbound (internal listener): only `sales` may write to remote.example. Inbound (external
/// listener): only `federated` users exist; the route to local.example picks the cluster by
/// the user's `imHomeSystem` (LDAP `description`): `legacy` is the sipp on `p.peer2`, anyone
/// else would go to `im-modern`, where nothing answers. Nothing is cached, so every request
/// asks slapd.
fn config(p: &Ports, ldap_url: &str, bind_password: &str) -> String {
    config_with(p, ldap_url, bind_password, "")
}

/// [`config`] with `tls` (lines such as `      start_tls: true`) added to the ldap block.
fn config_with(p: &Ports, ldap_url: &str, bind_password: &str, tls: &str) -> String {
    format!(
        "{head}
listeners:
  - name: internal
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.domain_policy
        config:
          directory: corp
          default: deny
          rules:
            - {{ id: sales-may-federate, action: allow, remote_domains: [remote.example], local_groups: [sales], services: [im], direction: outbound }}
      - name: legate.filters.sip.router
  - name: external
    address: \"127.0.0.1:{external}\"
    transport: udp
    side: external
    filters:
      - name: legate.filters.sip.domain_policy
        config: {{ directory: corp, exposed_groups: [federated], default: allow }}
      - name: legate.filters.sip.router
routes:
  - {{ name: to-remote, match: {{ domain: remote.example, side: internal }}, cluster: remote-peer }}
  - name: to-local
    match: {{ domain: local.example, side: external }}
    cluster: im-modern
    by_directory_attribute:
      directory: corp
      attribute: imHomeSystem
      clusters: {{ legacy: im-legacy }}
clusters:
  - {{ name: remote-peer, transport: udp, endpoints: [\"127.0.0.1:{peer}\"] }}
  - {{ name: im-legacy, transport: udp, endpoints: [\"127.0.0.1:{legacy}\"] }}
  - {{ name: im-modern, transport: udp, endpoints: [\"127.0.0.1:{modern}\"] }}
directories:
  - name: corp
    ldap:
      url: \"{ldap_url}\"
      bind_dn: \"{BIND_DN}\"
      bind_password: {{ value: \"{bind_password}\" }}
      domains: [local.example]
      user_base: \"ou=people,dc=local,dc=example\"
      user_filter: \"(&(objectClass=inetOrgPerson)(uid={{user}}))\"
      group_base: \"ou=groups,dc=local,dc=example\"
      group_filter: \"(&(objectClass=groupOfNames)(member={{dn}}))\"
      attributes: {{ imHomeSystem: description }}
      pool_size: 2
      timeout: 1s
      cache: {{ ttl: 0s, negative_ttl: 0s }}
{tls}",
        head = config_head(p.admin),
        internal = p.internal,
        external = p.external,
        peer = p.peer,
        legacy = p.peer2,
        modern = free_port(),
    )
}

/// A local user writing to someone at remote.example (enters on the internal listener).
fn outbound(from_user: &str, call: &str) -> String {
    format!(
        "MESSAGE sip:dave@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from_user}@local.example>;tag=1\r\n\
         To: <sip:dave@remote.example>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Someone at remote.example writing to a local user (enters on the external listener).
fn inbound(to_user: &str, call: &str) -> String {
    format!(
        "MESSAGE sip:{to_user}@local.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:dave@remote.example>;tag=1\r\n\
         To: <sip:{to_user}@local.example>\r\n\
         Call-ID: {call}@remote.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

fn send_out(p: &Ports, from_user: &str, call: &str) -> String {
    udp_exchange(&p.internal_target(), outbound(from_user, call).as_bytes())
        .unwrap_or_else(|| panic!("no answer to {from_user}'s outbound MESSAGE"))
}

fn send_in(p: &Ports, to_user: &str, call: &str) -> String {
    let target = format!("127.0.0.1:{}", p.external);
    udp_exchange(&target, inbound(to_user, call).as_bytes())
        .unwrap_or_else(|| panic!("no answer to the inbound MESSAGE for {to_user}"))
}

/// The answer without the lines that echo the request (Via, From, To, Call-ID, CSeq), which
/// differ per request: what is left is what the answer says about the user.
fn what_it_says(answer: &str) -> Vec<String> {
    answer
        .lines()
        .filter(|line| {
            let name = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            !["via", "from", "to", "call-id", "cseq"].contains(&name.as_str())
        })
        .map(str::to_string)
        .collect()
}

#[track_caller]
fn assert_status(answer: &str, status: &str, what: &str) {
    assert!(
        answer.starts_with(&format!("SIP/2.0 {status} ")),
        "{what}: expected {status}, got:\n{answer}"
    );
}

#[test]
fn ldap_groups_decide_who_may_write_to_a_federated_domain() {
    let p = Ports::pick();
    let slapd = Slapd::running(PEOPLE);
    let _legate = Legate::start(&config(&p, &slapd.url(), BIND_PASSWORD), p.admin);
    let peer = SippServer::start("uas_message_plain.xml", p.peer, "u1", 1);

    assert_status(&send_out(&p, "alice", "ld1"), "200", "alice (sales)");
    for (user, call) in [("bob", "ld2"), ("carol", "ld3"), ("nobody", "ld4")] {
        let answer = send_out(&p, user, call);
        assert_status(&answer, "403", user);
        assert!(answer.contains("not permitted by policy"), "{answer}");
    }
    assert!(
        peer.wait_success(Duration::from_secs(10)),
        "the peer did not get alice's message"
    );
}

#[test]
fn hidden_and_unknown_users_get_the_same_404_and_ldap_attributes_route_the_rest() {
    let p = Ports::pick();
    let slapd = Slapd::running(PEOPLE);
    let _legate = Legate::start(&config(&p, &slapd.url(), BIND_PASSWORD), p.admin);
    let legacy = SippServer::start("uas_message_plain.xml", p.peer2, "u1", 1);

    // carol is federated, and her `description` sends her messages to the legacy system.
    assert_status(&send_in(&p, "carol", "ld5"), "200", "carol (federated)");
    assert!(
        legacy.wait_success(Duration::from_secs(10)),
        "the legacy IM system did not get carol's message"
    );

    let hidden = send_in(&p, "bob", "ld6");
    let unknown = send_in(&p, "nobody", "ld7");
    assert_status(&hidden, "404", "bob (not exposed)");
    assert_status(&unknown, "404", "nobody (unknown)");
    assert_eq!(
        what_it_says(&hidden),
        what_it_says(&unknown),
        "a hidden user must look exactly like an unknown one"
    );
}

#[test]
fn injection_like_user_parts_match_no_one() {
    let p = Ports::pick();
    let slapd = Slapd::running(PEOPLE);
    let _legate = Legate::start(&config(&p, &slapd.url(), BIND_PASSWORD), p.admin);
    // Catches any message that wrongly reaches carol's system.
    let _legacy = SippServer::start("uas_message_plain.xml", p.peer2, "u1", 10);

    let unknown = what_it_says(&send_in(&p, "nobody", "ld10"));
    // Unescaped, each of these would find carol (or everyone) and be let through.
    for (user, call) in [
        ("*", "ld11"),
        ("car*", "ld12"),
        ("*)(uid=carol", "ld13"),
        ("*)(uid=*", "ld14"),
        ("carol)(uid=*", "ld15"),
    ] {
        let answer = send_in(&p, user, call);
        assert_status(&answer, "404", user);
        assert_eq!(what_it_says(&answer), unknown, "{user}");
    }
    // Outbound too: a wildcard sender is no one, so it is not in `sales`.
    assert_status(&send_out(&p, "*", "ld16"), "403", "sender `*`");
}

#[test]
fn a_stopped_directory_is_a_503_not_an_unknown_user_and_recovers() {
    let p = Ports::pick();
    let mut slapd = Slapd::running(PEOPLE);
    let legate = Legate::start(&config(&p, &slapd.url(), BIND_PASSWORD), p.admin);
    let _peer = SippServer::start("uas_message_plain.xml", p.peer, "u1", 10);
    let _legacy = SippServer::start("uas_message_plain.xml", p.peer2, "u1", 10);
    assert_status(
        &send_in(&p, "carol", "ld20"),
        "200",
        "carol before the stop",
    );
    assert_status(
        &send_out(&p, "alice", "ld21"),
        "200",
        "alice before the stop",
    );

    slapd.stop();
    for (answer, what) in [
        (send_in(&p, "carol", "ld22"), "carol"),
        (send_in(&p, "nobody", "ld23"), "nobody"),
        (send_out(&p, "alice", "ld24"), "alice"),
    ] {
        assert_status(&answer, "503", what);
        assert!(answer.contains("Retry-After: "), "{answer}");
        assert!(answer.contains("user lookup failed"), "{answer}");
    }
    assert_eq!(
        legate.metric("legate_policy_decisions_total{decision=\"directory_failure\"}"),
        Some(3.0)
    );
    assert_eq!(
        legate.admin_get("/healthz").map(|(code, _)| code),
        Some(200)
    );

    // Back on the same port: the pool reconnects and answers are right again.
    slapd.start();
    assert_status(
        &send_in(&p, "carol", "ld25"),
        "200",
        "carol after the restart",
    );
    assert_status(
        &send_out(&p, "alice", "ld26"),
        "200",
        "alice after the restart",
    );
    assert_status(&send_in(&p, "bob", "ld27"), "404", "bob after the restart");
}

#[test]
fn legate_starts_while_the_directory_is_down_and_uses_it_once_it_is_up() {
    let p = Ports::pick();
    let mut slapd = Slapd::prepare(PEOPLE);
    let yaml = config(&p, &slapd.url(), BIND_PASSWORD);

    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(yaml.as_bytes()).unwrap();
    let validate = std::process::Command::new(legate_bin())
        .arg("validate")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "validate needs no LDAP server: {}",
        String::from_utf8_lossy(&validate.stderr)
    );

    let _legate = Legate::start(&yaml, p.admin);
    let _legacy = SippServer::start("uas_message_plain.xml", p.peer2, "u1", 10);
    assert_status(
        &send_in(&p, "carol", "ld30"),
        "503",
        "carol while slapd is down",
    );
    slapd.start();
    assert_status(
        &send_in(&p, "carol", "ld31"),
        "200",
        "carol once slapd is up",
    );
}

#[test]
fn a_refused_bind_is_a_503_not_an_unknown_user() {
    let p = Ports::pick();
    let slapd = Slapd::running(PEOPLE);
    let _legate = Legate::start(&config(&p, &slapd.url(), "not-the-password"), p.admin);
    let answer = send_in(&p, "carol", "ld40");
    assert_status(&answer, "503", "carol with a wrong bind password");
    assert!(answer.contains("Retry-After: "), "{answer}");
}

#[test]
fn a_bind_password_file_that_cannot_be_read_stops_legate_with_the_field() {
    let p = Ports::pick();
    let yaml = config(&p, "ldap://127.0.0.1:389", "unused").replace(
        "bind_password: { value: \"unused\" }",
        "bind_password: { file: /nonexistent/ldap-password }",
    );
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(yaml.as_bytes()).unwrap();
    let output = std::process::Command::new(legate_bin())
        .arg("validate")
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("directories[0].ldap.bind_password"),
        "{stderr}"
    );
    assert!(stderr.contains("/nonexistent/ldap-password"), "{stderr}");
}

#[test]
fn the_directory_is_reached_over_ldaps_and_start_tls_trusting_only_tls_ca() {
    let p = Ports::pick();
    let certs = tempfile::tempdir().unwrap();
    let ca = Ca::new(certs.path(), "ldap");
    let server = ca.server("slapd");
    let other_ca = Ca::new(certs.path(), "other");
    let mut slapd = Slapd::prepare_with(
        PEOPLE,
        Some(ServerTls {
            certificate: &server.certificate,
            private_key: &server.private_key,
        }),
    );
    slapd.start();
    let _legacy = SippServer::start("uas_message_plain.xml", p.peer2, "u1", 10);
    let trusting = |ca: &Ca| format!("      tls_ca: \"{}\"\n", ca.pem.display());

    for (url, extra, what, call) in [
        (slapd.tls_url(), trusting(&ca), "ldaps://", "ld50"),
        (
            slapd.url(),
            format!("      start_tls: true\n{}", trusting(&ca)),
            "StartTLS",
            "ld52",
        ),
    ] {
        let legate = Legate::start(&config_with(&p, &url, BIND_PASSWORD, &extra), p.admin);
        assert_status(&send_in(&p, "carol", call), "200", what);
        assert_status(&send_in(&p, "bob", &format!("{call}b")), "404", what);
        drop(legate);
    }

    // A server whose certificate does not chain to `tls_ca` is not trusted: unavailable.
    let yaml = config_with(&p, &slapd.tls_url(), BIND_PASSWORD, &trusting(&other_ca));
    let _legate = Legate::start(&yaml, p.admin);
    assert_status(&send_in(&p, "carol", "ld54"), "503", "an untrusted server");
}

/// People whose federated address is their LDAP `mail`, for address mapping by directory.
const MAILED_PEOPLE: &str = "dn: uid=asmith,ou=people,dc=local,dc=example
objectClass: inetOrgPerson
uid: asmith
cn: Alice Smith
sn: Smith
mail: alice.smith@acme.example

dn: uid=shared1,ou=people,dc=local,dc=example
objectClass: inetOrgPerson
uid: shared1
cn: One
sn: Shared
mail: team@acme.example

dn: uid=shared2,ou=people,dc=local,dc=example
objectClass: inetOrgPerson
uid: shared2
cn: Two
sn: Shared
mail: team@acme.example
";

#[test]
fn federated_addresses_come_from_ldap_both_ways() {
    let slapd = Slapd::running(MAILED_PEOPLE);
    let p = Ports::pick();
    let (im, partner) = (
        legate_e2e::upstream::AcceptingUpstream::start(),
        legate_e2e::upstream::AcceptingUpstream::start(),
    );
    let translation = "      - name: legate.filters.sip.translation
        config:
          address_mapping: [ { internal: local.example, external: acme.example } ]
          directory_mapping: { directory: corp, attribute: federatedAddress }
";
    let config = format!(
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
  - {{ name: out, match: {{ domain: remote.example, side: internal }}, cluster: partner }}
  - {{ name: in, match: {{ domain: local.example, side: external }}, cluster: im }}
clusters:
  - {{ name: partner, transport: udp, endpoints: [\"127.0.0.1:{partner}\"] }}
  - {{ name: im, transport: udp, endpoints: [\"127.0.0.1:{im}\"] }}
directories:
  - name: corp
    ldap:
      url: \"{url}\"
      bind_dn: \"{BIND_DN}\"
      bind_password: {{ value: \"{BIND_PASSWORD}\" }}
      domains: [local.example]
      user_base: \"ou=people,dc=local,dc=example\"
      user_filter: \"(&(objectClass=inetOrgPerson)(uid={{user}}))\"
      attributes: {{ federatedAddress: mail }}
      timeout: 1s
",
        head = config_head(p.admin),
        internal = p.internal,
        external = p.external,
        partner = partner.port,
        im = im.port,
        url = slapd.url(),
    );
    let _legate = Legate::start(&config, p.admin);

    // Out: asmith@local.example is alice.smith@acme.example to the partner.
    let answer = legate_e2e::upstream::final_response(p.internal, &outbound("asmith", "map-out"));
    assert_status(&answer, "200", "the outbound MESSAGE");
    let seen = partner.drain().join("\n");
    assert!(
        seen.contains("From: <sip:alice.smith@acme.example>;tag=1"),
        "{seen}"
    );

    // In: alice.smith@acme.example is found by her mail and reaches asmith@local.example.
    let message = inbound("x", "map-in").replace("x@local.example", "alice.smith@acme.example");
    let answer = legate_e2e::upstream::final_response(p.external, &message);
    assert_status(&answer, "200", "the inbound MESSAGE");
    assert!(
        answer.contains("To: <sip:alice.smith@acme.example>;tag=up"),
        "{answer}"
    );
    let seen = im.drain().join("\n");
    assert!(
        seen.contains("MESSAGE sip:asmith@local.example SIP/2.0"),
        "{seen}"
    );

    // A mail two people share names no one: the domain rule maps it as it stands.
    let message = inbound("x", "map-shared").replace("x@local.example", "team@acme.example");
    let answer = legate_e2e::upstream::final_response(p.external, &message);
    assert_status(&answer, "200", "the inbound MESSAGE to a shared mail");
    let seen = im.drain().join("\n");
    assert!(
        seen.contains("MESSAGE sip:team@local.example SIP/2.0"),
        "{seen}"
    );
}
