use super::*;

fn jid(s: &str) -> Jid {
    Jid::new(s).expect("a valid jid")
}

fn to_jid(uri: &str) -> String {
    match jid_for_sip_uri(uri) {
        Ok(jid) => jid.to_string(),
        Err(error) => panic!("{uri} did not map: {error}"),
    }
}

/// RFC 7247 §6.4's examples, SIP to XMPP.
#[test]
fn rfc_examples_sip_to_xmpp() {
    assert_eq!(to_jid("sip:f%C3%BC@sip.example"), "f\u{fc}@sip.example");
    assert_eq!(
        to_jid("sip:o'malley@sip.example"),
        "o\\27malley@sip.example"
    );
    assert_eq!(to_jid("sip:foo@sip.example;gr=bar"), "foo@sip.example/bar");
}

/// RFC 7247 §6.5's examples, XMPP to SIP.
#[test]
fn rfc_examples_xmpp_to_sip() {
    let sip = |address: &str| sip_uri_for_jid(&jid(address), ResourceMapping::Gruu);
    assert_eq!(
        sip("m\\26m@xmpp.example"),
        Ok("sip:m&m@xmpp.example".to_owned())
    );
    assert_eq!(
        sip("tsch\u{fc}ss@xmpp.example"),
        Ok("sip:tsch%C3%BCss@xmpp.example".to_owned())
    );
    assert_eq!(
        sip("baz@xmpp.example/qux"),
        Ok("sip:baz@xmpp.example;gr=qux".to_owned())
    );
}

#[test]
fn characters_a_localpart_forbids_travel_as_jid_escapes() {
    for (uri, address) in [
        ("sip:o'malley@sip.example", "o\\27malley@sip.example"),
        ("sip:tom&jerry@sip.example", "tom\\26jerry@sip.example"),
        ("sip:a/b@sip.example", "a\\2fb@sip.example"),
        ("sip:a%2Fb@sip.example", "a\\2fb@sip.example"),
    ] {
        assert_eq!(to_jid(uri), address, "{uri}");
    }
    // And back, unescaped ('/' needs no percent-escape in a user part).
    assert_eq!(
        sip_uri_for_jid(&jid("a\\2fb\\26c\\27d@sip.example"), ResourceMapping::Drop),
        Ok("sip:a/b&c'd@sip.example".to_owned())
    );
    // Other backslashes are not escapes and are percent-encoded.
    assert_eq!(
        sip_uri_for_jid(&jid("a\\5cb@sip.example"), ResourceMapping::Drop),
        Ok("sip:a%5C5cb@sip.example".to_owned())
    );
}

#[test]
fn address_of_record_both_ways() {
    assert_eq!(
        sip_uri_for_jid(&jid("juliet@example.com"), ResourceMapping::Drop),
        Ok("sip:juliet@example.com".to_owned())
    );
    assert_eq!(to_jid("sip:juliet@example.com"), "juliet@example.com");
}

#[test]
fn resource_is_dropped_or_carried_as_a_gruu() {
    let full = jid("romeo@example.net/dr4hcr0st3lup4c");
    assert_eq!(
        sip_uri_for_jid(&full, ResourceMapping::Drop),
        Ok("sip:romeo@example.net".to_owned())
    );
    assert_eq!(
        sip_uri_for_jid(&full, ResourceMapping::Gruu),
        Ok("sip:romeo@example.net;gr=dr4hcr0st3lup4c".to_owned())
    );
    assert_eq!(
        to_jid("sip:romeo@example.net;gr=dr4hcr0st3lup4c"),
        full.to_string()
    );
    // A bare JID has no resource to carry.
    assert_eq!(
        sip_uri_for_jid(&jid("romeo@example.net"), ResourceMapping::Gruu),
        Ok("sip:romeo@example.net".to_owned())
    );
}

#[test]
fn gruu_escapes_what_a_parameter_value_cannot_hold() {
    let full = jid("romeo@example.net/balcony window;1");
    let uri = sip_uri_for_jid(&full, ResourceMapping::Gruu).expect("maps");
    assert_eq!(uri, "sip:romeo@example.net;gr=balcony%20window%3B1");
    assert_eq!(to_jid(&uri), full.to_string());
}

#[test]
fn sips_pres_and_im_schemes_map_like_sip() {
    for uri in [
        "sips:juliet@example.com",
        "pres:juliet@example.com",
        "im:juliet@example.com",
        "SIP:juliet@example.com",
    ] {
        assert_eq!(to_jid(uri), "juliet@example.com", "{uri}");
    }
}

#[test]
fn parameters_and_headers_other_than_gr_are_not_part_of_the_address() {
    assert_eq!(
        to_jid("sip:juliet@example.com;transport=tcp;lr?subject=hi"),
        "juliet@example.com"
    );
    assert_eq!(
        to_jid("sip:juliet@example.com;GR=balcony;lr"),
        "juliet@example.com/balcony"
    );
}

#[test]
fn localpart_is_case_mapped_and_domain_lower_cased() {
    assert_eq!(to_jid("sip:Juliet@Example.COM"), "juliet@example.com");
    assert_eq!(to_jid("sip:juliet@example.com."), "juliet@example.com");
}

#[test]
fn escapes_in_the_user_part_are_decoded() {
    assert_eq!(to_jid("sip:j%75liet@example.com"), "juliet@example.com");
    assert_eq!(to_jid("sip:caf%C3%A9@example.com"), "café@example.com");
}

#[test]
fn localpart_characters_sip_cannot_carry_are_escaped() {
    let jid = jid("café#1@example.com");
    let uri = sip_uri_for_jid(&jid, ResourceMapping::Drop).expect("maps");
    assert_eq!(uri, "sip:caf%C3%A9%231@example.com");
    assert_eq!(to_jid(&uri), jid.to_string());
}

#[test]
fn user_unreserved_characters_pass_unescaped() {
    let jid = jid("a+b=c$d,e;f?g!h~i*j(k)l@example.com");
    let uri = sip_uri_for_jid(&jid, ResourceMapping::Drop).expect("maps");
    assert_eq!(uri, "sip:a+b=c$d,e;f?g!h~i*j(k)l@example.com");
    assert_eq!(to_jid(&uri), jid.to_string());
}

#[test]
fn round_trips_from_xmpp() {
    for address in [
        "juliet@example.com",
        "romeo.montague@example.net",
        "user_1-2@sub.example.org",
        "example.com",
        "juliet@192.0.2.7",
        "juliet@[2001:db8::1]",
        "o\\27malley@sip.example",
        "a\\5cb@sip.example",
        "tsch\u{fc}ss@xmpp.example",
    ] {
        let uri = sip_uri_for_jid(&jid(address), ResourceMapping::Gruu).expect("maps");
        assert_eq!(to_jid(&uri), address, "{address} via {uri}");
    }
}

#[test]
fn internationalised_domains_are_a_labels_in_sip_and_u_labels_in_xmpp() {
    let uri = sip_uri_for_jid(&jid("juliet@bücher.example"), ResourceMapping::Drop).expect("maps");
    assert_eq!(uri, "sip:juliet@xn--bcher-kva.example");
    assert_eq!(to_jid(&uri), "juliet@bücher.example");
    assert_eq!(
        to_jid("sip:juliet@XN--BCHER-KVA.example"),
        "juliet@bücher.example"
    );
}

#[test]
fn domain_only_uri_maps_to_a_domain_jid() {
    assert_eq!(to_jid("sip:example.com"), "example.com");
    assert_eq!(
        sip_uri_for_jid(&jid("example.com"), ResourceMapping::Drop),
        Ok("sip:example.com".to_owned())
    );
}

fn refused(uri: &str) -> AddressError {
    match jid_for_sip_uri(uri) {
        Ok(jid) => panic!("{uri} mapped to {jid}"),
        Err(error) => error,
    }
}

#[test]
fn user_parts_that_cannot_be_localparts_are_refused() {
    for (uri, localpart, forbidden) in [
        ("sip:juliet%40home@example.com", "juliet@home", '@'),
        ("sip:%22juliet%22@example.com", "\"juliet\"", '"'),
        ("sip:a%3Cb%3E@example.com", "a<b>", '<'),
        ("sip:a%3Ab@example.com", "a:b", ':'),
        // Width mapping makes a fullwidth at sign an '@'.
        ("sip:a%EF%BC%A0b@example.com", "a\u{ff20}b", '@'),
    ] {
        assert_eq!(
            refused(uri),
            AddressError::ForbiddenInLocalpart {
                localpart: localpart.to_owned(),
                forbidden
            },
            "{uri}"
        );
    }
}

#[test]
fn user_parts_already_holding_a_jid_escape_are_refused() {
    // "\27" would come back to SIP as "'", a different user.
    assert_eq!(
        refused("sip:o%5C27malley@example.com"),
        AddressError::AmbiguousEscape {
            localpart: "o\\27malley".to_owned(),
            escape: "\\27"
        }
    );
    // Case mapping would turn "\2F" into the escape "\2f".
    assert!(matches!(
        refused("sip:a%5C2Fb@example.com"),
        AddressError::AmbiguousEscape { escape: "\\2f", .. }
    ));
}

#[test]
fn user_parts_failing_precis_are_refused() {
    for uri in [
        "sip:juliet%20capulet@example.com", // space: not in the IdentifierClass
        "sip:%E2%85%A8@example.com",        // Ⅸ: a compatibility character
        "sip:%E2%98%83@example.com",        // ☃: a symbol
        "sip:%07bell@example.com",          // a control character
    ] {
        assert!(matches!(refused(uri), AddressError::Precis { .. }), "{uri}");
    }
}

#[test]
fn localparts_nodeprep_would_change_are_refused() {
    // PRECIS keeps 'ß'; RFC 6122 nodeprep folds it to "ss", which is another account.
    assert_eq!(
        refused("sip:stra%C3%9Fe@example.com"),
        AddressError::UnstableLocalpart {
            localpart: "straße".to_owned(),
            prepared: "strasse".to_owned()
        }
    );
}

#[test]
fn malformed_user_parts_are_refused() {
    assert!(matches!(
        refused("sip:a%2@example.com"),
        AddressError::InvalidUser { .. }
    ));
    assert!(matches!(
        refused("sip:a%zz@example.com"),
        AddressError::InvalidUser { .. }
    ));
    assert!(matches!(
        refused("sip:a b@example.com"),
        AddressError::InvalidUser { .. }
    ));
    assert!(matches!(
        refused("sip:a\"b@example.com"),
        AddressError::InvalidUser { .. }
    ));
    assert_eq!(
        refused("sip:%FF@example.com"),
        AddressError::NotUtf8 {
            user: "%FF".to_owned()
        }
    );
    assert_eq!(refused("sip:@example.com"), AddressError::EmptyUser);
    assert_eq!(
        refused("sip:juliet:secret@example.com"),
        AddressError::Password
    );
}

#[test]
fn over_long_localparts_are_refused() {
    let uri = format!("sip:{}@example.com", "a".repeat(1024));
    assert_eq!(refused(&uri), AddressError::TooLong { part: "localpart" });
}

#[test]
fn uris_that_are_not_addresses_are_refused() {
    assert_eq!(
        refused("tel:+15551234"),
        AddressError::UnsupportedScheme {
            scheme: "tel".to_owned()
        }
    );
    assert!(matches!(
        refused("juliet"),
        AddressError::MissingScheme { .. }
    ));
    assert_eq!(refused("sip:juliet@"), AddressError::MissingHost);
    assert_eq!(
        refused("sip:juliet@example.com:5060"),
        AddressError::Port {
            port: "5060".to_owned()
        }
    );
    assert_eq!(
        refused("sip:juliet@[2001:db8::1]:5061"),
        AddressError::Port {
            port: "5061".to_owned()
        }
    );
    assert_eq!(
        refused("sip:juliet@example.com;gr"),
        AddressError::ParameterWithoutValue { parameter: "gr" }
    );
}

#[test]
fn hosts_that_are_not_host_names_are_refused() {
    for uri in [
        "sip:juliet@exa_mple.com",
        "sip:juliet@-example.com",
        "sip:juliet@example..com",
        "sip:juliet@example.123",
        "sip:juliet@[2001:db8::1",
        "sip:juliet@xn--zz.example",
    ] {
        assert!(
            matches!(refused(uri), AddressError::InvalidDomain { .. }),
            "{uri}"
        );
    }
}

#[test]
fn jid_domains_that_are_not_sip_host_names_are_refused() {
    // Valid as a JID domainpart, but RFC 3261 host names have no underscore.
    let result = sip_uri_for_jid(&jid("juliet@under_score.example"), ResourceMapping::Drop);
    assert!(
        matches!(result, Err(AddressError::InvalidDomain { .. })),
        "{result:?}"
    );
}

#[test]
fn errors_read_as_lowercase_sentences() {
    let error = refused("sip:juliet%40home@example.com");
    assert_eq!(
        error.to_string(),
        "localpart \"juliet@home\" contains '@', which rfc 7622 forbids in a localpart"
    );
}
