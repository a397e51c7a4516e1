//! `handsync serve --serial PTY`: the daemon keeps the port, switches the phone on the other
//! end into OBEX mode and serves the sessions the phone starts, one after another, bringing it
//! back to AT mode and switching it again after each.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod serial_support;
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use engine_phone::*;
use handsync::emulator::cable::{CableMode, CableModem, CableProfile};
use handsync::engine::{Reply, ServerConfig};
use handsync::markup::Version;
use handsync::obex::{
    ObexClientConfig, SyncmlClient, SyncmlContentType, SyncmlEvent, SyncmlMessage,
};
use handsync::store::{SessionResult, Store};
use handsync::syncml::{self, sniff_encoding, AlertCode, Encoding};
use serial_support::{CablePhone, Pty};

const LIMIT: Duration = Duration::from_secs(60);

/// The phone starts: its OBEX client behind the cable modem.
struct PhoneStarts {
    phone: CablePhone<SyncmlClient>,
}

fn client() -> SyncmlClient {
    SyncmlClient::new(ObexClientConfig {
        max_packet_length: 600,
        max_object_size: 1024 * 1024,
        response_timeout: Some(LIMIT),
    })
}

impl Wire for PhoneStarts {
    type Conversation = ();

    fn open(&mut self) {
        self.phone.obex = client();
        self.phone.obex.connect(Instant::now()).unwrap();
        assert_eq!(self.phone.next_event(LIMIT), Some(SyncmlEvent::Connected));
    }

    fn send(&mut self, _: &mut (), bytes: &[u8]) -> Option<Reply> {
        let content_type = match sniff_encoding(bytes) {
            Encoding::Wbxml => SyncmlContentType::Wbxml,
            Encoding::Xml => SyncmlContentType::Xml,
        };
        self.phone
            .obex
            .send(
                Instant::now(),
                SyncmlMessage::new(content_type, bytes.to_vec()),
                true,
            )
            .unwrap();
        loop {
            match self.phone.next_event(LIMIT)? {
                SyncmlEvent::MessageReceived(reply) => {
                    let message = syncml::decode(&reply.bytes).expect("the answer decodes");
                    let session_finished = message.body.final_
                        && message
                            .body
                            .commands
                            .iter()
                            .all(|c| matches!(c, syncml::Command::Status(_)));
                    if session_finished {
                        // The phone says goodbye; its modem goes back to AT mode.
                        self.phone.obex.disconnect(Instant::now()).unwrap();
                        while let Some(event) = self.phone.next_event(LIMIT) {
                            if event == SyncmlEvent::SessionEnded {
                                break;
                            }
                        }
                    }
                    return Some(Reply {
                        is_final: message.body.final_,
                        session_finished,
                        encoding: sniff_encoding(&reply.bytes),
                        message,
                        bytes: reply.bytes,
                    });
                }
                SyncmlEvent::Error(error) => panic!("OBEX error: {error}"),
                _ => {}
            }
        }
    }

    fn cut(&mut self, _: &mut ()) {}
}

/// Waits, answering the cable, for a status line containing `wanted`.
fn wait_for_line(
    phone: &mut CablePhone<SyncmlClient>,
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    wanted: &str,
) {
    let found = phone.pump_until(LIMIT, |_| {
        while let Ok(line) = lines.try_recv() {
            seen.push(line);
        }
        seen.iter().any(|l| l.contains(wanted))
    });
    assert!(found, "no line with {wanted:?} in {seen:#?}");
    seen.retain(|l| !l.contains(wanted));
}

#[test]
fn serve_switches_the_phone_serves_its_sessions_and_switches_it_again() {
    let dir = support::scratch_dir("serial-serve");
    let db = dir.join("handsync.db");
    let pty = Pty::open();
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["serve", "--no-http", "--serial", &pty.path])
        .env("XDG_CONFIG_HOME", &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("handsync runs");
    let stdout = child.stdout.take().unwrap();
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut wire = PhoneStarts {
        phone: CablePhone::new(pty, CableModem::new(CableProfile::Nokia), client()),
    };
    let mut seen = Vec::new();
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    for n in 0..4 {
        phone.add(&vcard(n));
    }

    wait_for_line(&mut wire.phone, &lines, &mut seen, "Serial: ");
    for round in 1..=2 {
        wait_for_line(
            &mut wire.phone,
            &lines,
            &mut seen,
            "Nokia Nokia 6230 in OBEX mode (AT+CPROT=0), waiting for its session",
        );
        assert_eq!(wire.phone.modem.mode(), CableMode::Obex);
        if round == 2 {
            phone.add(&vcard(10));
        }
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(outcome.completed, "round {round}");
        wait_for_line(
            &mut wire.phone,
            &lines,
            &mut seen,
            "session over (the phone disconnected)",
        );
        wait_for_line(
            &mut wire.phone,
            &lines,
            &mut seen,
            "the phone is back in AT mode",
        );
    }
    // Switched a third time, waiting for the next session.
    wait_for_line(
        &mut wire.phone,
        &lines,
        &mut seen,
        "waiting for its session",
    );
    assert_eq!(wire.phone.modem.switches(), 3);
    let commands = wire.phone.modem.commands();
    assert_eq!(
        &commands[..6],
        ["ATZ", "ATE0", "AT+CGMI", "AT+CGMM", "AT+CPROT=0", "AT"]
    );

    // SIGTERM: a clean stop.
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let stopped = wire
        .phone
        .pump_until(LIMIT, |_| child.try_wait().unwrap().is_some());
    assert!(stopped, "handsync stops on SIGTERM");
    assert!(child.wait().unwrap().success());

    let mut server = Server::with_store(Store::open(&db).unwrap(), ServerConfig::default());
    assert_eq!(server.contact_keys(), phone.keys());
    let sessions = server.store.read(|tx| tx.sessions(None, 10)).unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions
        .iter()
        .all(|s| s.result == SessionResult::Completed && s.transport == "obex-serial"));
}

#[test]
fn a_phone_silent_at_first_is_switched_once_it_answers_with_the_device_from_the_config() {
    let dir = support::scratch_dir("serial-serve-late");
    let db = dir.join("handsync.db");
    let pty = Pty::open();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("[serial]\ndevices = [\"{}\"]\nbaud = 57600\n", pty.path),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["serve", "--no-http", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("handsync runs");
    let stdout = child.stdout.take().unwrap();
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    // Nobody on the line: handsync's bytes are read and left unanswered.
    let started = Instant::now();
    let failure = loop {
        let _ = pty.read(Duration::from_millis(50));
        while let Ok(line) = lines.try_recv() {
            seen.push(line);
        }
        if let Some(line) = seen.iter().find(|l| l.contains("trying again")) {
            break line.clone();
        }
        assert!(started.elapsed() < LIMIT, "{seen:#?}");
    };
    assert!(
        seen.iter().any(|l| l.contains("at 57600 baud")),
        "{seen:#?}"
    );
    assert!(
        failure.contains("does not answer ATZ within 3.0 s"),
        "{failure}"
    );
    // The phone is switched on.
    let mut phone = CablePhone::new(pty, CableModem::new(CableProfile::SonyEricsson), client());
    wait_for_line(
        &mut phone,
        &lines,
        &mut seen,
        "Sony Ericsson K750i in OBEX mode (AT*EOBEX), waiting for its session",
    );
    assert_eq!(phone.modem.mode(), CableMode::Obex);
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert!(phone.pump_until(LIMIT, |_| child.try_wait().unwrap().is_some()));
    assert!(child.wait().unwrap().success());
}
