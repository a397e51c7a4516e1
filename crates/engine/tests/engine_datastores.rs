//! Calendar and notes datastores, and the names phones give them.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::storage::{Datastore, ItemRecord};
use handsync_engine::ServerConfig;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Encoding, StatusCode};

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

/// A text/plain "note" that cannot be text (binary data, a SIF document, a base64-encoded
/// vNote sent without Meta Format b64) is refused with 415 and kept in `rejected` with its
/// bytes, instead of being stored unreadable; the phone's real notes go through.
#[test]
fn notes_that_cannot_be_text_are_refused_and_kept() {
    use base64::Engine as _;
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let mut server = Server::new(ServerConfig::default());
        let mut phone = phone_for(Datastore::Notes, "./Memo", "Memo", "text/plain");
        phone.encoding = encoding;
        phone.add("Shopping\r\nmilk, bread");
        let binary = "GIF89a\u{1}\u{1}\u{2}\u{3}\u{4}";
        let sif = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><note><SIFVersion>1.1</SIFVersion>\
                   <Subject>Milk</Subject><Body>Milk</Body></note>";
        let encoded = base64::engine::general_purpose::STANDARD
            .encode("BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY:Milk\r\nEND:VNOTE\r\n");
        let refused: Vec<&str> = match encoding {
            // XML 1.0 cannot carry most control characters at all.
            Encoding::Xml => vec![sif, &encoded],
            Encoding::Wbxml => vec![binary, sif, &encoded],
        };
        for note in &refused {
            phone.add(note);
        }
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        let mut codes = outcome.change_statuses.clone();
        codes.sort_by_key(|c| c.code());
        let mut expected = vec![StatusCode::ItemAdded];
        expected.extend(refused.iter().map(|_| StatusCode::UnsupportedMediaType));
        assert_eq!(codes, expected);
        let stored = server.keys(Datastore::Notes);
        assert_eq!(stored.len(), 1, "{stored:?}");
        let mut kept = server.rejected_items();
        kept.reverse();
        assert_eq!(kept.len(), refused.len());
        for (rejection, note) in kept.iter().zip(&refused) {
            assert_eq!(rejection.raw, note.as_bytes());
            assert_eq!(rejection.status, 415);
            assert!(
                rejection.reason.starts_with("not a text note: "),
                "{}",
                rejection.reason
            );
        }
    }
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

/// The one live item of a datastore, after a session.
fn only_item(server: &mut Server, datastore: Datastore) -> ItemRecord {
    let items = server.items(datastore, false);
    assert_eq!(
        items.len(),
        1,
        "one item, matched, not duplicated: {items:?}"
    );
    items.into_iter().next().unwrap()
}

fn assert_holds(item: &ItemRecord, expected: &[&str], gone: &[&str]) {
    for text in expected {
        assert!(
            item.canonical.contains(text),
            "{text} missing:\n{}",
            item.canonical
        );
    }
    for text in gone {
        assert!(
            !item.canonical.contains(text),
            "{text} left:\n{}",
            item.canonical
        );
    }
}

const PC_EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimutils//khal//EN\r\nBEGIN:VEVENT\r\nUID:pc-event-1\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Dentist\r\nLOCATION:Main Street\r\nDTSTART:20060406T160000Z\r\nDTEND:20060406T170000Z\r\nCATEGORIES:Health\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// The same event as a Nokia holds it (vCalendar 1.0, no UID), moved to another place.
const PHONE_EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Dentist\r\nLOCATION:Market Square\r\nDTSTART:20060406T160000Z\r\nDTEND:20060406T170000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// A PC event comes back from the phone's slow sync and from its two-way Replace with its
/// UID, DTSTAMP and the categories the phone cannot hold, and with the phone's edits.
#[test]
fn a_pc_event_keeps_its_uid_through_slow_syncs_and_phone_edits() {
    let mut server = Server::new(ServerConfig::default());
    server.add_item_text(Datastore::Calendar, PC_EVENT);
    let mut phone = phone_for(
        Datastore::Calendar,
        "./calendar",
        "Calendar",
        "text/x-vcalendar",
    );
    phone.version = Version::V1_2;
    phone.ctcap = Some(vec![
        "BEGIN", "END", "VERSION", "SUMMARY", "LOCATION", "DTSTART", "DTEND", "AALARM",
    ]);
    let luid = phone.add(PHONE_EVENT);
    assert!(phone.sync(&mut server, AlertCode::SlowSync, None).completed);
    let event = only_item(&mut server, Datastore::Calendar);
    let kept = [
        "UID:pc-event-1",
        "DTSTAMP:20060401T120000Z",
        "CATEGORIES:Health",
        "PRODID:-//pimutils//khal//EN",
    ];
    assert_holds(
        &event,
        &[&kept[..], &["LOCATION:Market Square"]].concat(),
        &["Main Street"],
    );
    assert_eq!(
        event.identity_key.as_deref(),
        Some("event|dentist|20060406T160000Z")
    );

    phone.edit(&luid, &PHONE_EVENT.replace("Market Square", "Room 4"));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    let event = only_item(&mut server, Datastore::Calendar);
    assert_holds(
        &event,
        &[&kept[..], &["LOCATION:Room 4"]].concat(),
        &["Market Square"],
    );
    assert_eq!(
        event.canonical.matches("UID:").count(),
        1,
        "{}",
        event.canonical
    );
}

/// The PC's event goes to the phone in a two-way sync; the phone's Replace of it (no UID,
/// as a Nokia writes it back) keeps the UID and what the phone was not sent.
#[test]
fn a_phone_replace_of_an_event_it_got_from_the_pc_keeps_the_uid() {
    let mut server = Server::new(ServerConfig::default());
    server.add_item_text(Datastore::Calendar, PC_EVENT);
    let mut phone = phone_for(
        Datastore::Calendar,
        "./calendar",
        "Calendar",
        "text/x-vcalendar",
    );
    phone.version = Version::V1_2;
    phone.ctcap = Some(vec![
        "BEGIN", "END", "VERSION", "SUMMARY", "LOCATION", "DTSTART", "DTEND",
    ]);
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    let (luid, sent) = phone
        .items
        .iter()
        .next()
        .map(|(l, t)| (l.clone(), t.clone()))
        .unwrap();
    assert!(
        !sent.contains("CATEGORIES"),
        "the phone got only what it holds: {sent}"
    );

    phone.edit(&luid, &PHONE_EVENT.replace("Market Square", "Room 4"));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    let event = only_item(&mut server, Datastore::Calendar);
    assert_holds(
        &event,
        &[
            "UID:pc-event-1",
            "DTSTAMP:20060401T120000Z",
            "CATEGORIES:Health",
            "LOCATION:Room 4",
        ],
        &["Main Street"],
    );
}

#[test]
fn a_pc_todo_keeps_its_uid_through_a_slow_sync() {
    let mut server = Server::new(ServerConfig::default());
    server.add_item_text(
        Datastore::Tasks,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:pc-todo-1\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    );
    let mut phone = phone_for(Datastore::Tasks, "./todo", "Tasks", "text/x-vcalendar");
    phone.add("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nSTATUS:COMPLETED\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
    assert!(phone.sync(&mut server, AlertCode::SlowSync, None).completed);
    let todo = only_item(&mut server, Datastore::Tasks);
    assert_holds(
        &todo,
        &[
            "UID:pc-todo-1",
            "DTSTAMP:20060401T120000Z",
            "STATUS:COMPLETED",
        ],
        &["NEEDS-ACTION"],
    );
}

#[test]
fn a_pc_note_keeps_its_uid_through_a_slow_sync() {
    let mut server = Server::new(ServerConfig::default());
    server.add_item_text(
        Datastore::Notes,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VJOURNAL\r\nUID:pc-note-1\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Shopping\r\nDESCRIPTION:Shopping\\nmilk\r\nCATEGORIES:Home\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n",
    );
    let mut phone = phone_for(Datastore::Notes, "./Memo", "Memo", "text/plain");
    // Same note (same first line and text), so matched; edited once synced.
    let luid = phone.add("Shopping\r\nmilk");
    assert!(phone.sync(&mut server, AlertCode::SlowSync, None).completed);
    let note = only_item(&mut server, Datastore::Notes);
    let kept = [
        "UID:pc-note-1",
        "DTSTAMP:20060401T120000Z",
        "CATEGORIES:Home",
    ];
    assert_holds(&note, &kept, &[]);

    phone.edit(&luid, "Shopping\r\nmilk\r\nbread");
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    let note = only_item(&mut server, Datastore::Notes);
    assert_holds(
        &note,
        &[&kept[..], &["DESCRIPTION:Shopping\\nmilk\\nbread"]].concat(),
        &[],
    );
}
