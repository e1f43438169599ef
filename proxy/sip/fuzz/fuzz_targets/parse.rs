//! Feeds arbitrary bytes through everything a listener does with them: stream framing (with the
//! input split at a point taken from the data), datagram parsing, validation, serialisation and
//! re-parsing. Any panic is a bug; so is a valid message that does not survive its own
//! serialisation.

#![no_main]

use bytes::Bytes;
use legate_sip::{
    parse_head, parse_message, validate_request, validate_response, Frame, Limits, Message,
    ParseError, StreamFramer,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();

    // As a datagram, and as what is salvaged of it to answer a refused request.
    check(Bytes::copy_from_slice(data), &limits);
    if let Ok(message) = parse_head(Bytes::copy_from_slice(data), &limits) {
        exercise(&message);
        let _ = message.to_bytes();
    }

    // As a stream arriving in two reads, split where the first byte says.
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (first, second) = data.split_at(split);
    let mut framer = StreamFramer::new(limits);
    for chunk in [first, second] {
        framer.extend(chunk);
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(frame))) => check(frame, &limits),
                Ok(Some(Frame::KeepAlive)) => {}
                Ok(None) => break,
                Err(error) => {
                    let _ = (
                        error.status_code(),
                        error.reason_phrase(),
                        error.to_string(),
                    );
                    if let Some(head) = error.head() {
                        if let Ok(message) = parse_head(head, &limits) {
                            exercise(&message);
                        }
                    }
                    return;
                }
            }
        }
    }
});

fn check(bytes: Bytes, limits: &Limits) {
    let message = match parse_message(bytes, limits) {
        Ok(message) => message,
        Err(error) => {
            let _ = (
                error.status_code(),
                error.reason_phrase(),
                error.to_string(),
            );
            return;
        }
    };
    exercise(&message);
    let valid = if message.is_request() {
        validate_request(&message)
    } else {
        validate_response(&message)
    };
    let wire = message.to_bytes();
    if valid.is_err() {
        return;
    }
    match parse_message(wire.clone(), limits) {
        Ok(again) => {
            assert_eq!(again.start, message.start);
            assert_eq!(again.body, message.body);
            assert_eq!(again.to_bytes(), wire, "serialising must be stable");
        }
        // Serialising can grow a message (a Content-Length added, ": " after each name), so a
        // message at the edge of a limit may not fit any more; anything else is a bug.
        Err(
            ParseError::MessageTooLarge { .. }
            | ParseError::LineTooLong { .. }
            | ParseError::TooManyHeaders { .. },
        ) => {}
        Err(error) => panic!("a valid message failed to re-parse after serialising: {error}"),
    }
}

/// Calls every on-demand accessor; none may panic, whatever they return.
fn exercise(message: &Message) {
    let _ = message.cseq();
    let _ = message.max_forwards();
    let _ = message.top_via().map(|via| via.to_string());
    let _ = message.from_header().map(|addr| addr.to_string());
    let _ = message.to_header().map(|addr| addr.to_string());
    if let Some(uri) = message.request_uri() {
        let _ = legate_sip::Uri::parse(uri).map(|uri| uri.to_string());
    }
    for kind in [
        legate_sip::HeaderKind::Via,
        legate_sip::HeaderKind::Contact,
        legate_sip::HeaderKind::Route,
    ] {
        for value in message.headers.values(kind) {
            let _ = legate_sip::NameAddr::parse(&value);
            let _ = legate_sip::Via::parse(&value);
        }
    }
    if message.is_request() {
        let _ = Message::response_to(message, 400, "Bad Request").to_bytes();
    }
}
