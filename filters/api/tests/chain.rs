//! Chains as Legate builds them: shape, the authenticator rule, hooks and refusals, through the
//! exported harness.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use legate_filters_api::testing::{request, Harness};
use legate_filters_api::{
    hook_layer, Authenticated, BuildContext, FilterConfigError, FilterFactory, FilterLayer, Hook,
    Refusal, Side, SipRequest, SipResponse, Verdict, ROUTER,
};

/// A hook refusing requests whose body says `no`, and marking every response it sees.
struct Gatekeeper;

impl Hook for Gatekeeper {
    async fn on_request(&self, request: &mut SipRequest) -> Verdict {
        if &request.message.body[..] == b"no" {
            let refusal = Refusal::new(GATEKEEPER, 403, "Forbidden").warning("said no");
            return Verdict::Refuse(refusal.rule("body-no"));
        }
        Verdict::Continue
    }

    fn on_response(&self, response: &mut SipResponse) {
        let header = legate_sip::Header::other("X-Seen-By", "gatekeeper");
        response.message.headers.push(header);
    }
}

const GATEKEEPER: &str = "acme.filters.sip.gatekeeper";

struct GatekeeperFactory;

impl FilterFactory for GatekeeperFactory {
    fn name(&self) -> &'static str {
        GATEKEEPER
    }
    fn safe_for_untrusted(&self) -> bool {
        false
    }
    fn build(
        &self,
        config: &serde_yaml::Value,
        _context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        FilterConfigError::expect_no_config(config, "takes no config")?;
        Ok(hook_layer(Gatekeeper))
    }
}

/// A vendor's authenticator: trusts whoever sends `X-Acme-Key: open-sesame`.
struct KeyCheck;

impl Hook for KeyCheck {
    async fn on_request(&self, request: &mut SipRequest) -> Verdict {
        let key = request.message.headers.by_name("X-Acme-Key").next();
        if key.is_some_and(|header| &header.value[..] == b"open-sesame") {
            request.context.insert(Authenticated::Peer {
                name: "partner".into(),
                domain: "example.com".into(),
            });
            return Verdict::Continue;
        }
        Verdict::Refuse(Refusal::new(KEY_CHECK, 403, "Forbidden"))
    }
}

const KEY_CHECK: &str = "acme.filters.sip.key_check";

struct KeyCheckFactory;

impl FilterFactory for KeyCheckFactory {
    fn name(&self) -> &'static str {
        KEY_CHECK
    }
    fn safe_for_untrusted(&self) -> bool {
        true
    }
    fn authenticates_peers(&self) -> bool {
        true
    }
    fn build(
        &self,
        _config: &serde_yaml::Value,
        _context: &BuildContext,
    ) -> Result<FilterLayer, FilterConfigError> {
        Ok(hook_layer(KeyCheck))
    }
}

fn harness(side: Side) -> Harness {
    Harness::new(side)
        .register(Arc::new(GatekeeperFactory))
        .and_then(|harness| harness.register(Arc::new(KeyCheckFactory)))
        .unwrap()
}

#[tokio::test]
async fn a_hook_refuses_with_a_typed_refusal_and_sees_responses_on_the_way_back() {
    let harness = harness(Side::Internal);
    let chain = harness.chain(&[(GATEKEEPER, "")]).unwrap();

    let refused = harness
        .run(&chain, request("MESSAGE sip:bob@example.org SIP/2.0\n\nno"))
        .await;
    assert_eq!(refused.status(), 403);
    let refusal = refused.refusal.as_ref().unwrap();
    assert_eq!(refusal.filter, GATEKEEPER);
    assert_eq!(refusal.rule_id.as_deref(), Some("body-no"));
    let warning = refused.message.headers.by_name("Warning").next().unwrap();
    assert_eq!(&warning.value[..], b"399 legate \"said no\"");

    let passed = harness
        .run(
            &chain,
            request("MESSAGE sip:bob@example.org SIP/2.0\n\nyes"),
        )
        .await;
    assert_eq!(passed.status(), 200);
    assert!(passed.refusal.is_none());
    assert!(passed.message.headers.by_name("X-Seen-By").next().is_some());
}

#[test]
fn unvetted_filters_face_partners_only_behind_a_declared_authenticator() {
    let external = harness(Side::External);
    let error = external.chain(&[(GATEKEEPER, "")]).err().unwrap();
    assert_eq!(error.field_path, "[0].name");
    assert!(error.message.contains(KEY_CHECK), "{error}");
    assert!(external.chain(&[(KEY_CHECK, ""), (GATEKEEPER, "")]).is_ok());
    assert!(harness(Side::Internal).chain(&[(GATEKEEPER, "")]).is_ok());
}

#[test]
fn every_chain_ends_with_the_router_and_only_there() {
    let harness = harness(Side::Internal);
    let spec = |name: &str, config: &str| legate_api::FilterConfig {
        name: name.into(),
        config: serde_yaml::from_str(config).unwrap(),
    };
    let mut registry = legate_filters_api::Registry::new();
    registry.register(Arc::new(GatekeeperFactory)).unwrap();
    let build = |specs: Vec<legate_api::FilterConfig>| {
        legate_filters_api::build_chain(&registry, &specs, harness.context(), None)
    };

    let error = build(vec![]).err().unwrap();
    assert!(error.message.contains(ROUTER), "{error}");
    let error = build(vec![spec(GATEKEEPER, "~")]).err().unwrap();
    assert_eq!(error.field_path, "[0].name");
    assert!(
        error.message.contains("must end with the router"),
        "{error}"
    );
    let error = build(vec![spec(ROUTER, "~"), spec(ROUTER, "~")])
        .err()
        .unwrap();
    assert_eq!(error.field_path, "[0].name");
    let error = build(vec![spec(ROUTER, "{ routes: [] }")]).err().unwrap();
    assert_eq!(error.field_path, "[0].config");
    let error = build(vec![spec("acme.filters.sip.nope", "~"), spec(ROUTER, "~")])
        .err()
        .unwrap();
    assert!(error.message.contains("unknown filter"), "{error}");
    assert!(build(vec![spec(ROUTER, "~")]).is_ok());
}

#[tokio::test]
async fn a_chain_built_to_be_checked_answers_500_when_run() {
    let harness = harness(Side::Internal);
    let specs = vec![legate_api::FilterConfig {
        name: ROUTER.into(),
        config: serde_yaml::Value::Null,
    }];
    let registry = legate_filters_api::Registry::new();
    let chain =
        legate_filters_api::build_chain(&registry, &specs, harness.context(), None).unwrap();
    let response = harness
        .run(&chain, request("OPTIONS sip:bob@example.org SIP/2.0"))
        .await;
    assert_eq!(response.status(), 500);
}
