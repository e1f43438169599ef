//! Feeds arbitrary bytes to the stream reader in arbitrary chunks, the way a socket delivers
//! them. The first byte picks the limits (small ones, so every limit is reached), whether a
//! valid stream header comes first (so most inputs get past it to the stanzas) and how the rest
//! is cut; `starttls`, `proceed` and `success` elements restart the stream as a connector
//! would. Any panic is a bug; so is an element over the size limit, a refusal that does not
//! stick, or a different reading of the same bytes cut differently.

#![no_main]

use legate_xmpp::{Event, Limits, StreamError, StreamReader};
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' \
    xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='example.org'>";

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let limits = if control & 1 == 0 {
        Limits::default()
    } else {
        Limits {
            max_stanza_bytes: 512,
            max_depth: 4,
            max_elements: 16,
            max_buffered_bytes: 1024,
            max_token_bytes: 64,
        }
    };
    let mut input = Vec::with_capacity(HEADER.len() + rest.len());
    if control & 2 != 0 {
        input.extend_from_slice(HEADER);
    }
    input.extend_from_slice(rest);

    let whole = read(&input, &limits, &[input.len()]);
    // Chunk sizes from the input itself, so the fuzzer explores where reads end.
    let sizes: Vec<usize> = rest
        .iter()
        .map(|&b| usize::from(b >> 2).max(1) + usize::from(control >> 4))
        .collect();
    let cut = read(&input, &limits, &sizes);
    if let (Ok(mut whole), Ok(mut cut)) = (whole, cut) {
        // Whitespace at the very end may still be held by the parser (a CR waits for its LF),
        // and how much of it depends on the cut.
        for events in [&mut whole, &mut cut] {
            if let Some(Event::Whitespace { .. }) = events.last() {
                events.pop();
            }
        }
        assert_eq!(
            whole, cut,
            "the same bytes read differently when cut differently"
        );
    }
});

/// Reads `input` in chunks of the given sizes (the last repeating); returns the events, with
/// adjacent whitespace merged since its splitting follows the reads.
fn read(input: &[u8], limits: &Limits, sizes: &[usize]) -> Result<Vec<Event>, StreamError> {
    let mut reader = StreamReader::new(limits.clone());
    let mut events: Vec<Event> = Vec::new();
    let mut remaining = input;
    let mut size = sizes.iter().copied().chain(std::iter::repeat(usize::MAX));
    while !remaining.is_empty() {
        let take = size
            .next()
            .unwrap_or(usize::MAX)
            .min(remaining.len())
            .min(reader.space());
        let (chunk, tail) = remaining.split_at(take.max(1).min(remaining.len()));
        remaining = tail;
        if let Err(error) = reader.feed(chunk) {
            return Err(refused(&mut reader, error));
        }
        loop {
            match reader.next_event() {
                Ok(Some(event)) => {
                    if let Event::Element { element, bytes } = &event {
                        assert!(*bytes <= limits.max_stanza_bytes, "element over the limit");
                        let mut out = Vec::new();
                        let _ = element.write_to(&mut out);
                        if matches!(element.name(), "starttls" | "proceed" | "success") {
                            let _ = reader.restart();
                        }
                    }
                    match (events.last_mut(), &event) {
                        (Some(Event::Whitespace { bytes: total }), Event::Whitespace { bytes }) => {
                            *total += bytes
                        }
                        _ => events.push(event),
                    }
                }
                Ok(None) => break,
                Err(error) => return Err(refused(&mut reader, error)),
            }
        }
    }
    Ok(events)
}

fn refused(reader: &mut StreamReader, error: StreamError) -> StreamError {
    let _ = (error.condition.as_str(), error.to_string());
    assert_eq!(
        reader.next_event(),
        Err(error.clone()),
        "a refusal did not stick"
    );
    assert_eq!(
        reader.feed(b"<"),
        Err(error.clone()),
        "a refusal did not stick"
    );
    error
}
