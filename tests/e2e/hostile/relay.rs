//! Route state Legate issued cannot steer a request inward, a partner's own Route entries are
//! refused or removed, and nothing Legate would send beyond its own limits leaves.

use legate_e2e::raw_sip::{has_pending, header, port_of, receive, reply, send, udp_socket};
use legate_e2e::{free_port, Legate};

use super::edge::*;

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
    let bye = dialog.request("BYE", 3, &partner.via(&format!("{}-bye", dialog.call)));
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
