//! A fault in the engine (a panic, as a bug would cause) while one phone's message is handled
//! cuts that phone's session only: it gets HTTP 500, its session is recorded as cut, and the
//! daemon goes on serving other phones, and that phone again. The fault is injected through
//! the debug-build hook `HANDSYNC_INJECT_PANIC` (one test per file: the variable is process-wide).

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod http_support;
mod support;

use std::time::Duration;

use engine_phone::*;
use handsync::engine::ServerConfig;
use handsync::markup::Version;
use handsync::store::SessionResult;
use handsync::syncml::{AlertCode, Command, Encoding, Source, Sync, Target};
use http_support::*;

#[test]
fn a_panic_in_one_session_cuts_that_session_only() {
    if !cfg!(debug_assertions) {
        return; // the hook exists in debug builds only
    }
    // SAFETY: the only test of this binary; set before the daemon's threads start.
    unsafe { std::env::set_var("HANDSYNC_INJECT_PANIC", "IMEI:350000000000666/2") };
    let mut wire = HttpWire::start(
        "daemon-faults",
        ServerConfig::default(),
        Duration::from_secs(60),
    );
    wire.server.add_contact(&vcard(1));

    // The faulty phone: its first message is answered, its second meets the fault.
    let mut faulty = Phone::new(Version::V1_2, Encoding::Wbxml);
    faulty.device_uri = "IMEI:350000000000666".into();
    let first = faulty.first_message(AlertCode::SlowSync);
    let response = post_syncml(wire.address, "/sync", &encode(&first, Encoding::Wbxml));
    assert_eq!(response.status, 200, "{}", response.text());
    let reply = reply_from_wire(response.body);
    let target = path_of(
        reply
            .message
            .header
            .as_ref()
            .unwrap()
            .resp_uri
            .as_deref()
            .unwrap(),
    );
    let changes = faulty.message(
        vec![Command::Sync(
            Sync {
                target: Some(Target::new("Contacts")),
                source: Some(Source::new("./contacts")),
                commands: vec![item_command(false, "1", &vcard(2), "text/x-vcard")],
                ..Default::default()
            }
            .into(),
        )],
        true,
        false,
    );
    let response = post_syncml(wire.address, &target, &encode(&changes, Encoding::Wbxml));
    assert_eq!(response.status, 500, "{}", response.text());
    assert!(
        response.text().contains("the session was cut"),
        "{}",
        response.text()
    );
    // Its session is gone (a retry of the message finds none) and recorded as cut.
    let retry = post_syncml(wire.address, &target, &encode(&changes, Encoding::Wbxml));
    assert_eq!(retry.status, 404, "{}", retry.text());
    assert_eq!(wire.server.sessions()[0].result, SessionResult::Cut);
    assert_eq!(
        wire.server.contacts().len(),
        1,
        "the faulty message changed nothing"
    );

    // Another phone syncs all the way through the same daemon.
    let mut other = Phone::new(Version::V1_2, Encoding::Xml);
    other.add(&vcard(3));
    let outcome = other.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(other.keys(), wire.server.contact_keys());
    assert_eq!(wire.server.sessions()[0].result, SessionResult::Completed);

    // And the faulty phone itself is served again: a new session's first message.
    let again = faulty.first_message(AlertCode::SlowSync);
    let response = post_syncml(wire.address, "/sync", &encode(&again, Encoding::Wbxml));
    assert_eq!(response.status, 200, "{}", response.text());
}
