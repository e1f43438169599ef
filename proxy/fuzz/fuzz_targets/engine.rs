//! Whole messages through a running Legate with the federation chain: the first byte picks
//! the listener (external or internal) and the source port, the rest is the message. Any
//! panic is a bug; so is a hang (every timer runs out on paused time after each input).

#![no_main]

use std::sync::OnceLock;

use legate::fuzzing::EngineHarness;
use libfuzzer_sys::fuzz_target;

static HARNESS: OnceLock<EngineHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let harness = HARNESS.get_or_init(EngineHarness::federation);
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let external = selector & 1 == 0;
    let port = 20_000 + u16::from(selector >> 1);
    harness.feed(message, external, port);
});
