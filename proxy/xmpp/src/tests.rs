//! Behaviour of the reader as a connector sees it: real stream traffic in any chunking, stream
//! restarts, and each kind of hostile input refused with its stream error condition.

use crate::{Event, Limits, StreamError, StreamErrorCondition as C, StreamReader};

/// A server-to-server stream as Prosody opens it, with the traffic that follows.
const HEADER: &str = "<?xml version='1.0'?>\
    <stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
    xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' \
    id='0e4b8c2d-5f0a-4e57-9d43-3f1b7c1e8a21' from='example.net' to='example.org' version='1.0'>";

const TRAFFIC: &str = "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>\
    <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>\n\
    <db:result from='example.net' to='example.org'>b4835385f37fe2895af6c196b59097b16862406d</db:result>\
    <message from='juliet@example.net/balcony' to='romeo@example.org' type='chat' id='m1' xml:lang='en'>\
    <body>Wherefore art thou, Romeo? &lt;3 &amp; caf\u{e9} &#x263A;</body>\
    <active xmlns='http://jabber.org/protocol/chatstates'/></message> \r\n\t\
    <presence from='juliet@example.net/balcony' to='romeo@example.org'><show>away</show>\
    <![CDATA[<not markup>]]></presence>\
    <iq type='get' id='v1' from='example.net' to='example.org'><query xmlns='jabber:iq:version'/></iq>\
    </stream:stream>";

fn run(reader: &mut StreamReader, chunks: &[&[u8]]) -> (Vec<Event>, Option<StreamError>) {
    let mut events = Vec::new();
    for chunk in chunks {
        if let Err(error) = reader.feed(chunk) {
            return (events, Some(error));
        }
        loop {
            match reader.next_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(error) => return (events, Some(error)),
            }
        }
    }
    (events, None)
}

fn read_all(input: &[u8]) -> (Vec<Event>, Option<StreamError>) {
    run(&mut StreamReader::new(Limits::default()), &[input])
}

/// Whitespace may arrive split differently; everything else must not depend on chunking.
fn merge_whitespace(events: Vec<Event>) -> Vec<Event> {
    let mut merged: Vec<Event> = Vec::new();
    for event in events {
        if let (Some(Event::Whitespace { bytes: total }), Event::Whitespace { bytes }) =
            (merged.last_mut(), &event)
        {
            *total += bytes;
            continue;
        }
        merged.push(event);
    }
    merged
}

fn refused(input: &str) -> StreamError {
    match read_all(input.as_bytes()) {
        (_, Some(error)) => error,
        (events, None) => panic!("accepted {input:?}: {events:?}"),
    }
}

fn stream(body: &str) -> String {
    format!("{HEADER}{body}")
}

#[test]
fn reads_a_prosody_stream() {
    let input = format!("{HEADER}{TRAFFIC}");
    let (events, error) = read_all(input.as_bytes());
    assert_eq!(error, None);

    let Some(Event::Header(header)) = events.first() else {
        panic!("no header: {events:?}")
    };
    assert_eq!(header.from.as_deref(), Some("example.net"));
    assert_eq!(header.to.as_deref(), Some("example.org"));
    assert_eq!(
        header.id.as_deref(),
        Some("0e4b8c2d-5f0a-4e57-9d43-3f1b7c1e8a21")
    );
    assert_eq!(header.lang.as_deref(), Some("en"));
    assert_eq!((header.version.major, header.version.minor), (1, 0));
    assert_eq!(header.content_namespace, crate::ContentNamespace::Server);
    assert_eq!(header.dialback.as_deref(), Some("jabber:server:dialback"));

    let elements: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::Element { element, .. } => Some(element),
            _ => None,
        })
        .collect();
    let names: Vec<_> = elements.iter().map(|e| (e.name(), e.ns())).collect();
    assert_eq!(
        names,
        [
            ("features", "http://etherx.jabber.org/streams".to_owned()),
            ("result", "jabber:server:dialback".to_owned()),
            ("message", "jabber:server".to_owned()),
            ("presence", "jabber:server".to_owned()),
            ("iq", "jabber:server".to_owned()),
        ]
    );
    let body = elements[2]
        .get_child("body", "jabber:server")
        .map(|b| b.text());
    assert_eq!(
        body.as_deref(),
        Some("Wherefore art thou, Romeo? <3 & caf\u{e9} \u{263a}")
    );
    assert_eq!(
        elements[2].attr_ns("http://www.w3.org/XML/1998/namespace", "lang"),
        Some("en")
    );
    assert_eq!(elements[3].text(), "<not markup>");
    let Some(Event::Element { bytes, .. }) = events.get(1) else {
        panic!()
    };
    let features_len = TRAFFIC.find('\n').unwrap_or(0);
    assert_eq!(*bytes, features_len);

    let whitespace: usize = events
        .iter()
        .map(|event| match event {
            Event::Whitespace { bytes } => *bytes,
            _ => 0,
        })
        .sum();
    assert_eq!(whitespace, "\n".len() + " \r\n\t".len());
    assert_eq!(events.last(), Some(&Event::End));
}

#[test]
fn any_split_gives_the_same_events() {
    let input = format!("{HEADER}{TRAFFIC}");
    let input = input.as_bytes();
    let (whole, error) = read_all(input);
    assert_eq!(error, None);
    let whole = merge_whitespace(whole);

    for split in 0..=input.len() {
        let (first, second) = input.split_at(split);
        let mut reader = StreamReader::new(Limits::default());
        let (events, error) = run(&mut reader, &[first, second]);
        assert_eq!(error, None, "split at {split}");
        assert_eq!(merge_whitespace(events), whole, "split at {split}");
    }

    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let (events, error) = run(&mut StreamReader::new(Limits::default()), &bytes);
    assert_eq!(error, None);
    assert_eq!(merge_whitespace(events), whole);
}

#[test]
fn restarts_after_starttls_and_sasl() {
    let mut reader = StreamReader::new(Limits::default());
    let open = "<stream:stream xmlns='jabber:server' \
        xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";
    let (events, error) = run(
        &mut reader,
        &[
            open.as_bytes(),
            b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        ],
    );
    assert_eq!(error, None);
    assert!(
        matches!(events.as_slice(), [Event::Header(_), Event::Element { element, .. }] if element.name() == "starttls")
    );
    assert_eq!(reader.restart(), 0);

    // Over TLS: a new header, with an XML declaration this time.
    let reopened = format!("<?xml version='1.0'?>{open}");
    let auth = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>";
    let (events, error) = run(&mut reader, &[reopened.as_bytes(), auth.as_bytes()]);
    assert_eq!(error, None);
    assert!(
        matches!(events.as_slice(), [Event::Header(h), Event::Element { element, .. }]
        if h.to.as_deref() == Some("example.org") && element.name() == "auth")
    );

    // After SASL success.
    assert_eq!(reader.restart(), 0);
    let (events, error) = run(
        &mut reader,
        &[open.as_bytes(), b"<message/></stream:stream>"],
    );
    assert_eq!(error, None);
    assert!(matches!(
        events.as_slice(),
        [Event::Header(_), Event::Element { .. }, Event::End]
    ));
    assert!(reader.is_ended());
}

#[test]
fn restart_drops_and_counts_bytes_sent_too_early() {
    let mut reader = StreamReader::new(Limits::default());
    let injected = "<message to='victim@example.org'/>";
    let input = stream(&format!(
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>{injected}"
    ));
    reader.feed(input.as_bytes()).ok();
    assert!(matches!(reader.next_event(), Ok(Some(Event::Header(_)))));
    assert!(matches!(
        reader.next_event(),
        Ok(Some(Event::Element { .. }))
    ));
    assert_eq!(reader.restart(), injected.len());
    let (events, error) = run(&mut reader, &[HEADER.as_bytes()]);
    assert_eq!(error, None);
    assert!(matches!(events.as_slice(), [Event::Header(_)]));
}

#[test]
fn malformed_xml_is_not_well_formed() {
    for body in [
        "<message><body></message>",
        "<message to='a' to='b'/>",
        "<message to=unquoted/>",
        "<x:message/>",
        "<message><x:body/></message>",
        "<message>&#0;</message>",
        "</stream:other>",
    ] {
        assert_eq!(refused(&stream(body)).condition, C::NotWellFormed, "{body}");
    }
}

#[test]
fn restricted_xml_is_refused() {
    let dtd = "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x 'y'>]>";
    assert_eq!(
        refused(&format!("{dtd}{}", &HEADER[21..])).condition,
        C::RestrictedXml
    );
    for body in [
        "<!DOCTYPE message>",
        "<message><!ENTITY x 'y'></message>",
        "<message><body>&x;</body></message>",
        "<message to='&lol;'/>",
        "<?xml-stylesheet href='a'?>",
        "<message><!-- hidden --></message>",
        "<!-- between stanzas -->",
    ] {
        let error = refused(&stream(body));
        assert_eq!(error.condition, C::RestrictedXml, "{body}: {error}");
    }
}

#[test]
fn wrong_namespaces_and_versions_are_refused() {
    let header = |attrs: &str| format!("<stream:stream {attrs}>");
    let streams = "xmlns:stream='http://etherx.jabber.org/streams'";
    let cases = [
        (
            header("xmlns='jabber:server' xmlns:stream='http://example.com/streams' version='1.0'"),
            C::InvalidNamespace,
        ),
        (
            format!("<stream:flow xmlns='jabber:server' {streams} version='1.0'>"),
            C::InvalidNamespace,
        ),
        (
            "<stream xmlns='jabber:server' version='1.0'>".to_owned(),
            C::InvalidNamespace,
        ),
        (
            header(&format!("xmlns='jabber:other' {streams} version='1.0'")),
            C::InvalidNamespace,
        ),
        (
            header(&format!("{streams} version='1.0'")),
            C::BadNamespacePrefix,
        ),
        (
            header(&format!("xmlns='jabber:server' {streams} version='2.0'")),
            C::UnsupportedVersion,
        ),
        (
            header(&format!("xmlns='jabber:server' {streams} version='0.9'")),
            C::UnsupportedVersion,
        ),
        (
            header(&format!("xmlns='jabber:server' {streams} version='1'")),
            C::UnsupportedVersion,
        ),
        (
            header(&format!("xmlns='jabber:server' {streams}")),
            C::UnsupportedVersion,
        ),
    ];
    for (input, condition) in cases {
        assert_eq!(refused(&input).condition, condition, "{input}");
    }
    // Leading zeros are ignored, and a later minor version is still 1.x.
    let (events, error) =
        read_all(header(&format!("xmlns='jabber:server' {streams} version='01.07'")).as_bytes());
    assert_eq!(error, None);
    assert!(matches!(events.as_slice(), [Event::Header(h)] if h.version.minor == 7));
}

#[test]
fn encoding_and_stray_text_are_refused() {
    assert_eq!(
        refused(&format!(
            "<?xml version='1.0' encoding='ISO-8859-1'?>{}",
            &HEADER[21..]
        ))
        .condition,
        C::UnsupportedEncoding
    );
    let mut input = stream("<message><body>").into_bytes();
    input.extend_from_slice(b"caf\xe9</body></message>");
    assert_eq!(
        read_all(&input).1.map(|e| e.condition),
        Some(C::UnsupportedEncoding)
    );
    assert_eq!(refused(&stream("hello")).condition, C::InvalidXml);
}

#[test]
fn deep_nesting_stops_at_the_depth_limit() {
    let limits = Limits::default();
    let ok = format!(
        "{}{}",
        "<a>".repeat(limits.max_depth),
        "</a>".repeat(limits.max_depth)
    );
    assert_eq!(read_all(stream(&ok).as_bytes()).1, None);

    let deep = "<a>".repeat(limits.max_depth + 1);
    let error = refused(&stream(&deep));
    assert_eq!(error.condition, C::PolicyViolation);
    assert!(
        error.detail.contains(&limits.max_depth.to_string()),
        "{error}"
    );
}

#[test]
fn a_stanza_of_many_elements_stops_at_the_element_limit() {
    let limits = Limits::default();
    let fits = format!("<iq>{}</iq>", "<a/>".repeat(limits.max_elements - 1));
    assert_eq!(read_all(stream(&fits).as_bytes()).1, None);

    let error = refused(&stream(&format!(
        "<iq>{}</iq>",
        "<a/>".repeat(limits.max_elements)
    )));
    assert_eq!(error.condition, C::PolicyViolation);
    assert!(error.detail.contains("4096 elements"), "{error}");
}

#[test]
fn an_oversized_stanza_stops_at_the_limit_without_being_buffered() {
    let limits = Limits {
        max_stanza_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut reader = StreamReader::new(limits.clone());
    let (_, error) = run(&mut reader, &[HEADER.as_bytes(), b"<message><body>"]);
    assert_eq!(error, None);

    // Ten megabytes of body, fed as a socket would deliver it.
    let chunk = vec![b'a'; 16 * 1024];
    let mut fed = 0usize;
    let mut error = None;
    while fed < 10 * 1024 * 1024 {
        let (_, e) = run(&mut reader, &[&chunk]);
        fed += chunk.len();
        if e.is_some() {
            error = e;
            break;
        }
    }
    let error = error.expect("the stanza was accepted");
    assert_eq!(error.condition, C::PolicyViolation);
    assert!(error.detail.contains("65536"), "{error}");
    assert!(
        fed <= limits.max_stanza_bytes + chunk.len(),
        "read {fed} bytes"
    );
    // The refusal is final.
    assert_eq!(reader.next_event(), Err(error.clone()));
    assert_eq!(reader.feed(b"</body></message>"), Err(error.clone()));
    reader.restart();
    assert_eq!(reader.feed(HEADER.as_bytes()), Err(error));
}

#[test]
fn a_stanza_at_the_limit_is_accepted() {
    let stanza = format!("<message><body>{}</body></message>", "a".repeat(1000));
    let exact = Limits {
        max_stanza_bytes: stanza.len(),
        ..Limits::default()
    };
    let (events, error) = run(
        &mut StreamReader::new(exact.clone()),
        &[HEADER.as_bytes(), stanza.as_bytes()],
    );
    assert_eq!(error, None);
    assert!(
        matches!(events.as_slice(), [_, Event::Element { bytes, .. }] if *bytes == stanza.len())
    );

    let one_less = Limits {
        max_stanza_bytes: stanza.len() - 1,
        ..exact
    };
    let (_, error) = run(
        &mut StreamReader::new(one_less),
        &[HEADER.as_bytes(), stanza.as_bytes()],
    );
    assert_eq!(error.map(|e| e.condition), Some(C::PolicyViolation));
}

#[test]
fn an_endless_header_or_token_is_refused() {
    let limits = Limits {
        max_stanza_bytes: 4096,
        ..Limits::default()
    };
    let attributes: Vec<_> = (0..100)
        .map(|i| format!("a{i}='{}'", "b".repeat(40)))
        .collect();
    let header = format!("<stream:stream {}", attributes.join(" "));
    let (_, error) = run(&mut StreamReader::new(limits.clone()), &[header.as_bytes()]);
    let error = error.expect("accepted");
    assert_eq!(error.condition, C::PolicyViolation);
    assert!(error.detail.contains("stream header"), "{error}");

    let long = stream(&format!("<message to='{}'/>", "x".repeat(20 * 1024)));
    let error = refused(&long);
    assert_eq!(error.condition, C::PolicyViolation);
    assert!(error.detail.contains("token limit"), "{error}");
}

#[test]
fn feeding_more_than_the_buffer_limit_is_refused() {
    let mut reader = StreamReader::new(Limits::default());
    let space = reader.space();
    assert_eq!(reader.feed(&vec![b' '; space]), Ok(()));
    let error = reader.feed(b" ").err().map(|e| e.condition);
    assert_eq!(error, Some(C::PolicyViolation));
}

#[test]
fn line_ends_between_elements_count_the_same_however_split() {
    for ws in [" ", "\r", "\r\n", "\r\r\n ", "\n\r", "\r\r"] {
        let input = stream(&format!("{ws}<a>x</a>{ws}<b/>"));
        let bytes: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
        let (one, _) = run(&mut StreamReader::new(Limits::default()), &bytes);
        let (whole, _) = read_all(input.as_bytes());
        assert_eq!(merge_whitespace(one), merge_whitespace(whole), "{ws:?}");
    }
}

#[test]
fn keepalives_are_reported() {
    let mut reader = StreamReader::new(Limits::default());
    let (_, error) = run(&mut reader, &[HEADER.as_bytes()]);
    assert_eq!(error, None);
    let (events, error) = run(&mut reader, &[b" "]);
    assert_eq!(error, None);
    assert_eq!(events, [Event::Whitespace { bytes: 1 }]);
}
#[test]
fn element_sizes_are_exact_however_the_input_is_split() {
    for body in [
        "<caf\u{e9}>x</caf\u{e9}>",
        "<m a='caf\u{e9}'>x</m>",
        "<m>caf\u{e9}</m>",
        "<m>&#x263A;</m>",
        "<m><b>x</b><c/></m>",
    ] {
        let input = stream(body);
        let bytes: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
        for (events, _) in [
            run(&mut StreamReader::new(Limits::default()), &bytes),
            read_all(input.as_bytes()),
        ] {
            assert!(
                matches!(events.get(1), Some(Event::Element { bytes, .. }) if *bytes == body.len()),
                "{body}: {events:?}"
            );
        }
    }
}
/// minidom's serialiser panics on a prefix declared again inside its scope, so the reader
/// refuses those and every element it hands out can be written back.
#[test]
fn elements_can_always_be_written_back() {
    for body in [
        "<a xmlns:stream='urn:other'/>",
        "<a xmlns='u'><b xmlns='v'><c xmlns='u'/></b></a>",
        "<x:a xmlns:x='1'><b xmlns:y='1'/></x:a>",
        "<a><b xmlns:x='1'/><c xmlns:x='2'/></a>",
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    ] {
        let (events, error) = read_all(stream(body).as_bytes());
        assert_eq!(error, None, "{body}");
        let Some(Event::Element { element, .. }) = events.get(1) else {
            panic!("{body}: {events:?}")
        };
        let mut out = Vec::new();
        assert!(element.write_to(&mut out).is_ok(), "{body}");
    }
    for (body, condition) in [
        ("<a xmlns:x='1'><b xmlns:x='2'/></a>", C::BadNamespacePrefix),
        ("<a xmlns:x='1'><b xmlns:x='1'/></a>", C::BadNamespacePrefix),
        (
            "<a><b xmlns:stream='urn:other'/></a>",
            C::BadNamespacePrefix,
        ),
        (
            "<a><b><c xmlns:db='urn:other'/></b></a>",
            C::BadNamespacePrefix,
        ),
        (
            "<a xmlns:xml='http://www.w3.org/XML/1998/namespace'/>",
            C::BadNamespacePrefix,
        ),
        (
            "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
            C::NotWellFormed,
        ),
        (
            "<a xmlns:x='http://www.w3.org/2000/xmlns/'/>",
            C::NotWellFormed,
        ),
        (
            "<a xmlns='http://www.w3.org/XML/1998/namespace'/>",
            C::NotWellFormed,
        ),
    ] {
        assert_eq!(refused(&stream(body)).condition, condition, "{body}");
    }
}
