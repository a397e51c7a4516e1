//! Any bytes from a phone on a serial cable into the AT dialogues: the [`Switcher`] (OBEX
//! probe, then ATZ, AT+CGMI, AT+CGMM and each maker's switch, the BFB hello) with and without
//! the probe, and the [`Leaver`] after every switch method. The input is cut into reads and the
//! clock moves on between them, so answers arrive split, late or never: failed dialogues are
//! fine, panics and hangs are not (nor a dialogue that never ends, or ends twice).
//!
//! Each input is played twice: as raw bytes (the first byte says how long a read is, the
//! second how much time passes between reads), and as a script in which the bytes 0xE0 to
//! 0xF4 stand for whole answers (OK, ERROR, CONNECT, +CGMI lines, the BFB hello's
//! acknowledgement, an OBEX answer to the probe...) or for time passing, so that the fuzzer
//! reaches every maker's switch and every way back without a dictionary.
#![no_main]
use std::time::{Duration, Instant};

use handsync_proto::cable::at::{Leaver, Maker, SwitchMethod, SwitchOptions, Switcher};
use handsync_proto::cable::bfb;
use handsync_proto::machine::Machine;
use libfuzzer_sys::fuzz_target;

const METHODS: [SwitchMethod; 6] = [
    SwitchMethod::AlreadyObex,
    SwitchMethod::Cprot,
    SwitchMethod::Eobex,
    SwitchMethod::Sqwe,
    SwitchMethod::Sbfb,
    SwitchMethod::Mode22,
];

/// Every dialogue ends on its own (each step has a deadline) within this many timeouts.
const MAX_TIMEOUTS_AFTER_INPUT: usize = 64;

/// What the phone (or the clock) does next.
enum Action {
    Read(Vec<u8>),
    /// Time passes, then the due timeout (if any) is handled.
    Wait(Duration),
    /// The clock jumps to the pending deadline.
    Timeout,
}

/// The script bytes: whole answers, then the clock.
const ANSWERS: [&[u8]; 18] = [
    b"OK\r\n",
    b"ERROR\r\n",
    b"CONNECT\r\n",
    b"CONNECT 115200\r\n",
    b"+CME ERROR: 4\r\n",
    b"NO CARRIER\r\n",
    b"+CGMI: SIEMENS\r\n",
    b"Nokia Mobile Phones\r\n",
    b"Sony Ericsson\r\n",
    b"+CGMI: \"Motorola CE, Copyright 2000\"\r\n",
    b"+CGMM: S55\r\n",
    b"^SQWE: 0\r\n",
    b"^SQWE: 3\r\n",
    b"\r\n",
    b"ATZ\r",
    // OBEX: CONNECT success (version 1.0, max packet 0x2000), and Forbidden.
    &[0xA0, 0x00, 0x07, 0x10, 0x00, 0x20, 0x00],
    &[0xC3, 0x00, 0x03],
    // The BFB hello's acknowledgement is built below.
    &[],
];
const SCRIPT_FIRST: u8 = 0xE0;
const SCRIPT_WAIT_SHORT: u8 = SCRIPT_FIRST + ANSWERS.len() as u8;
const SCRIPT_WAIT_LONG: u8 = SCRIPT_WAIT_SHORT + 1;
const SCRIPT_TIMEOUT: u8 = SCRIPT_WAIT_LONG + 1;

fuzz_target!(|data: &[u8]| {
    let [step, tick, ..] = *data else {
        return;
    };
    let _ = Maker::from_manufacturer(&String::from_utf8_lossy(data));
    // Raw: reads of `step` bytes, 0 to 5.1 s apart (against the 0.5 s settle, 1 s probe and
    // 3 s command timeouts). Both bytes stay in the stream, so that a captured answer is one
    // as it stands.
    let step = usize::from(step).max(1);
    let tick = Duration::from_millis(u64::from(tick) * 20);
    let mut raw = Vec::new();
    for piece in data.chunks(step) {
        raw.push(Action::Wait(tick));
        raw.push(Action::Read(piece.to_vec()));
    }
    let scripted = script(data);
    for actions in [&raw, &scripted] {
        for probe_obex in [true, false] {
            let options = SwitchOptions {
                probe_obex,
                ..SwitchOptions::default()
            };
            let start = Instant::now();
            let switcher = drive(Switcher::new(options, start), start, actions);
            assert!(switcher.result().is_none(), "the outcome was handed out");
        }
        for method in METHODS {
            let _ = (method.command(), method.uses_bfb());
            let start = Instant::now();
            drive(
                Leaver::new(method, SwitchOptions::default(), start),
                start,
                actions,
            );
        }
    }
});

/// The input as a script: raw bytes between the script bytes are one read each.
fn script(data: &[u8]) -> Vec<Action> {
    let hello_ack = bfb::encode_frames(
        bfb::frame_type::CONNECT,
        &[bfb::CONNECT_HELLO, bfb::CONNECT_HELLO_ACK],
    );
    let mut actions = Vec::new();
    let mut read = Vec::new();
    for &byte in data {
        if !(SCRIPT_FIRST..=SCRIPT_TIMEOUT).contains(&byte) {
            read.push(byte);
            continue;
        }
        if !read.is_empty() {
            actions.push(Action::Read(std::mem::take(&mut read)));
        }
        actions.push(match byte {
            SCRIPT_WAIT_SHORT => Action::Wait(Duration::from_millis(100)),
            SCRIPT_WAIT_LONG => Action::Wait(Duration::from_millis(1100)),
            SCRIPT_TIMEOUT => Action::Timeout,
            answer => match ANSWERS[usize::from(answer - SCRIPT_FIRST)] {
                [] => Action::Read(hello_ack.clone()),
                bytes => Action::Read(bytes.to_vec()),
            },
        });
    }
    if !read.is_empty() {
        actions.push(Action::Read(read));
    }
    actions
}

/// Plays `actions` the way the serial driver does (transmit and events drained after every
/// step, the timeout handled once due), then lets time run until the dialogue ends. Checks
/// that the outcome comes exactly once and that an early `handle_timeout` changes nothing.
fn drive<M>(mut machine: M, start: Instant, actions: &[Action]) -> M
where
    M: Machine + std::fmt::Debug,
{
    let mut now = start;
    let mut outcomes = 0;
    let mut drain = |machine: &mut M| {
        while let Some(bytes) = machine.poll_transmit() {
            assert!(bytes.len() <= 4096, "{} bytes to send", bytes.len());
        }
        while machine.poll_event().is_some() {
            outcomes += 1;
        }
    };
    drain(&mut machine);
    for (index, action) in actions.iter().enumerate() {
        match action {
            Action::Read(bytes) => machine.handle_input(now, bytes),
            Action::Wait(duration) => {
                now += *duration;
                match machine.poll_timeout() {
                    Some(deadline) if now >= deadline => machine.handle_timeout(now),
                    Some(_) if index % 16 == 0 => {
                        // Now and then a driver wakes early: that must change nothing.
                        let before = format!("{machine:?}");
                        machine.handle_timeout(now);
                        let after = format!("{machine:?}");
                        assert_eq!(before, after, "an early timeout changed the machine");
                    }
                    _ => {}
                }
            }
            Action::Timeout => {
                if let Some(deadline) = machine.poll_timeout() {
                    now = now.max(deadline);
                    machine.handle_timeout(now);
                }
            }
        }
        drain(&mut machine);
    }
    // The phone says no more: every dialogue must still come to an end.
    let mut timeouts = 0;
    while let Some(deadline) = machine.poll_timeout() {
        assert!(
            timeouts < MAX_TIMEOUTS_AFTER_INPUT,
            "the dialogue never ends"
        );
        timeouts += 1;
        now = now.max(deadline);
        machine.handle_timeout(now);
        drain(&mut machine);
    }
    drop(drain);
    assert_eq!(outcomes, 1, "a dialogue ends with exactly one outcome");
    machine
}
