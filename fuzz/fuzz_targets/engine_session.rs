//! Any sequence of messages into one SyncML server session (the engine on its memory store):
//! the input is cut into messages at each `\n--\n`, so corpus messages seed it one per
//! session and the fuzzer joins them into longer ones. Refusals are fine; panics, hangs and
//! an inconsistent store are not.
#![no_main]
use std::sync::Arc;

use handsync_engine::storage::{MemoryStore, Timestamp};
use handsync_engine::{ServerConfig, Session, SessionParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut store = MemoryStore::new();
    let mut session = Session::new(
        Arc::new(ServerConfig::default()),
        SessionParams::new("fuzz"),
    );
    let mut now = 1_000_000i64;
    let mut rest = data;
    loop {
        let (message, tail) = match rest.windows(4).position(|w| w == b"\n--\n") {
            Some(at) => (&rest[..at], Some(&rest[at + 4..])),
            None => (rest, None),
        };
        now += 1000;
        let _ = store.transaction(|tx| session.receive(tx, message, Timestamp(now)));
        if session.is_finished() {
            break;
        }
        match tail {
            Some(tail) => rest = tail,
            None => break,
        }
    }
    let _ = store.transaction(|tx| session.abort(tx, Timestamp(now + 1)));
});
