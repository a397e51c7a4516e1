//! SIF clients (Funambol, sync4j: Outlook, Windows Mobile) end to end: their items in
//! `text/x-s4j-sif*` are stored in the stored forms, and what the PC holds goes back to them
//! as SIF of the type they use, in base64 when they send base64.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::storage::Datastore;
use handsync_engine::ServerConfig;
use handsync_proto::markup::Version;
use handsync_proto::pim::sif::SifDocument;
use handsync_proto::syncml::{AlertCode, Encoding, StatusCode};

fn sif_client(datastore: Datastore, remote: &str, content_type: &str, encoding: Encoding) -> Phone {
    let mut phone = Phone::new(Version::V1_2, encoding);
    phone.datastore = datastore;
    phone.local_uri = format!("./{remote}");
    phone.remote_uri = remote.into();
    phone.content_type = content_type.into();
    phone.device_uri = format!("fwm-{remote}-{content_type}");
    phone
}

const CONTACT: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><contact><SIFVersion>1.1</SIFVersion>\
<FirstName>Ada</FirstName><LastName>Lovelace</LastName><FileAs>Lovelace, Ada</FileAs>\
<CompanyName>Engines &amp; Co</CompanyName><Email1Address>ada@example.org</Email1Address>\
<MobileTelephoneNumber>+44 7700 900123</MobileTelephoneNumber><Birthday>1815-12-10</Birthday>\
<Body>line 1&#13;&#10;line 2</Body><Categories>VIP</Categories></contact>";

const EVENT: &str = "<appointment><SIFVersion>1.1</SIFVersion><Subject>Review</Subject>\
<Location>Room 4</Location><Start>20070105T090000Z</Start><End>20070105T100000Z</End>\
<AllDayEvent>0</AllDayEvent><ReminderSet>1</ReminderSet>\
<ReminderMinutesBeforeStart>15</ReminderMinutesBeforeStart><IsRecurring>1</IsRecurring>\
<RecurrenceType>1</RecurrenceType><Interval>1</Interval><DayOfWeekMask>2</DayOfWeekMask>\
<NoEndDate>1</NoEndDate><Exceptions><ExcludeDate>20070115T090000Z</ExcludeDate></Exceptions>\
</appointment>";

const TASK: &str = "<task><Subject>File taxes</Subject><DueDate>2008-04-15</DueDate>\
<Importance>2</Importance><Status>1</Status><PercentComplete>50</PercentComplete>\
<Complete>0</Complete></task>";

const NOTE: &str = "<note><Subject>Shopping</Subject><Body>Milk\nBread</Body>\
<Color>3</Color></note>";

/// Each type: what a stored item must hold once the client's SIF went through the session.
const CASES: [(Datastore, &str, &str, &str, &[&str]); 4] = [
    (
        Datastore::Contacts,
        "card",
        "text/x-s4j-sifc",
        CONTACT,
        &[
            "BEGIN:VCARD",
            "VERSION:3.0",
            "N:Lovelace;Ada;;;",
            "TEL;TYPE=CELL:+44 7700 900123",
            "NOTE:line 1\\nline 2",
        ],
    ),
    (
        Datastore::Calendar,
        "cal",
        "text/x-s4j-sife",
        EVENT,
        &[
            "BEGIN:VEVENT",
            "DTSTART:20070105T090000Z",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
            "EXDATE:20070115T090000Z",
            "TRIGGER:-PT15M",
        ],
    ),
    (
        Datastore::Tasks,
        "task",
        "text/x-s4j-sift",
        TASK,
        &[
            "BEGIN:VTODO",
            "DUE;VALUE=DATE:20080415",
            "STATUS:IN-PROCESS",
            "PRIORITY:1",
        ],
    ),
    (
        Datastore::Notes,
        "note",
        "text/x-s4j-sifn",
        NOTE,
        &[
            "BEGIN:VJOURNAL",
            "SUMMARY:Shopping",
            "DESCRIPTION:Milk\\nBread",
        ],
    ),
];

/// A client sends each SIF type (plain and in base64, XML and WBXML); the server stores the
/// stored form, and a second SIF client gets the items back as SIF with the same fields.
#[test]
fn sif_items_are_stored_in_the_stored_forms_and_sent_back_as_sif() {
    for (encoding, sends_b64) in [(Encoding::Xml, true), (Encoding::Wbxml, false)] {
        for (datastore, remote, content_type, sif, stored_lines) in CASES {
            let mut server = Server::new(ServerConfig::default());
            let mut client = sif_client(datastore, remote, content_type, encoding);
            client.sends_b64 = sends_b64;
            client.add(sif);
            let outcome = client.sync(&mut server, AlertCode::TwoWay, None);
            assert!(outcome.completed, "{content_type}");
            assert_eq!(
                outcome.change_statuses,
                vec![StatusCode::ItemAdded],
                "{content_type}"
            );

            let items = server.items(datastore, false);
            assert_eq!(items.len(), 1, "{content_type}: {:?}", server.problems());
            let stored = &items[0];
            assert_eq!(stored.content_type, content_type);
            assert_eq!(stored.raw, sif.as_bytes());
            for line in stored_lines {
                assert!(
                    stored.canonical.contains(line),
                    "{content_type}: {line} missing from\n{}",
                    stored.canonical
                );
            }
            assert_eq!(server.keys(datastore), client.keys());

            // Another client of the same kind gets it as SIF: its DevInf names the type and
            // it sent nothing yet, so base64, as Funambol clients expect.
            let mut other = sif_client(datastore, remote, content_type, encoding);
            other.device_uri.push_str("-other");
            let outcome = other.sync(&mut server, AlertCode::SlowSync, None);
            assert!(outcome.completed, "{content_type}");
            assert_eq!(
                other.received_meta,
                vec![(content_type.to_string(), Some("b64".to_string()))]
            );
            let received = other.items.values().next().expect("one item received");
            let sent = SifDocument::parse(sif.as_bytes()).unwrap();
            let back = SifDocument::parse(received.as_bytes()).unwrap();
            assert_eq!(back.kind, sent.kind);
            for (name, value) in &sent.fields {
                if name != "SIFVersion" && !value.is_empty() {
                    let value = value.replace("\r\n", "\n");
                    assert!(
                        back.all(name).any(|v| v == value),
                        "{content_type}: {name} {value:?} not in {received}"
                    );
                }
            }
            assert_eq!(other.keys(), client.keys());
        }
    }
}

/// A SIF client that sends plain SIF gets plain SIF; what the PC adds goes to it as SIF of
/// its type, whatever format it was stored from.
#[test]
fn pc_items_go_to_a_sif_client_in_the_type_and_format_it_uses() {
    let mut server = Server::new(ServerConfig::default());
    server.add_contact(&vcard(3));
    let mut client = sif_client(
        Datastore::Contacts,
        "card",
        "text/x-s4j-sifc",
        Encoding::Xml,
    );
    client.add(CONTACT);
    let outcome = client.sync(&mut server, AlertCode::SlowSync, None);
    assert!(outcome.completed);
    assert_eq!(server.contacts().len(), 2);
    // It sent plain SIF: it gets plain SIF.
    assert_eq!(
        client.received_meta,
        vec![("text/x-s4j-sifc".to_string(), None)]
    );
    let received: Vec<&String> = client
        .items
        .values()
        .filter(|v| !v.contains("Lovelace"))
        .collect();
    assert_eq!(received.len(), 1);
    let document = SifDocument::parse(received[0].as_bytes()).unwrap();
    let card = handsync_proto::pim::vcard::VCard::parse(vcard(3).as_bytes()).unwrap();
    let name = card.name().unwrap();
    assert_eq!(document.get("LastName"), Some(name.family.as_str()));
    assert_eq!(client.keys(), server.contact_keys());

    // The PC edits the client's contact: it goes back as a Replace in SIF, base64 this time
    // since the client now sends base64.
    client.sends_b64 = true;
    let guid = server
        .contacts()
        .into_iter()
        .find(|c| c.canonical.contains("Lovelace"))
        .unwrap()
        .guid;
    let edited = server
        .item(guid)
        .canonical
        .replace("+44 7700 900123", "+44 7700 900999");
    server.replace_contact(guid, &edited);
    client.add(&CONTACT.replace("Ada", "Augusta"));
    client.received_meta.clear();
    let outcome = client.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(
        client.received_meta,
        vec![("text/x-s4j-sifc".to_string(), Some("b64".to_string()))]
    );
    assert!(client
        .items
        .values()
        .any(|v| v.contains("<MobileTelephoneNumber>+44 7700 900999</MobileTelephoneNumber>")));
}

/// SIF that is not well-formed, or not the datastore's kind, is refused with 415 and kept
/// with its bytes and the reason, as a malformed vCard is.
#[test]
fn bad_sif_is_refused_and_kept() {
    let mut server = Server::new(ServerConfig::default());
    let mut client = sif_client(
        Datastore::Contacts,
        "card",
        "text/x-s4j-sifc",
        Encoding::Xml,
    );
    client.sends_b64 = true;
    client.add("<contact><FirstName>Ada</LastName></contact>");
    client.add(NOTE);
    let outcome = client.sync(&mut server, AlertCode::TwoWay, None);
    assert_eq!(
        outcome.change_statuses,
        vec![StatusCode::UnsupportedMediaType; 2]
    );
    assert!(server.contacts().is_empty());
    let mut kept = server.rejected_items();
    kept.sort_by_key(|r| r.raw.len());
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|r| r.status == 415));
    let reasons: Vec<&str> = kept.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("SIF is not well-formed XML")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"SIF <note> where a contact was expected"),
        "{reasons:?}"
    );
    // Kept decoded: the bytes the client meant.
    assert!(kept.iter().any(|r| r.raw == NOTE.as_bytes()));
}

/// A SIF client's edit of a PC contact changes what SIF carries and keeps what it cannot
/// (the UID, other programs' X- properties) from the stored contact.
#[test]
fn a_sif_edit_keeps_what_sif_cannot_carry() {
    let mut server = Server::new(ServerConfig::default());
    let guid = server.add_contact(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:pc-uid-1\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nTEL;TYPE=CELL:+1 555 0101\r\nX-EVOLUTION-FILE-AS:Hopper\\, Grace\r\nEND:VCARD\r\n",
    );
    let mut client = sif_client(
        Datastore::Contacts,
        "card",
        "text/x-s4j-sifc",
        Encoding::Wbxml,
    );
    assert!(
        client
            .sync(&mut server, AlertCode::SlowSync, None)
            .completed
    );
    let (luid, sif) = client
        .items
        .iter()
        .next()
        .map(|(l, s)| (l.clone(), s.clone()))
        .unwrap();
    assert!(
        sif.contains("<MobileTelephoneNumber>+1 555 0101</MobileTelephoneNumber>"),
        "{sif}"
    );
    client.edit(&luid, &sif.replace("+1 555 0101", "+1 555 0199"));
    assert!(client.sync(&mut server, AlertCode::TwoWay, None).completed);
    let stored = server.item(guid).canonical;
    assert!(stored.contains("TEL;TYPE=CELL:+1 555 0199"), "{stored}");
    assert!(!stored.contains("0101"), "{stored}");
    assert!(stored.contains("UID:pc-uid-1"), "{stored}");
    assert!(
        stored.contains("X-EVOLUTION-FILE-AS:Hopper\\, Grace"),
        "{stored}"
    );
}
