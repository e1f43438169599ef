//! The authenticator in the exported harness, on an external listener, in front of a filter
//! that is not safe for untrusted peers without one.

use std::sync::Arc;

use legate_filters_api::testing::{request, Harness};
use legate_filters_api::{Authenticated, PeerConfig, Peers, Side, SipRequest};
use legate_sip::Message;
use sha2::{Digest, Sha256};

use super::{PartnerKeyFactory, NAME};

const KEY: &str = "correct horse battery staple";

fn peers() -> Peers {
    let yaml = "
- name: partner-a
  domains: [partner-a.example]
  reach: { address: '127.0.0.1:5061' }
  trust_bundle: partner-a.pem
";
    let peers: Vec<PeerConfig> = serde_yaml::from_str(yaml).unwrap();
    Peers::new(peers)
}

fn config() -> String {
    let digest: String = Sha256::digest(KEY)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("keys: [ {{ peer: partner-a, sha256: '{digest}' }} ]")
}

/// Answers 200, saying in `X-Partner` who the chain vouched for and whether the key went on.
fn upstream(request: &SipRequest) -> Message {
    let mut response = Message::response_to(&request.message, 200, "OK");
    let who = match request.context.get::<Authenticated>() {
        Some(Authenticated::Peer { name, domain }) => format!("{name} {domain}"),
        _ => "nobody".into(),
    };
    response
        .headers
        .push(legate_sip::Header::other("X-Partner", who));
    let key_went_on = request
        .message
        .headers
        .by_name("X-Example-Partner-Key")
        .count();
    response.headers.push(legate_sip::Header::other(
        "X-Key-Copies",
        key_went_on.to_string(),
    ));
    response
}

fn harness() -> Harness {
    Harness::new(Side::External)
        .with_resource(peers())
        .register(Arc::new(PartnerKeyFactory))
        .unwrap()
        .answering(upstream)
}

fn message(from: &str, key: Option<&str>) -> SipRequest {
    let key = key.map_or(String::new(), |key| {
        format!("X-Example-Partner-Key: {key}\n")
    });
    request(&format!(
        "MESSAGE sip:bob@corp.example SIP/2.0\nFrom: <sip:{from}>;tag=1\n{key}\nhi"
    ))
}

fn header(response: &legate_filters_api::SipResponse, name: &str) -> String {
    let header = response.message.headers.by_name(name).next().unwrap();
    String::from_utf8_lossy(&header.value).into_owned()
}

#[tokio::test]
async fn the_right_key_vouches_for_the_partner_and_stays_behind() {
    let harness = harness();
    let chain = harness.chain(&[(NAME, &config())]).unwrap();
    let response = harness
        .run(&chain, message("alice@partner-a.example", Some(KEY)))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "X-Partner"),
        "partner-a partner-a.example"
    );
    assert_eq!(header(&response, "X-Key-Copies"), "0");
}

#[tokio::test]
async fn no_key_a_wrong_key_or_a_foreign_domain_is_refused_under_its_rule() {
    let harness = harness();
    let chain = harness.chain(&[(NAME, &config())]).unwrap();
    for (from, key, rule) in [
        ("alice@partner-a.example", None, "missing-key"),
        ("alice@partner-a.example", Some("guess"), "unknown-key"),
        ("boss@victim.example", Some(KEY), "domain-not-owned"),
    ] {
        let response = harness.run(&chain, message(from, key)).await;
        assert_eq!(response.status(), 403, "{rule}");
        let refusal = response.refusal.unwrap();
        assert_eq!(refusal.filter, NAME);
        assert_eq!(refusal.rule_id.as_deref(), Some(rule));
    }
}

#[test]
fn it_is_an_authenticator_the_chain_check_relies_on() {
    // The DLP filter is safe for untrusted peers; a header check standing for any filter that
    // is not must come after an authenticator on an external listener.
    use legate_filters_api::{BuildContext, FilterConfigError, FilterFactory, FilterLayer};
    struct Unvetted;
    impl FilterFactory for Unvetted {
        fn name(&self) -> &'static str {
            "example.filters.sip.unvetted"
        }
        fn safe_for_untrusted(&self) -> bool {
            false
        }
        fn build(
            &self,
            _config: &serde_yaml::Value,
            _context: &BuildContext,
        ) -> Result<FilterLayer, FilterConfigError> {
            Ok(Arc::new(|inner| inner))
        }
    }
    let harness = harness().register(Arc::new(Unvetted)).unwrap();
    let unvetted = "example.filters.sip.unvetted";
    assert!(harness.chain(&[(unvetted, "")]).is_err());
    assert!(harness.chain(&[(NAME, &config()), (unvetted, "")]).is_ok());
}

#[test]
fn a_key_for_an_unknown_partner_is_refused_at_build() {
    let error = harness()
        .chain(&[(NAME, "keys: [ { peer: nobody, sha256: '00' } ]")])
        .err()
        .unwrap();
    assert_eq!(error.field_path, "[0].config.keys[0].peer");
}
