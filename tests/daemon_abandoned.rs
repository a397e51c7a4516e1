//! Peers that go away (silent past the idle timeout, starting anew) are recorded as cut, and
//! of the devices that never exchanged anything only the most recent few stay: first messages
//! from ever-new devices cannot fill the store. Devices that exchanged something stay.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod http_support;
mod support;

use std::time::{Duration, Instant};

use engine_phone::*;
use handsync::engine::ServerConfig;
use handsync::markup::Version;
use handsync::store::SessionResult;
use handsync::syncml::{AlertCode, Command, Encoding, Source, Sync, Target};
use http_support::*;

/// Posts a phone's first message; the path its session answers on.
fn first_message(wire: &HttpWire, phone: &mut Phone, alert: AlertCode) -> String {
    let first = phone.first_message(alert);
    let response = post_syncml(wire.address, "/sync", &encode(&first, Encoding::Wbxml));
    assert_eq!(response.status, 200, "{}", response.text());
    let reply = reply_from_wire(response.body);
    let header = reply.message.header.expect("a header");
    path_of(header.resp_uri.as_deref().expect("a RespURI"))
}

#[test]
fn abandoned_first_messages_leave_at_most_the_devices_kept() {
    let mut wire = HttpWire::start(
        "daemon-abandoned",
        ServerConfig {
            empty_devices_kept: 4,
            ..ServerConfig::default()
        },
        Duration::from_secs(1),
    );
    wire.server.add_contact(&vcard(1));
    let mut known = Phone::new(Version::V1_2, Encoding::Xml);
    known.device_uri = "IMEI:350000000000001".into();
    assert!(known.sync(&mut wire, AlertCode::TwoWay, None).completed);

    // Strangers: a first message each, then silence.
    // Twelve: one address may hold 16 sessions at once.
    let strangers: Vec<String> = (0..12).map(|n| format!("IMEI:3599999999{n:05}")).collect();
    for uri in &strangers {
        let mut stranger = Phone::new(Version::V1_2, Encoding::Wbxml);
        stranger.device_uri = uri.clone();
        first_message(&wire, &mut stranger, AlertCode::SlowSync);
    }
    // A stranger that starts twice over: the first session is replaced by the second.
    let mut restarter = Phone::new(Version::V1_2, Encoding::Wbxml);
    restarter.device_uri = "IMEI:359999999900100".into();
    first_message(&wire, &mut restarter, AlertCode::SlowSync);
    let mut restarter = Phone::new(Version::V1_2, Encoding::Wbxml);
    restarter.device_uri = "IMEI:359999999900100".into();
    first_message(&wire, &mut restarter, AlertCode::SlowSync);
    // The known phone starts again and goes silent: its datastores name this session.
    first_message(&wire, &mut known, AlertCode::TwoWay);
    // A new phone that sends a contact, then goes silent.
    let mut sender = Phone::new(Version::V1_2, Encoding::Wbxml);
    sender.device_uri = "IMEI:350000000000002".into();
    let target = first_message(&wire, &mut sender, AlertCode::SlowSync);
    let changes = sender.message(
        vec![Command::Sync(
            Sync {
                target: Some(Target::new("Contacts")),
                source: Some(Source::new("./contacts")),
                commands: vec![item_command(false, "1", &vcard(2), "text/x-vcard")],
                ..Default::default()
            }
            .into(),
        )],
        false,
        false,
    );
    let response = post_syncml(wire.address, &target, &encode(&changes, Encoding::Wbxml));
    assert_eq!(response.status, 200, "{}", response.text());

    // The idle timeout (1 s) ends them all.
    let deadline = Instant::now() + Duration::from_secs(20);
    let sessions = loop {
        let sessions = wire.server.sessions();
        if sessions.iter().all(|s| s.result != SessionResult::Running) {
            break sessions;
        }
        assert!(
            Instant::now() < deadline,
            "sessions still running: {sessions:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Of the 13 strangers' devices 4 stay; the known phone and the sender stay too.
    let strangers_kept = strangers
        .iter()
        .chain(["IMEI:359999999900100".to_string()].iter())
        .filter(|uri| wire.server.device_by_uri(uri).is_some())
        .count();
    assert_eq!(strangers_kept, 4);
    assert!(wire.server.device_by_uri("IMEI:350000000000001").is_some());
    assert!(wire.server.device_by_uri("IMEI:350000000000002").is_some());
    let results: Vec<SessionResult> = sessions.iter().map(|s| s.result).collect();
    let cut = results.iter().filter(|r| **r == SessionResult::Cut).count();
    let completed = results
        .iter()
        .filter(|r| **r == SessionResult::Completed)
        .count();
    assert_eq!(completed, 1, "{sessions:?}");
    // Known phone, sender, and the strangers kept (the restarter's replaced session, too,
    // when its device is among them).
    assert!((6..=7).contains(&cut), "{sessions:?}");
    assert_eq!(
        wire.server.contacts().len(),
        2,
        "the sender's contact is kept"
    );
}
