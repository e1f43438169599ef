//! Everything the writer produces is read back by the crate's own reader, which must see the
//! same header, the same elements and the end of the stream.

use bytes::BytesMut;
use minidom::Element;

use crate::{
    ContentNamespace, Event, Limits, StreamError, StreamErrorCondition as C, StreamHeader,
    StreamReader, StreamWriter, Version, WriteError, DIALBACK_NAMESPACE, STREAM_ERRORS_NAMESPACE,
};

fn header() -> StreamHeader {
    StreamHeader {
        from: Some("example.org".to_owned()),
        to: Some("example.net".to_owned()),
        id: Some("s2s-1".to_owned()),
        version: Version { major: 1, minor: 0 },
        lang: Some("en".to_owned()),
        content_namespace: ContentNamespace::Server,
        dialback: Some(DIALBACK_NAMESPACE.to_owned()),
    }
}

/// Reads a whole output with a fresh reader, failing the test on any refusal.
fn read_back(bytes: &[u8]) -> Vec<Event> {
    let mut reader = StreamReader::new(Limits::default());
    reader.feed(bytes).expect("fed");
    let mut events = Vec::new();
    while let Some(event) = reader.next_event().expect("the reader accepts the output") {
        events.push(event);
    }
    events
}

fn text(bytes: &BytesMut) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8")
}

/// Writes `elements` in a stream opened with `header` and closed, and returns the bytes.
fn stream_with(header: StreamHeader, elements: &[Element]) -> BytesMut {
    let mut out = BytesMut::new();
    let writer = StreamWriter::open(header, &mut out).expect("header written");
    for element in elements {
        writer.element(element, &mut out).expect("element written");
    }
    writer.close(&mut out);
    out
}

/// The elements of a read-back stream, after checking it opened with `header` and ended.
fn elements_of(bytes: &[u8], header: &StreamHeader) -> Vec<Element> {
    let events = read_back(bytes);
    assert_eq!(events.first(), Some(&Event::Header(header.clone())));
    assert_eq!(events.last(), Some(&Event::End));
    events[1..events.len() - 1]
        .iter()
        .map(|event| match event {
            Event::Element { element, .. } => element.clone(),
            other => panic!("expected an element, got {other:?}"),
        })
        .collect()
}

#[test]
fn header_is_written_as_servers_expect_it() {
    let mut out = BytesMut::new();
    StreamWriter::open(header(), &mut out).expect("written");
    assert_eq!(
        text(&out),
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' \
         xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' \
         from='example.org' to='example.net' id='s2s-1' version='1.0' xml:lang='en'>"
    );
    assert_eq!(read_back(&out), vec![Event::Header(header())]);
}

#[test]
fn header_attribute_values_are_escaped() {
    let header = StreamHeader {
        from: Some("a&b'c<d>\"e".to_owned()),
        id: Some("line\nbreak\ttab & 'quote'".to_owned()),
        lang: Some("en'<&".to_owned()),
        ..header()
    };
    let out = stream_with(header.clone(), &[]);
    assert!(text(&out).contains("from='a&amp;b&#39;c&lt;d&gt;&#34;e'"));
    assert_eq!(elements_of(&out, &header), Vec::<Element>::new());
}

#[test]
fn header_without_optional_fields_or_dialback() {
    let header = StreamHeader {
        from: None,
        to: None,
        id: None,
        lang: None,
        dialback: None,
        version: Version { major: 1, minor: 7 },
        ..header()
    };
    let out = stream_with(header.clone(), &[]);
    assert_eq!(
        text(&out),
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' \
         xmlns:stream='http://etherx.jabber.org/streams' version='1.7'></stream:stream>"
    );
    assert_eq!(read_back(&out), vec![Event::Header(header), Event::End]);
}

#[test]
fn a_client_stream_header_round_trips() {
    let header = StreamHeader {
        content_namespace: ContentNamespace::Client,
        dialback: None,
        ..header()
    };
    let out = stream_with(header.clone(), &[]);
    assert!(text(&out).contains("xmlns='jabber:client'"));
    assert_eq!(elements_of(&out, &header), Vec::<Element>::new());
}

/// What a peer sent, read by the reader, comes out in Legate's stream unchanged and without
/// the peer's header declarations repeated on every stanza.
#[test]
fn forwarded_elements_keep_their_content_in_the_stream_scope() {
    let incoming = "<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
        xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\
        <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>\
        </starttls></stream:features>\
        <db:result from='example.net' to='example.org'>b4835385f37fe2895af6c196b59097b1</db:result>\
        <message from='juliet@example.net/balcony' to='romeo@example.org' type='chat' \
        xml:lang='en'><body>Wherefore &lt;3 &amp; caf\u{e9} ]]&gt;</body>\
        <active xmlns='http://jabber.org/protocol/chatstates'/></message>\
        <iq type='set' id='r1'><query xmlns='jabber:iq:roster' xmlns:x='urn:example:x'>\
        <item jid='nurse@example.net' x:flag='1'/></query></iq>\
        <presence><show>away</show><![CDATA[<not markup>]]></presence>";
    let elements: Vec<Element> = read_back(incoming.as_bytes())
        .into_iter()
        .filter_map(|event| match event {
            Event::Element { element, .. } => Some(element),
            _ => None,
        })
        .collect();
    assert_eq!(elements.len(), 5);

    let out = stream_with(header(), &elements);
    assert_eq!(elements_of(&out, &header()), elements);

    let written = text(&out);
    assert!(written.contains("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"));
    assert!(written.contains("<db:result from='example.net' to='example.org'>"));
    assert!(written.contains("<message from='juliet@example.net/balcony'"));
    assert!(written.contains("<active xmlns='http://jabber.org/protocol/chatstates'/>"));
    assert!(written.contains("<presence><show>away</show>&lt;not markup&gt;</presence>"));
    // The header's declarations appear once, on the header.
    assert_eq!(written.matches("xmlns='jabber:server'").count(), 1);
    assert_eq!(written.matches("xmlns:stream=").count(), 1);
    assert_eq!(written.matches("xmlns:db=").count(), 1);
}

#[test]
fn built_elements_with_markup_in_attributes_and_text_round_trip() {
    let message = Element::builder("message", "jabber:server")
        .attr("to".try_into().unwrap(), "o'malley&co<x>@example.net")
        .attr("id".try_into().unwrap(), "a'\"b\r\n\tc")
        .append(
            Element::builder("body", "jabber:server")
                .append("<script>alert('&amp;')</script> ]]> \r\n")
                .build(),
        )
        .build();
    let out = stream_with(header(), std::slice::from_ref(&message));
    assert_eq!(elements_of(&out, &header()), vec![message]);
}

/// A stanza read from a client stream keeps its namespace when written into a server stream:
/// rewriting `jabber:client` to `jabber:server` is the routing layer's decision.
#[test]
fn an_element_in_another_namespace_declares_it() {
    let message = Element::builder("message", "jabber:client").build();
    let out = stream_with(header(), std::slice::from_ref(&message));
    assert!(text(&out).contains("<message xmlns='jabber:client'/>"));
    assert_eq!(elements_of(&out, &header()), vec![message]);
}

#[test]
fn stream_error_with_detail_is_read_back_and_ends_the_stream() {
    let detail = "stanza <message> larger than 512 & 'more' ]]>";
    let error = StreamError::new(C::PolicyViolation, detail);
    let mut out = BytesMut::new();
    let writer = StreamWriter::open(header(), &mut out).expect("header");
    writer.error(&error, &mut out).expect("error written");
    assert!(text(&out).ends_with(
        "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>stanza &lt;message&gt; larger than \
         512 &amp; 'more' ]]&gt;</text></stream:error></stream:stream>"
    ));

    let [error_element] = &elements_of(&out, &header())[..] else {
        panic!("one element expected");
    };
    assert!(error_element.is("error", crate::STREAMS_NAMESPACE));
    let condition = error_element.children().next().expect("a condition");
    assert!(condition.is("policy-violation", STREAM_ERRORS_NAMESPACE));
    let text = error_element
        .get_child("text", STREAM_ERRORS_NAMESPACE)
        .expect("a text");
    assert_eq!(text.text(), detail);
}

#[test]
fn every_condition_is_written_and_read_back() {
    for condition in [
        C::BadFormat,
        C::HostUnknown,
        C::NotWellFormed,
        C::SeeOtherHost,
        C::UnsupportedVersion,
    ] {
        let mut out = BytesMut::new();
        let writer = StreamWriter::open(header(), &mut out).expect("header");
        writer
            .error(&StreamError::new(condition, ""), &mut out)
            .expect("error written");
        let expected = format!(
            "<stream:error><{condition} xmlns='{STREAM_ERRORS_NAMESPACE}'/></stream:error>\
             </stream:stream>"
        );
        assert!(text(&out).ends_with(&expected), "{}", text(&out));
        let [element] = &elements_of(&out, &header())[..] else {
            panic!("one element expected");
        };
        assert!(element.has_child(condition.as_str(), STREAM_ERRORS_NAMESPACE));
        assert_eq!(element.children().count(), 1);
    }
}

#[test]
fn keepalive_is_one_space() {
    let mut out = BytesMut::new();
    let writer = StreamWriter::open(header(), &mut out).expect("header");
    writer.keepalive(&mut out);
    writer.close(&mut out);
    assert_eq!(
        read_back(&out),
        vec![
            Event::Header(header()),
            Event::Whitespace { bytes: 1 },
            Event::End
        ]
    );
}

/// After STARTTLS both sides restart their streams; a new writer opens the new stream.
#[test]
fn a_restarted_stream_is_opened_with_a_new_header() {
    let mut reader = StreamReader::new(Limits::default());
    let mut out = BytesMut::new();
    let writer = StreamWriter::open(header(), &mut out).expect("header");
    let proceed = Element::builder("proceed", "urn:ietf:params:xml:ns:xmpp-tls").build();
    writer.element(&proceed, &mut out).expect("proceed");
    reader.feed(&out).expect("fed");
    assert_eq!(reader.next_event(), Ok(Some(Event::Header(header()))));
    assert!(matches!(
        reader.next_event(),
        Ok(Some(Event::Element { .. }))
    ));

    assert_eq!(reader.restart(), 0);
    let restarted = StreamHeader {
        id: Some("s2s-2".to_owned()),
        ..header()
    };
    let mut out = BytesMut::new();
    StreamWriter::open(restarted.clone(), &mut out).expect("header");
    reader.feed(&out).expect("fed");
    assert_eq!(reader.next_event(), Ok(Some(Event::Header(restarted))));
}

#[test]
fn what_cannot_be_written_is_refused_and_nothing_is_appended() {
    let mut out = BytesMut::new();
    let wrong_dialback = StreamHeader {
        dialback: Some("http://www.w3.org/XML/1998/namespace".to_owned()),
        ..header()
    };
    assert!(matches!(
        StreamWriter::open(wrong_dialback, &mut out),
        Err(WriteError::DialbackNamespace { .. })
    ));
    let control_in_header = StreamHeader {
        id: Some("a\u{1}b".to_owned()),
        ..header()
    };
    assert!(matches!(
        StreamWriter::open(control_in_header, &mut out),
        Err(WriteError::Xml { .. })
    ));
    assert!(out.is_empty());

    let writer = StreamWriter::open(header(), &mut out).expect("header");
    let opened = out.len();
    let control_in_text = Element::builder("message", "jabber:server")
        .append(
            Element::builder("body", "jabber:server")
                .append("bell \u{7}")
                .build(),
        )
        .build();
    assert!(matches!(
        writer.element(&control_in_text, &mut out),
        Err(WriteError::Xml { .. })
    ));
    let bad_name = Element::builder("two words", "jabber:server").build();
    assert_eq!(
        writer.element(&bad_name, &mut out),
        Err(WriteError::ElementName {
            name: "two words".to_owned()
        })
    );
    assert_eq!(out.len(), opened);

    // The writer is still usable after a refusal.
    let presence = Element::builder("presence", "jabber:server").build();
    writer.element(&presence, &mut out).expect("written");
    writer.close(&mut out);
    assert_eq!(elements_of(&out, &header()), vec![presence]);
}
