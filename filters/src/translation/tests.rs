use std::net::SocketAddr;

use bytes::Bytes;
use legate_sip::{parse_message, Limits, Message};

use super::NAME;
use crate::testing::filter_before_terminal;
use legate_filters_api::{
    call, BoxSipService, BuildContext, Context, ListenerInfo, Side, SipRequest, Transport,
};

const MAPPING: &str = "address_mapping:
  - { internal: corp.internal, external: acme.example }
  - { internal: a.smith@corp.internal, external: alice@acme.example }";

fn context(side: Side) -> BuildContext {
    let addr: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    BuildContext {
        listener: ListenerInfo {
            name: "l".into(),
            side,
            transport: Transport::Udp,
            local_addr: addr,
        },
        resources: http::Extensions::new(),
        metrics: Default::default(),
    }
}

/// The end of the chain: answers 200 with a To tag, echoing what it received in headers the
/// test can read back, and a Contact and identity of the answering side.
fn answer(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    let to = String::from_utf8_lossy(response.headers.first(legate_sip::HeaderKind::To).unwrap())
        .into_owned();
    response
        .headers
        .set(legate_sip::HeaderKind::To, format!("{to};tag=answered"));
    let seen = String::from_utf8_lossy(&request.message.to_bytes()).into_owned();
    for line in seen.lines().take_while(|l| !l.is_empty()) {
        response
            .headers
            .push(legate_sip::Header::other("X-Seen", line.to_string()));
    }
    let answerer = if seen.contains("corp.internal") {
        "a.smith"
    } else {
        "bob"
    };
    response.headers.push(legate_sip::Header::new(
        legate_sip::HeaderKind::Contact,
        format!("<sip:{answerer}@10.0.0.9:5060>"),
    ));
    response.headers.push(legate_sip::Header::other(
        "P-Asserted-Identity",
        format!("<sip:{answerer}@corp.internal>"),
    ));
    response
}

fn chain(side: Side) -> BoxSipService {
    filter_before_terminal(
        NAME,
        serde_yaml::from_str(MAPPING).unwrap(),
        answer,
        &context(side),
    )
    .unwrap()
}

fn request(text: &str) -> SipRequest {
    SipRequest {
        message: parse_message(Bytes::from(text.replace('\n', "\r\n")), &Limits::default())
            .unwrap(),
        context: Context::new(),
    }
}

fn header(message: &Message, name: &str) -> Vec<String> {
    message
        .headers
        .by_name(name)
        .map(|h| String::from_utf8_lossy(&h.value).into_owned())
        .collect()
}

const OUTBOUND: &str = "MESSAGE sip:bob@partner.example SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1
Max-Forwards: 70
From: \"A. Smith\" <sip:a.smith@corp.internal>;tag=a1
To: <sip:bob@partner.example>
Call-ID: c1
CSeq: 1 MESSAGE
Contact: <sip:a.smith@10.0.0.5:5070;transport=tcp>
P-Asserted-Identity: <sip:a.smith@corp.internal>, <tel:+15551234>
Content-Length: 0

";

#[tokio::test]
async fn leaving_requests_carry_federated_addresses_and_responses_come_back_as_sent() {
    let response = call(&chain(Side::Internal), request(OUTBOUND))
        .await
        .unwrap();
    let seen = header(&response.message, "X-Seen").join("\n");
    assert!(
        seen.contains("From: \"A. Smith\" <sip:alice@acme.example>;tag=a1"),
        "{seen}"
    );
    assert!(
        seen.contains("Contact: <sip:alice@10.0.0.5:5070;transport=tcp>"),
        "{seen}"
    );
    assert!(
        seen.contains("P-Asserted-Identity: <sip:alice@acme.example>, <tel:+15551234>"),
        "{seen}"
    );
    assert!(seen.contains("MESSAGE sip:bob@partner.example"), "{seen}");
    assert!(!seen.contains("corp.internal"), "{seen}");

    // The sender gets back exactly the From and To it wrote, with the answerer's tag.
    let message = &response.message;
    assert_eq!(
        header(message, "From"),
        ["\"A. Smith\" <sip:a.smith@corp.internal>;tag=a1"]
    );
    assert_eq!(
        header(message, "To"),
        ["<sip:bob@partner.example>;tag=answered"]
    );
}

const INBOUND: &str = "INVITE sip:alice@acme.example SIP/2.0
Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK-2
Max-Forwards: 70
From: <sip:bob@partner.example>;tag=b1
To: <sip:alice@acme.example>
Call-ID: c2
CSeq: 1 INVITE
Contact: <sip:bob@192.0.2.1:5061;transport=tls>
Content-Length: 0

";

#[tokio::test]
async fn entering_requests_reach_internal_addresses_and_answers_leave_federated() {
    let response = call(&chain(Side::External), request(INBOUND))
        .await
        .unwrap();
    let seen = header(&response.message, "X-Seen").join("\n");
    assert!(
        seen.contains("INVITE sip:a.smith@corp.internal SIP/2.0"),
        "{seen}"
    );
    assert!(seen.contains("To: <sip:a.smith@corp.internal>"), "{seen}");
    // The partner's own addresses are not ours to map.
    assert!(
        seen.contains("From: <sip:bob@partner.example>;tag=b1"),
        "{seen}"
    );
    assert!(
        seen.contains("Contact: <sip:bob@192.0.2.1:5061;transport=tls>"),
        "{seen}"
    );

    let message = &response.message;
    assert_eq!(
        header(message, "To"),
        ["<sip:alice@acme.example>;tag=answered"]
    );
    assert_eq!(header(message, "Contact"), ["<sip:alice@10.0.0.9:5060>"]);
    assert_eq!(
        header(message, "P-Asserted-Identity"),
        ["<sip:alice@acme.example>"]
    );
}

#[tokio::test]
async fn in_dialog_requests_are_mapped_the_same_way_keeping_tags() {
    let bye = "BYE sip:alice@acme.example SIP/2.0
Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK-3
Max-Forwards: 70
From: <sip:bob@partner.example>;tag=b1
To: <sip:alice@acme.example>;tag=x9
Call-ID: c2
CSeq: 2 BYE
Content-Length: 0

";
    let response = call(&chain(Side::External), request(bye)).await.unwrap();
    let seen = header(&response.message, "X-Seen").join("\n");
    assert!(
        seen.contains("To: <sip:a.smith@corp.internal>;tag=x9"),
        "{seen}"
    );
    assert_eq!(
        header(&response.message, "To"),
        ["<sip:alice@acme.example>;tag=x9"]
    );
}

#[test]
fn mappings_that_cannot_be_undone_or_make_no_sense_are_config_errors() {
    let build = |config: &str| {
        filter_before_terminal(
            NAME,
            serde_yaml::from_str(config).unwrap(),
            answer,
            &context(Side::Internal),
        )
        .map(|_| ())
        .map_err(|e| format!("{}: {}", e.field_path, e.message))
    };
    let error = build("address_mapping:\n  - { internal: a.internal, external: acme.example }\n  - { internal: b.internal, external: acme.example }").unwrap_err();
    assert!(
        error.contains("address_mapping[1].external") && error.contains("reversible"),
        "{error}"
    );
    let error =
        build("address_mapping:\n  - { internal: corp.internal, external: alice@acme.example }")
            .unwrap_err();
    assert!(error.contains("address_mapping[0].external"), "{error}");
    let error = build("address_mapping:\n  - { internal: 'bad domain', external: acme.example }")
        .unwrap_err();
    assert!(error.contains("address_mapping[0].internal"), "{error}");
    let error = build("address_mapping: []").unwrap_err();
    assert!(error.contains("at least one"), "{error}");
    let error = build("~").unwrap_err();
    assert!(error.contains("address_mapping"), "{error}");
    let error =
        build("address_mapping:\n  - { internal: a.example, extrnal: b.example }").unwrap_err();
    assert!(error.contains("extrnal"), "{error}");
}

mod by_directory {
    use std::sync::Arc;

    use super::*;
    use legate_directory::StaticDirectory;
    use legate_filters_api::LookupFuture;
    use legate_filters_api::{Directories, Directory, DirectoryError};

    const USERS: &str = "users:
  - { user: asmith, domain: corp.internal, attributes: { federatedAddress: Alice.Smith@acme.example } }
  - { user: x1, domain: corp.internal, attributes: { federatedAddress: shared@acme.example } }
  - { user: x2, domain: corp.internal, attributes: { federatedAddress: shared@acme.example } }
";

    const CONFIG: &str = "address_mapping:
  - { internal: corp.internal, external: acme.example }
directory_mapping: { directory: corp, attribute: federatedAddress }";

    struct Down;

    impl Directory for Down {
        fn lookup<'a>(&'a self, _user: &'a str, _domain: &'a str) -> LookupFuture<'a> {
            Box::pin(std::future::ready(Err(DirectoryError::Unavailable {
                reason: "ldap://10.0.0.7 timed out".into(),
            })))
        }
    }

    fn chain_with(side: Side, directory: Arc<dyn Directory>) -> BoxSipService {
        let mut directories = Directories::new();
        directories.insert("corp", directory);
        let mut context = context(side);
        context.resources.insert(directories);
        filter_before_terminal(
            NAME,
            serde_yaml::from_str(CONFIG).unwrap(),
            answer,
            &context,
        )
        .unwrap()
    }

    fn chain(side: Side) -> BoxSipService {
        chain_with(
            side,
            Arc::new(StaticDirectory::from_yaml(USERS, "inline").unwrap()),
        )
    }

    fn message(from: &str, to: &str) -> SipRequest {
        request(&format!(
            "MESSAGE sip:{to} SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-d
Max-Forwards: 70
From: <sip:{from}>;tag=a1
To: <sip:{to}>
Call-ID: d1
CSeq: 1 MESSAGE
Content-Length: 0

"
        ))
    }

    #[tokio::test]
    async fn a_users_federated_address_comes_from_the_directory_both_ways() {
        let out = call(
            &chain(Side::Internal),
            message("asmith@corp.internal", "bob@partner.example"),
        )
        .await
        .unwrap();
        let seen = header(&out.message, "X-Seen").join("\n");
        assert!(
            seen.contains("From: <sip:alice.smith@acme.example>;tag=a1"),
            "{seen}"
        );

        let inbound = call(
            &chain(Side::External),
            message("bob@partner.example", "alice.smith@acme.example"),
        )
        .await
        .unwrap();
        let seen = header(&inbound.message, "X-Seen").join("\n");
        assert!(
            seen.contains("MESSAGE sip:asmith@corp.internal SIP/2.0"),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn users_without_the_attribute_or_sharing_a_value_fall_back_to_the_rules() {
        let out = call(
            &chain(Side::Internal),
            message("nobody@corp.internal", "bob@partner.example"),
        )
        .await
        .unwrap();
        let seen = header(&out.message, "X-Seen").join("\n");
        assert!(
            seen.contains("From: <sip:nobody@acme.example>;tag=a1"),
            "{seen}"
        );

        let inbound = call(
            &chain(Side::External),
            message("bob@partner.example", "shared@acme.example"),
        )
        .await
        .unwrap();
        let seen = header(&inbound.message, "X-Seen").join("\n");
        assert!(
            seen.contains("MESSAGE sip:shared@corp.internal SIP/2.0"),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn a_directory_that_cannot_be_asked_stops_the_message_with_a_clean_503() {
        let response = call(
            &chain_with(Side::Internal, Arc::new(Down)),
            message("asmith@corp.internal", "bob@partner.example"),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(header(&response.message, "Retry-After"), ["30"]);
        let text = String::from_utf8_lossy(&response.message.to_bytes()).into_owned();
        assert!(!text.contains("10.0.0.7"), "{text}");
    }

    #[test]
    fn a_mapping_directory_that_does_not_exist_is_a_config_error() {
        let error = filter_before_terminal(
            NAME,
            serde_yaml::from_str(CONFIG).unwrap(),
            answer,
            &context(Side::Internal),
        )
        .err()
        .unwrap();
        assert!(
            error.field_path.contains("directory_mapping.directory"),
            "{}",
            error.field_path
        );
    }
}
