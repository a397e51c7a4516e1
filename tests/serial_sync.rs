//! `handsync sync --serial PTY`, the real binary, against a phone on the other end of a pty:
//! the cable modem of each maker (Nokia, Sony Ericsson, Siemens ^SQWE, Siemens BFB, Motorola)
//! in front of the OBEX server machine and the scripted SyncML phone. The AT dialogue, the data
//! in the store and the return to AT mode; a phone already in OBEX mode, one that refuses
//! everything, one that never answers.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod serial_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine_phone::*;
use handsync::emulator::cable::{CableMode, CableModem, CableProfile};
use handsync::engine::{Reply, ServerConfig};
use handsync::markup::Version;
use handsync::obex::{
    ObexServerConfig, ResponseCode, SyncmlContentType, SyncmlEvent, SyncmlMessage, SyncmlServer,
};
use handsync::store::{SessionResult, Store};
use handsync::syncml::san::San;
use handsync::syncml::{self, sniff_encoding, AlertCode, Encoding};
use serial_support::{CablePhone, Pty};

const LIMIT: Duration = Duration::from_secs(60);

/// The phone side when the PC calls: the notification, then the scripted session.
struct CableWire {
    phone: CablePhone<SyncmlServer>,
    notifications: Vec<San>,
    /// Refuse every notification (a phone whose user said no, or without a PC Suite profile).
    refuse: bool,
}

impl CableWire {
    fn new(modem: CableModem) -> CableWire {
        CableWire {
            phone: CablePhone::new(
                Pty::open(),
                modem,
                SyncmlServer::new(ObexServerConfig {
                    max_packet_length: 512,
                    ..ObexServerConfig::default()
                }),
            ),
            notifications: Vec::new(),
            refuse: false,
        }
    }

    fn next_message(&mut self) -> Option<SyncmlMessage> {
        loop {
            match self.phone.next_event(LIMIT)? {
                SyncmlEvent::MessageReceived(message) => return Some(message),
                SyncmlEvent::SessionEnded => return None,
                _ => {}
            }
        }
    }
}

impl Wire for CableWire {
    type Conversation = ();

    fn open(&mut self) {
        let notification = self.next_message().expect("the PC's notification");
        assert_eq!(notification.content_type, SyncmlContentType::Notification);
        self.notifications
            .push(San::decode(&notification.bytes).expect("a SAN 1.2"));
    }

    fn send(&mut self, _: &mut (), bytes: &[u8]) -> Option<Reply> {
        let content_type = match sniff_encoding(bytes) {
            Encoding::Wbxml => SyncmlContentType::Wbxml,
            Encoding::Xml => SyncmlContentType::Xml,
        };
        self.phone
            .obex
            .send_reply(SyncmlMessage::new(content_type, bytes.to_vec()))
            .unwrap();
        let answer = self.next_message()?;
        let message = syncml::decode(&answer.bytes).expect("handsync's answer decodes");
        let session_finished = message.body.final_
            && message
                .body
                .commands
                .iter()
                .all(|c| matches!(c, syncml::Command::Status(_)));
        if session_finished {
            // handsync's last answer comes without a GET; then DISCONNECT.
            while let Some(event) = self.phone.next_event(LIMIT) {
                if event == SyncmlEvent::SessionEnded {
                    break;
                }
            }
        }
        Some(Reply {
            is_final: message.body.final_,
            session_finished,
            encoding: sniff_encoding(&answer.bytes),
            message,
            bytes: answer.bytes,
        })
    }

    fn cut(&mut self, _: &mut ()) {}
}

fn sync_over(path: &str, db: &Path, dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args(["--db"])
        .arg(db)
        .args(["sync", "--serial", path, "--datastore", "contacts"])
        .args(["--timeout", "30"])
        .env("XDG_CONFIG_HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("handsync runs")
}

struct Finished {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Keeps the phone answering until handsync exits.
fn answer_until_exit(wire: &mut CableWire, child: Child) -> Finished {
    let mut child = child;
    let exited = wire
        .phone
        .pump_until(LIMIT, |_| child.try_wait().unwrap().is_some());
    if !exited {
        let _ = child.kill();
    }
    let output = child.wait_with_output().unwrap();
    assert!(exited, "handsync did not finish: {output:?}");
    Finished {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn scratch(name: &str) -> (PathBuf, PathBuf) {
    let dir = support::scratch_dir(name);
    let db = dir.join("handsync.db");
    (dir, db)
}

/// One PC-started sync with `modem`; returns the finished wire and handsync's output.
fn sync_with(name: &str, modem: CableModem) -> (CableWire, Finished, Phone, PathBuf) {
    let (dir, db) = scratch(name);
    let mut wire = CableWire::new(modem);
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.items_per_message = 2;
    for n in 0..5 {
        phone.add(&vcard(n));
    }
    let child = sync_over(&wire.phone.pty.path.clone(), &db, &dir);
    let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
    let finished = answer_until_exit(&mut wire, child);
    assert!(outcome.completed, "{}", finished.stderr);
    assert!(finished.success, "{}", finished.stderr);
    (wire, finished, phone, db)
}

fn check_store(db: &Path, phone: &Phone) {
    let mut server = Server::with_store(Store::open(db).unwrap(), ServerConfig::default());
    assert_eq!(server.contact_keys(), phone.keys());
    let sessions = server.store.read(|tx| tx.sessions(None, 10)).unwrap();
    assert_eq!(sessions[0].result, SessionResult::Completed);
    assert_eq!(sessions[0].transport, "obex-serial");
}

fn check_maker(name: &str, modem: CableModem, switch: &str, expected_commands: &[&str]) {
    let (wire, finished, phone, db) = sync_with(name, modem);
    check_store(&db, &phone);
    let modem = &wire.phone.modem;
    assert_eq!(modem.commands(), expected_commands, "{}", finished.stderr);
    assert_eq!(modem.mode(), CableMode::At, "back in AT mode");
    assert_eq!(modem.switches(), 1);
    assert!(
        finished
            .stderr
            .contains(&format!("switched to OBEX with {switch}")),
        "{}",
        finished.stderr
    );
    assert!(
        finished.stderr.contains("the phone is back in AT mode"),
        "{}",
        finished.stderr
    );
    assert!(finished.stdout.contains("completed"), "{}", finished.stdout);
    // The SAN names the datastore as the maker's sync profiles do (phones/*.toml), found
    // from the phone's AT+CGMI/AT+CGMM answers: Sony Ericsson's is "Contact".
    let expected_uri = if switch == "AT*EOBEX" {
        "Contact"
    } else {
        "Contacts"
    };
    assert_eq!(wire.notifications[0].syncs[0].server_uri, expected_uri);
}

#[test]
fn a_nokia_switches_with_cprot_and_syncs() {
    check_maker(
        "serial-nokia",
        CableModem::new(CableProfile::Nokia),
        "AT+CPROT=0",
        &["ATZ", "ATE0", "AT+CGMI", "AT+CGMM", "AT+CPROT=0", "AT"],
    );
}

#[test]
fn a_sony_ericsson_switches_with_eobex_and_syncs() {
    check_maker(
        "serial-sonyericsson",
        CableModem::new(CableProfile::SonyEricsson),
        "AT*EOBEX",
        &["ATZ", "ATE0", "AT+CGMI", "AT+CGMM", "AT*EOBEX", "AT"],
    );
}

#[test]
fn a_siemens_left_in_another_mode_goes_through_sqwe_0_then_sqwe_3() {
    check_maker(
        "serial-siemens-sqwe",
        CableModem::new(CableProfile::SiemensSqwe).with_sqwe_mode(2),
        "AT^SQWE=3",
        &[
            "ATZ",
            "ATE0",
            "AT+CGMI",
            "AT+CGMM",
            "AT^SQWE?",
            "AT^SQWE=0",
            "AT^SQWE=3",
            "AT",
            "AT^SQWE=0",
        ],
    );
}

#[test]
fn an_old_siemens_runs_obex_in_bfb_frames() {
    check_maker(
        "serial-siemens-bfb",
        CableModem::new(CableProfile::SiemensBfb),
        "AT^SBFB=1",
        &[
            "ATZ",
            "ATE0",
            "AT+CGMI",
            "AT+CGMM",
            "AT^SQWE?",
            "AT^SBFB=1",
            "AT^SBFB=0",
            "AT",
        ],
    );
}

#[test]
fn a_motorola_switches_with_mode_22_and_syncs() {
    check_maker(
        "serial-motorola",
        CableModem::new(CableProfile::Motorola),
        "AT+MODE=22",
        &["ATZ", "ATE0", "AT+CGMI", "AT+CGMM", "AT+MODE=22", "AT"],
    );
}

#[test]
fn a_phone_already_in_obex_mode_is_synced_without_at_commands() {
    let (wire, finished, phone, db) = sync_with(
        "serial-already-obex",
        CableModem::in_obex_mode(CableProfile::Nokia),
    );
    check_store(&db, &phone);
    assert!(wire.phone.modem.commands().is_empty());
    assert!(
        finished
            .stderr
            .contains("switched to OBEX with OBEX CONNECT SYNCML-SYNC"),
        "{}",
        finished.stderr
    );
    // Nothing was switched, so nothing is switched back: no AT was sent.
    assert!(!wire.phone.heard_text().contains("AT"));
}

#[test]
fn a_refused_notification_is_reported_and_the_phone_is_put_back_in_at_mode() {
    let (dir, db) = scratch("serial-san-refused");
    let mut wire = CableWire::new(CableModem::new(CableProfile::Nokia));
    wire.refuse = true;
    let child = sync_over(&wire.phone.pty.path.clone(), &db, &dir);
    // SAN 1.2, then the legacy form: both refused.
    for _ in 0..2 {
        let notification = wire.next_message().expect("a notification");
        assert!(!notification.bytes.is_empty());
        wire.phone
            .obex
            .refuse_reply(ResponseCode::UnsupportedMediaType)
            .unwrap();
    }
    let finished = answer_until_exit(&mut wire, child);
    assert!(!finished.success);
    assert!(
        finished
            .stderr
            .contains("the phone refused the sync notification"),
        "{}",
        finished.stderr
    );
    assert_eq!(wire.phone.modem.mode(), CableMode::At);
    assert_eq!(
        wire.phone.modem.commands().last().map(String::as_str),
        Some("AT")
    );
}

#[test]
fn a_phone_that_refuses_every_command_gets_an_error_naming_what_was_tried() {
    let (dir, db) = scratch("serial-refusing");
    let mut wire = CableWire::new(CableModem::new(CableProfile::Refusing));
    let child = sync_over(&wire.phone.pty.path.clone(), &db, &dir);
    let finished = answer_until_exit(&mut wire, child);
    assert!(!finished.success);
    let text = &finished.stderr;
    assert!(text.contains("refused every way into OBEX mode"), "{text}");
    assert!(text.contains("AT+CPROT=0 answered ERROR"), "{text}");
    assert!(text.contains("ATZ → ERROR"), "{text}");
    assert!(text.contains("AT+CGMI → ERROR"), "{text}");
    assert!(
        text.contains("OBEX CONNECT SYNCML-SYNC → no OBEX answer"),
        "{text}"
    );
}

#[test]
fn a_phone_that_never_answers_times_out_with_a_clear_message() {
    let (dir, db) = scratch("serial-silent");
    let pty = Pty::open();
    let started = Instant::now();
    let mut child = sync_over(&pty.path.clone(), &db, &dir);
    // Read what handsync sends (so its writes never block) and say nothing.
    let mut heard = Vec::new();
    while child.try_wait().unwrap().is_none() && started.elapsed() < LIMIT {
        heard.extend(pty.read(Duration::from_millis(50)));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("does not answer ATZ within 3.0 s"), "{text}");
    assert!(text.contains("check the cable"), "{text}");
    assert!(
        text.contains("OBEX CONNECT SYNCML-SYNC → no OBEX answer within 1.0 s"),
        "{text}"
    );
    let heard = String::from_utf8_lossy(&heard);
    assert!(heard.contains("SYNCML-SYNC"), "the OBEX probe went out");
    assert!(heard.ends_with("ATZ\r"), "{heard:?}");
}
