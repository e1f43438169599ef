//! Two IM systems serving one domain (a migration): the target user's `imHomeSystem`
//! attribute in the directory picks the upstream; users it does not place go to the default.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::Write;
use std::time::Duration;

use legate_e2e::config::{config_head, Ports};
use legate_e2e::{udp_exchange, Legate, SippServer};

const DIRECTORY: &str = "users:
  - { user: alice, domain: acme.example, attributes: { imHomeSystem: legacy } }
  - { user: erin, domain: acme.example, attributes: { imHomeSystem: legacy } }
  - { user: bob, domain: acme.example, attributes: { imHomeSystem: modern } }
  - { user: carol, domain: acme.example }
";

fn config(p: &Ports, directory: &std::path::Path) -> String {
    format!(
        "{head}
listeners:
  - name: internal
    address: \"127.0.0.1:{internal}\"
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.router
routes:
  - name: to-acme
    match: {{ domain: acme.example }}
    cluster: im-modern
    by_directory_attribute:
      directory: corp
      attribute: imHomeSystem
      clusters: {{ legacy: im-legacy, modern: im-modern }}
clusters:
  - {{ name: im-legacy, transport: udp, endpoints: [\"127.0.0.1:{legacy}\"] }}
  - {{ name: im-modern, transport: udp, endpoints: [\"127.0.0.1:{modern}\"] }}
directories:
  - name: corp
    static: {{ file: \"{directory}\" }}
",
        head = config_head(p.admin),
        internal = p.internal,
        legacy = p.peer,
        modern = p.peer2,
        directory = directory.display(),
    )
}

fn message(to: &str, call: &str) -> String {
    format!(
        "MESSAGE sip:{to}@acme.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:dave@acme.example>;tag=1\r\n\
         To: <sip:{to}@acme.example>\r\n\
         Call-ID: {call}@acme.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn the_directory_attribute_picks_each_users_home_system() {
    let p = Ports::pick();
    let mut directory = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    directory.write_all(DIRECTORY.as_bytes()).unwrap();
    let _legate = Legate::start(&config(&p, directory.path()), p.admin);
    // Legacy must see exactly alice's and erin's messages, modern bob's and carol's (carol has
    // no attribute: the route's default). The split is uneven under any other mapping, so a
    // misrouted message leaves one side short and the other over its count.
    let legacy = SippServer::start("uas_message_plain.xml", p.peer, "u1", 2);
    let modern = SippServer::start("uas_message_plain.xml", p.peer2, "u1", 2);
    for (user, call) in [
        ("alice", "co1"),
        ("erin", "co4"),
        ("bob", "co2"),
        ("carol", "co3"),
    ] {
        let answer = udp_exchange(&p.internal_target(), message(user, call).as_bytes()).unwrap();
        assert!(answer.starts_with("SIP/2.0 200 "), "{user}: {answer}");
    }
    assert!(
        legacy.wait_success(Duration::from_secs(10)),
        "legacy did not get alice's and erin's messages"
    );
    assert!(
        modern.wait_success(Duration::from_secs(10)),
        "modern did not get bob's and carol's"
    );
}
