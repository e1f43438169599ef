use super::*;

fn condition(name: &str) -> StanzaErrorCondition {
    match name.parse() {
        Ok(condition) => condition,
        Err(error) => panic!("{error}"),
    }
}

/// A row of RFC 7247 §7.1 (Table 2): the condition, its code, and for the rows with two codes
/// the case its note names and the code for that case.
type Row = (&'static str, u16, Option<(&'static str, u16)>);

/// RFC 7247 §7.1 as the RFC lays it out.
const XMPP_TO_SIP_ROWS: &[Row] = &[
    ("bad-request", 400, None),
    ("conflict", 400, None),
    ("feature-not-implemented", 405, Some(("bare jid", 501))),
    ("forbidden", 403, Some(("bare jid", 603))),
    ("gone", 410, Some(("new address", 301))),
    ("internal-server-error", 500, None),
    ("item-not-found", 404, Some(("bare jid", 604))),
    ("jid-malformed", 400, None),
    ("not-acceptable", 406, Some(("bare jid", 606))),
    ("not-allowed", 403, None),
    ("not-authorized", 401, None),
    ("policy-violation", 403, None),
    ("recipient-unavailable", 480, Some(("bare jid", 600))),
    ("redirect", 302, None),
    ("registration-required", 407, None),
    ("remote-server-not-found", 404, Some(("unresolved", 408))),
    ("remote-server-timeout", 408, None),
    ("resource-constraint", 500, None),
    ("service-unavailable", 403, None),
    ("subscription-required", 400, None),
    ("undefined-condition", 400, None),
    ("unexpected-request", 491, None),
];

/// RFC 7247 §7.2 (Table 3), one row per listed code.
const SIP_TO_XMPP_ROWS: &[(u16, &str)] = &[
    (300, "redirect"),
    (301, "gone"),
    (302, "redirect"),
    (305, "redirect"),
    (380, "not-acceptable"),
    (400, "bad-request"),
    (401, "not-authorized"),
    (402, "bad-request"),
    (403, "forbidden"),
    (404, "item-not-found"),
    (405, "feature-not-implemented"),
    (406, "not-acceptable"),
    (407, "registration-required"),
    (408, "remote-server-timeout"),
    (410, "gone"),
    (413, "policy-violation"),
    (414, "policy-violation"),
    (415, "not-acceptable"),
    (416, "not-acceptable"),
    (420, "feature-not-implemented"),
    (421, "not-acceptable"),
    (423, "resource-constraint"),
    (430, "recipient-unavailable"),
    (439, "feature-not-implemented"),
    (440, "policy-violation"),
    (480, "recipient-unavailable"),
    (481, "item-not-found"),
    (482, "not-acceptable"),
    (483, "not-acceptable"),
    (484, "item-not-found"),
    (485, "item-not-found"),
    (486, "recipient-unavailable"),
    (487, "recipient-unavailable"),
    (488, "not-acceptable"),
    (489, "policy-violation"),
    (491, "unexpected-request"),
    (493, "bad-request"),
    (500, "internal-server-error"),
    (501, "feature-not-implemented"),
    (502, "remote-server-not-found"),
    (503, "internal-server-error"),
    (504, "remote-server-timeout"),
    (505, "not-acceptable"),
    (513, "policy-violation"),
    (600, "recipient-unavailable"),
    (603, "recipient-unavailable"),
    (604, "item-not-found"),
    (606, "not-acceptable"),
];

fn context(case: &str) -> ErrorContext {
    let mut context = ErrorContext::default();
    match case {
        "bare jid" => context.bare_jid = true,
        "new address" => context.new_address = true,
        "unresolved" => context.unresolved = true,
        _ => panic!("no such case {case}"),
    }
    context
}

#[test]
fn every_condition_maps_to_its_sip_status() {
    for &(name, status, other) in XMPP_TO_SIP_ROWS {
        let condition = condition(name);
        assert_eq!(sip_status_for(condition), status, "{name}");
        assert_eq!(
            sip_status_in(condition, ErrorContext::default()),
            status,
            "{name}"
        );
        match other {
            Some((case, other_status)) => {
                assert_eq!(
                    sip_status_in(condition, context(case)),
                    other_status,
                    "{name}, {case}"
                )
            }
            // Rows without a note ignore the context.
            None => {
                for case in ["bare jid", "new address", "unresolved"] {
                    assert_eq!(
                        sip_status_in(condition, context(case)),
                        status,
                        "{name}, {case}"
                    );
                }
            }
        }
    }
    // The table covers every defined condition, once.
    assert_eq!(XMPP_TO_SIP_ROWS.len(), StanzaErrorCondition::ALL.len());
    for condition in StanzaErrorCondition::ALL {
        let rows = XMPP_TO_SIP_ROWS
            .iter()
            .filter(|row| row.0 == condition.as_str());
        assert_eq!(rows.count(), 1, "{condition}");
    }
}

#[test]
fn service_unavailable_never_becomes_503() {
    let all = ErrorContext {
        bare_jid: true,
        new_address: true,
        unresolved: true,
    };
    for context in [ErrorContext::default(), all] {
        assert_ne!(
            sip_status_in(StanzaErrorCondition::ServiceUnavailable, context),
            503
        );
    }
}

#[test]
fn every_listed_sip_status_maps_to_its_condition() {
    for &(status, name) in SIP_TO_XMPP_ROWS {
        let condition = condition(name);
        assert_eq!(
            stanza_error_for(status),
            (condition.default_type(), condition),
            "{status}"
        );
    }
    assert_eq!(SIP_TO_XMPP_ROWS.len(), SIP_TO_XMPP.len());
}

#[test]
fn unlisted_codes_take_their_class_condition() {
    use StanzaErrorCondition::*;
    for (status, expected) in [
        (303, Redirect),
        (399, Redirect),
        (409, BadRequest),
        (422, BadRequest),
        (470, BadRequest),
        (499, BadRequest),
        (580, InternalServerError),
        (599, InternalServerError),
        (601, RecipientUnavailable),
        (699, RecipientUnavailable),
    ] {
        assert_eq!(stanza_error_for(status).1, expected, "{status}");
    }
}

#[test]
fn codes_that_are_not_errors_give_undefined_condition() {
    for status in [0, 100, 180, 200, 299, 700, 999] {
        assert_eq!(
            stanza_error_for(status),
            (
                StanzaErrorType::Cancel,
                StanzaErrorCondition::UndefinedCondition
            ),
            "{status}"
        );
    }
}

#[test]
fn scenario_alternatives_are_the_rfc_notes() {
    use StanzaErrorCondition::*;
    assert_eq!(other_conditions_for(403), &[NotAllowed, PolicyViolation]);
    assert_eq!(other_conditions_for(404), &[RemoteServerNotFound]);
    assert_eq!(other_conditions_for(408), &[RemoteServerNotFound]);
    assert!(other_conditions_for(400).is_empty());
}

#[test]
fn types_follow_rfc_6120() {
    use StanzaErrorType::*;
    assert_eq!(stanza_error_for(401).0, Auth);
    assert_eq!(stanza_error_for(403).0, Auth);
    assert_eq!(stanza_error_for(407).0, Auth);
    assert_eq!(stanza_error_for(404).0, Cancel);
    assert_eq!(stanza_error_for(400).0, Modify);
    assert_eq!(stanza_error_for(480).0, Wait);
    assert_eq!(stanza_error_for(504).0, Wait);
}

#[test]
fn names_round_trip() {
    for condition in StanzaErrorCondition::ALL {
        assert_eq!(condition.as_str().parse(), Ok(condition));
        assert_eq!(condition.to_string(), condition.as_str());
    }
    assert_eq!(
        "payment-required".parse::<StanzaErrorCondition>(),
        Err(UnknownCondition {
            name: "payment-required".to_owned()
        })
    );
    assert_eq!(StanzaErrorType::Continue.to_string(), "continue");
}
