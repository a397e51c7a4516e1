//! Calendar and notes datastores, and the names phones give them.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync::engine::ServerConfig;
use handsync::markup::Version;
use handsync::store::Datastore;
use handsync::syncml::{AlertCode, Encoding};

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
