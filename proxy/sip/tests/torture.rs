//! Runs the torture corpus in `tests/torture/` (see its README for the naming scheme): valid
//! messages must parse, validate and round-trip; invalid ones must fail with the status their
//! file name gives, or be dropped.

use std::error::Error;
use std::fs;
use std::path::PathBuf;

use bytes::Bytes;
use legate_sip::{
    parse_head, parse_message, validate_request, validate_response, Frame, HeaderKind, Limits,
    Message, Method, ParseError, StartLine, StreamFramer,
};

type TestResult = Result<(), Box<dyn Error>>;

fn corpus(kind: &str) -> Result<Vec<(String, Bytes)>, Box<dyn Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/torture")
        .join(kind);
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sip") {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, Bytes::from(fs::read(&path)?)));
        }
    }
    files.sort();
    Ok(files)
}

fn validate(message: &Message) -> Result<(), ParseError> {
    if message.is_request() {
        validate_request(message).map(drop)
    } else {
        validate_response(message).map(drop)
    }
}

fn parse_and_validate(bytes: Bytes) -> Result<Message, ParseError> {
    let message = parse_message(bytes, &Limits::default())?;
    validate(&message)?;
    Ok(message)
}

/// Header names and values in order, Content-Length left out (serialising rewrites it).
fn fields(message: &Message) -> Vec<(Bytes, Bytes)> {
    message
        .headers
        .iter()
        .filter(|h| h.kind != HeaderKind::ContentLength)
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect()
}

fn round_trip_problem(message: &Message) -> Option<String> {
    let wire = message.to_bytes();
    let again = match parse_and_validate(wire.clone()) {
        Ok(again) => again,
        Err(e) => return Some(format!("re-parse failed: {e}")),
    };
    if again.start != message.start {
        return Some(format!("start line changed: {:?}", again.start));
    }
    if fields(&again) != fields(message) {
        return Some("headers changed".into());
    }
    if again.body != message.body {
        return Some("body changed".into());
    }
    let length = again.headers.first(HeaderKind::ContentLength);
    if length.map(|l| l.as_ref()) != Some(message.body.len().to_string().as_bytes()) {
        return Some(format!("content-length {length:?} is not the body length"));
    }
    if again.to_bytes() != wire {
        return Some("serialising is not stable".into());
    }
    None
}

#[test]
fn valid_messages_parse_validate_and_round_trip() -> TestResult {
    let files = corpus("valid")?;
    assert!(files.len() >= 30, "corpus too small: {}", files.len());
    let mut failures = Vec::new();
    for (name, bytes) in files {
        match parse_and_validate(bytes) {
            Ok(message) => {
                if let Some(problem) = round_trip_problem(&message) {
                    failures.push(format!("{name}: {problem}"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    Ok(())
}

/// What a proxy can answer: the parsed request, or what `parse_head` salvages of it.
fn answer(bytes: Bytes) -> Option<Message> {
    let limits = Limits::default();
    let request = parse_message(bytes.clone(), &limits)
        .or_else(|_| parse_head(bytes, &limits))
        .ok()?;
    request
        .is_request()
        .then(|| Message::response_to(&request, 400, "Bad Request"))
}

#[test]
fn invalid_messages_fail_as_named() -> TestResult {
    let files = corpus("invalid")?;
    assert!(files.len() >= 25, "corpus too small: {}", files.len());
    let mut failures = Vec::new();
    for (name, bytes) in files {
        let answer = answer(bytes.clone());
        let parsed = parse_message(bytes, &Limits::default());
        let is_response = parsed.as_ref().is_ok_and(|m| !m.is_request());
        let outcome = parsed.and_then(|m| validate(&m));
        let expected = name.split('-').next().unwrap_or_default();
        match (expected, outcome) {
            (_, Ok(())) => failures.push(format!("{name}: accepted")),
            ("drop", Err(_)) => {
                // Dropped: a response, or a request with no Via to send an answer along.
                if answer.is_some_and(|a| a.headers.count(HeaderKind::Via) > 0) {
                    failures.push(format!("{name}: would be answered"));
                }
            }
            (code, Err(e)) => {
                if answer.is_none_or(|a| a.headers.count(HeaderKind::Via) == 0) {
                    failures.push(format!("{name}: cannot be answered"));
                }
                if is_response {
                    failures.push(format!("{name}: a response cannot be answered with {code}"));
                } else if e.status_code().to_string() != code {
                    failures.push(format!("{name}: got {} ({e})", e.status_code()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    Ok(())
}

fn valid(name: &str) -> Result<Message, Box<dyn Error>> {
    let (_, bytes) = corpus("valid")?
        .into_iter()
        .find(|(n, _)| n == name)
        .ok_or(format!("no valid/{name}.sip"))?;
    Ok(parse_and_validate(bytes)?)
}

#[test]
fn tortuous_invite_reads_correctly() -> TestResult {
    let message = valid("wsinv")?;
    assert_eq!(message.max_forwards()?, Some(68));
    assert_eq!(message.cseq()?.seq, 9);
    assert_eq!(message.top_via()?.branch(), Some("z9hG4bKws1a"));
    assert_eq!(message.from_header()?.tag(), Some("7yhsj3k"));
    assert_eq!(
        message.from_header()?.display.as_deref(),
        Some("M. Quill \\\"")
    );
    assert_eq!(message.to_header()?.tag(), Some("8321234356"));
    assert_eq!(message.headers.values(HeaderKind::Via).len(), 3);
    let contact = message.headers.values(HeaderKind::Contact);
    assert_eq!(contact.len(), 1);
    let subject = message
        .headers
        .by_name("Subject")
        .next()
        .map(|h| h.value.clone());
    assert_eq!(subject, Some(Bytes::new()));
    let folded = message
        .headers
        .by_name("NewFangledHeader")
        .next()
        .map(|h| h.value.clone());
    assert_eq!(
        folded,
        Some(Bytes::from_static(
            b"newfangled value continued newfangled value"
        ))
    );
    assert!(message.body.starts_with(b"v=0\r\n"));
    Ok(())
}

#[test]
fn specific_valid_expectations() -> TestResult {
    let double = valid("dblreq")?;
    assert_eq!(double.method(), Some(&Method::Register));
    assert!(double.body.is_empty(), "trailing octets must be ignored");

    let odd = valid("intmeth")?;
    assert!(matches!(odd.method(), Some(Method::Extension(m)) if m.starts_with("!odd-Method")));
    assert_eq!(
        odd.to_header()?.display.as_deref(),
        Some("BEL:\x07 NUL:\x00 DEL:\x7f")
    );

    assert_eq!(
        valid("esc02")?.method(),
        Some(&Method::Extension("RE%47IST%45R".into()))
    );
    assert_eq!(valid("longreq")?.headers.count(HeaderKind::Via), 40);
    assert_eq!(valid("zeromf")?.max_forwards()?, Some(0));

    let escaped = valid("escruri")?;
    let uri = legate_sip::Uri::parse(escaped.request_uri().ok_or("no uri")?)?;
    assert_eq!(uri.headers.as_deref(), Some("Route=%3Csip:example.net%3E"));

    for (name, reason) in [("noreason", ""), ("bcast", "OK")] {
        let StartLine::Response(line) = valid(name)?.start else {
            return Err(format!("{name} is not a response").into());
        };
        assert_eq!(line.reason, reason.as_bytes());
    }
    let transports: Vec<legate_sip::Text> = valid("transports")?
        .headers
        .values(HeaderKind::Via)
        .iter()
        .map(|v| legate_sip::Via::parse(v).map(|v| v.transport))
        .collect::<Result<_, _>>()?;
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP", "WSS"]);
    Ok(())
}

/// The same corpus arriving on a stream, in awkward chunks, frames into the same messages.
#[test]
fn corpus_frames_on_a_stream() -> TestResult {
    for (name, bytes) in corpus("valid")? {
        let expected = parse_message(bytes.clone(), &Limits::default())?;
        let mut framer = StreamFramer::new(Limits::default());
        let mut frames = Vec::new();
        for chunk in bytes.chunks(7) {
            framer.extend(chunk);
            while let Some(frame) = framer.next_frame()? {
                frames.push(frame);
            }
        }
        // On a stream, the CRLFCRLF ahead of leading-crlf.sip is a keep-alive ping.
        let Some(first) = frames.iter().find_map(|f| match f {
            Frame::Message(bytes) => Some(bytes),
            Frame::KeepAlive => None,
        }) else {
            return Err(format!("{name}: no frame").into());
        };
        let framed = parse_message(first.clone(), &Limits::default())?;
        assert_eq!(framed, expected, "{name}");
    }
    // Invalid input must never panic the framer, whatever it decides.
    for (_, bytes) in corpus("invalid")? {
        let mut framer = StreamFramer::new(Limits::default());
        framer.extend(&bytes);
        while let Ok(Some(_)) = framer.next_frame() {}
    }
    Ok(())
}
