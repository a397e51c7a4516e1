//! The AT switcher and leaver (sans-IO) against the cable modem emulation in memory, with the
//! time handed in: each maker's dialogue, echo, fallbacks, timeouts, and garbage from the
//! phone (errors, never a panic).

use std::time::{Duration, Instant};

use handsync::emulator::cable::{CableMode, CableModem, CableProfile};
use handsync::machine::Machine;
use handsync::transport::serial::at::{
    Leaver, Maker, SwitchError, SwitchMethod, SwitchOptions, Switched, Switcher,
};
use proptest::prelude::*;

fn options() -> SwitchOptions {
    SwitchOptions {
        command_timeout: Duration::from_secs(3),
        probe_timeout: Duration::from_secs(1),
        settle: Duration::from_millis(500),
        probe_obex: true,
    }
}

/// Runs the switcher against `modem` until it decides; a modem with `mute` never answers.
fn switch(modem: &mut CableModem, mute: bool) -> Result<Switched, SwitchError> {
    let mut now = Instant::now();
    let mut switcher = Switcher::new(options(), now);
    for _ in 0..1000 {
        while let Some(bytes) = switcher.poll_transmit() {
            modem.handle_input(&bytes);
        }
        // A phone in OBEX mode answers the probe's CONNECT (the OBEX side is not modelled
        // here: a success response stands for it).
        if modem.mode() == CableMode::Obex {
            if let Some(request) = modem.poll_obex_input() {
                if request.first() == Some(&0x80) {
                    modem.send_obex(&[0xA0, 0x00, 0x07, 0x10, 0x00, 0x04, 0x00]);
                }
            }
        }
        if let Some(result) = switcher.poll_event() {
            return result;
        }
        match modem.poll_transmit() {
            Some(answer) if !mute => switcher.handle_input(now, &answer),
            _ => {
                now = switcher.poll_timeout().expect("a deadline while waiting");
                switcher.handle_timeout(now);
            }
        }
    }
    panic!("the switcher never decided");
}

fn leave(modem: &mut CableModem, method: SwitchMethod) -> Result<(), SwitchError> {
    let mut now = Instant::now();
    let mut leaver = Leaver::new(method, options(), now);
    for _ in 0..1000 {
        while let Some(bytes) = leaver.poll_transmit() {
            modem.handle_input(&bytes);
        }
        if let Some(result) = leaver.poll_event() {
            return result.map(|_| ());
        }
        match modem.poll_transmit() {
            Some(answer) => leaver.handle_input(now, &answer),
            None => {
                now = leaver.poll_timeout().expect("a deadline while waiting");
                leaver.handle_timeout(now);
            }
        }
    }
    panic!("the leaver never decided");
}

#[test]
fn every_maker_gets_its_own_switch_and_comes_back() {
    let cases = [
        (
            CableProfile::Nokia,
            Maker::Nokia,
            SwitchMethod::Cprot,
            CableMode::Obex,
        ),
        (
            CableProfile::SonyEricsson,
            Maker::SonyEricsson,
            SwitchMethod::Eobex,
            CableMode::Obex,
        ),
        (
            CableProfile::SiemensSqwe,
            Maker::Siemens,
            SwitchMethod::Sqwe,
            CableMode::Obex,
        ),
        (
            CableProfile::SiemensBfb,
            Maker::Siemens,
            SwitchMethod::Sbfb,
            CableMode::Bfb,
        ),
        (
            CableProfile::Motorola,
            Maker::Motorola,
            SwitchMethod::Mode22,
            CableMode::Obex,
        ),
    ];
    for (profile, maker, method, mode) in cases {
        let mut modem = CableModem::new(profile);
        let switched = switch(&mut modem, false).unwrap_or_else(|e| panic!("{profile:?}: {e}"));
        assert_eq!(switched.method, method, "{profile:?}");
        assert_eq!(switched.maker, maker);
        assert_eq!(modem.mode(), mode);
        assert!(switched.model.is_some());
        if method != SwitchMethod::Sbfb {
            // The session's DISCONNECT and its answer send it back to AT mode.
            modem.handle_input(&[0x81, 0x00, 0x03]);
            modem.send_obex(&[0xA0, 0x00, 0x03]);
            let _ = modem.poll_transmit();
        }
        leave(&mut modem, method).unwrap_or_else(|e| panic!("{profile:?}: {e}"));
        assert_eq!(modem.mode(), CableMode::At, "{profile:?}");
    }
}

#[test]
fn motorola_identity_lines_are_read_without_their_prefix_and_quotes() {
    let mut modem = CableModem::new(CableProfile::Motorola);
    let switched = switch(&mut modem, false).unwrap();
    assert_eq!(
        switched.manufacturer.as_deref(),
        Some("Motorola CE, Copyright 2000")
    );
}

#[test]
fn a_phone_in_obex_mode_answers_the_probe_and_gets_no_at_command() {
    let mut modem = CableModem::in_obex_mode(CableProfile::Nokia);
    let switched = switch(&mut modem, false).unwrap();
    assert_eq!(switched.method, SwitchMethod::AlreadyObex);
    assert!(modem.commands().is_empty());
    // Left as it was found.
    leave(&mut modem, SwitchMethod::AlreadyObex).unwrap();
    assert_eq!(modem.mode(), CableMode::Obex);
}

#[test]
fn a_silent_phone_fails_on_atz_after_the_probe() {
    let mut modem = CableModem::new(CableProfile::Nokia);
    let error = switch(&mut modem, true).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("does not answer ATZ within 3.0 s"), "{text}");
    assert_eq!(error.dialogue.len(), 2, "{text}");
}

#[test]
fn a_refusing_phone_is_tried_with_the_fallback_and_the_error_says_so() {
    let mut modem = CableModem::new(CableProfile::Refusing);
    let error = switch(&mut modem, false).unwrap_err();
    let sent: Vec<&str> = error.dialogue.iter().map(|e| e.sent.as_str()).collect();
    assert_eq!(
        sent,
        [
            "OBEX CONNECT SYNCML-SYNC",
            "ATZ",
            "ATE0",
            "AT+CGMI",
            "AT+CGMM",
            "AT+CPROT=0"
        ]
    );
    assert!(error.to_string().contains("AT+CPROT=0 answered ERROR"));
}

#[test]
fn a_phone_that_does_not_come_back_gets_the_escape_then_a_clear_error() {
    // Still in OBEX mode (no DISCONNECT went through): AT is swallowed as OBEX bytes.
    let mut modem = CableModem::new(CableProfile::Nokia);
    switch(&mut modem, false).unwrap();
    let error = leave(&mut modem, SwitchMethod::Cprot).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("did not come back to AT mode"), "{text}");
    assert!(text.contains("+++"), "{text}");
}

#[test]
fn a_sony_ericsson_refusing_eobex_falls_back_to_cprot() {
    // A Nokia answering AT+CGMI as Sony Ericsson would: *EOBEX refused, CPROT taken.
    let mut modem = CableModem::new(CableProfile::Nokia);
    let mut now = Instant::now();
    let mut switcher = Switcher::new(
        SwitchOptions {
            probe_obex: false,
            ..options()
        },
        now,
    );
    let result = loop {
        while let Some(bytes) = switcher.poll_transmit() {
            modem.handle_input(&bytes);
        }
        if let Some(result) = switcher.poll_event() {
            break result;
        }
        match modem.poll_transmit() {
            Some(answer) => {
                let text = String::from_utf8_lossy(&answer).replace("Nokia 6230", "K750i");
                let text = text.replace("Nokia", "Sony Ericsson");
                switcher.handle_input(now, text.as_bytes());
            }
            None => {
                now = switcher.poll_timeout().unwrap();
                switcher.handle_timeout(now);
            }
        }
    };
    let switched = result.unwrap();
    assert_eq!(switched.maker, Maker::SonyEricsson);
    assert_eq!(switched.method, SwitchMethod::Cprot);
    assert!(switched
        .dialogue
        .iter()
        .any(|e| e.sent == "AT*EOBEX" && e.answer == "ERROR"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever a phone sends, in any chunking, the switcher ends in a result or waits with
    /// a deadline; it never panics and never buffers without bound.
    #[test]
    fn the_switcher_takes_any_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20)) {
        let mut now = Instant::now();
        let mut switcher = Switcher::new(options(), now);
        for chunk in &chunks {
            switcher.handle_input(now, chunk);
            while switcher.poll_transmit().is_some() {}
            if switcher.result().is_some() {
                break;
            }
            now += Duration::from_millis(700);
            switcher.handle_timeout(now);
        }
        prop_assert!(switcher.result().is_some() || switcher.poll_timeout().is_some());
    }

    #[test]
    fn the_leaver_and_the_modem_take_any_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20)) {
        let mut now = Instant::now();
        let mut leaver = Leaver::new(SwitchMethod::Sbfb, options(), now);
        let mut modem = CableModem::new(CableProfile::SiemensBfb);
        for chunk in &chunks {
            leaver.handle_input(now, chunk);
            modem.handle_input(chunk);
            while leaver.poll_transmit().is_some() {}
            let _ = modem.poll_transmit();
            let _ = modem.poll_obex_input();
            now += Duration::from_millis(700);
            leaver.handle_timeout(now);
        }
    }
}
