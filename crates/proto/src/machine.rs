//! The one face every sans-IO machine here shows its driver, in the style of quinn-proto and
//! rustls' unbuffered API: bytes in, bytes and events out, the time always handed in.
//!
//! A driver (a tokio task, a test, a fuzzer) loops: it writes what [`Machine::poll_transmit`]
//! gives, takes what [`Machine::poll_event`] gives, feeds what the link delivers to
//! [`Machine::handle_input`], and calls [`Machine::handle_timeout`] once
//! [`Machine::poll_timeout`] has passed. The machine owns no socket, thread or clock, so one
//! driver serves the OBEX sessions of both roles, the AT cable dialogues and the emulated
//! phone alike.

use std::time::Instant;

/// A sans-IO protocol machine driven over a byte stream.
pub trait Machine {
    /// What the machine tells its driver besides the bytes to send.
    type Event;

    /// Bytes from the link, in chunks of any size (one byte at a time included).
    fn handle_input(&mut self, now: Instant, input: &[u8]);

    /// The next bytes to write to the link.
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;

    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// When [`Machine::handle_timeout`] should be called, if at all.
    fn poll_timeout(&self) -> Option<Instant>;

    /// The time, at or after [`Machine::poll_timeout`]; earlier calls change nothing.
    fn handle_timeout(&mut self, now: Instant);
}
