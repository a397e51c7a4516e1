//! Calendar and notes datastores, and the names phones give them.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::storage::Datastore;
use handsync_engine::ServerConfig;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Encoding};

fn phone_for(datastore: Datastore, local: &str, remote: &str, content_type: &str) -> Phone {
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.datastore = datastore;
    phone.local_uri = local.into();
    phone.remote_uri = remote.into();
    phone.content_type = content_type.into();
    phone
}

#[test]
fn corpus_events_sync_through_the_calendar_datastore() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = phone_for(
        Datastore::Calendar,
        "./EriCalDB",
        "Agenda",
        "text/x-vcalendar",
    );
    let events = corpus_events();
    assert!(events.len() >= 5);
    for event in &events {
        phone.add(event);
    }
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(server.keys(Datastore::Calendar), phone.keys());
    assert!(server.contacts().is_empty());

    // A second phone gets them in its own format (vCalendar 1.0) and matches them.
    let mut other = phone_for(
        Datastore::Calendar,
        "./calendar",
        "./calendar",
        "text/x-vcalendar",
    );
    other.device_uri = "IMEI:350000000000009".into();
    let outcome = other.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(other.items.len(), events.len());
    assert!(other.items.values().all(|v| v.contains("VERSION:1.0")));
    assert_eq!(other.keys(), phone.keys());
}

#[test]
fn notes_sync_as_plain_text() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = phone_for(Datastore::Notes, "./Memo", "Memo", "text/plain");
    phone.add("Shopping\r\nmilk, bread");
    phone.add("Call Anna back");
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(server.keys(Datastore::Notes), phone.keys());

    let mut other = phone_for(Datastore::Notes, "notes", "note", "text/plain");
    other.device_uri = "IMEI:350000000000010".into();
    let outcome = other.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(other.keys(), phone.keys());
    assert!(other
        .items
        .values()
        .any(|v| v.starts_with("Call Anna back")));
}

/// A phone whose CTCap has no EMAIL never deletes the PC's e-mail addresses by editing the
/// contact: its version is merged into the stored one field by field.
#[test]
fn what_the_phone_cannot_hold_survives_its_edits() {
    for version in [Version::V1_1, Version::V1_2] {
        let mut server = Server::new(ServerConfig::default());
        server.add_contact(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada\r\nTEL;CELL:+44201234567\r\nEMAIL;INTERNET:ada@example.com\r\nEND:VCARD\r\n",
        );
        let mut phone = Phone::new(version, Encoding::Wbxml);
        phone.ctcap = Some(vec!["BEGIN", "END", "VERSION", "N", "FN", "TEL"]);
        assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
        let (luid, card) = phone
            .items
            .iter()
            .next()
            .map(|(l, c)| (l.clone(), c.clone()))
            .unwrap();
        assert!(
            !card.contains("EMAIL"),
            "the phone got only what it holds: {card}"
        );

        phone.edit(
            &luid,
            &card.replace("TEL;CELL:+44201234567", "TEL;CELL:+44207654321"),
        );
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        let stored = &server.contacts()[0];
        assert!(
            stored.canonical.contains("ada@example.com"),
            "{}",
            stored.canonical
        );
        assert!(stored.canonical.contains("7654321"), "{}", stored.canonical);
        assert!(
            !stored.canonical.contains("1234567"),
            "{}",
            stored.canonical
        );
    }
}
