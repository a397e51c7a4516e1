//! A phone calendar that holds to-dos too (Nokia; the Sony Ericsson P900 by its DevInf): the
//! phone's to-dos land in Tasks, the PC's to-dos reach the phone in its calendar, and Maps,
//! edits, deletes and anchors work across the two stores.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::storage::Datastore;
use handsync_engine::ServerConfig;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Command, Encoding, StatusCode};

/// What the phones' vCalendar CTCaps list besides BEGIN.
const CALENDAR_PROPERTIES: [&str; 8] = [
    "VERSION",
    "END",
    "SUMMARY",
    "DTSTART",
    "DTEND",
    "DUE",
    "STATUS",
    "DESCRIPTION",
];

fn calendar_phone(version: Version, encoding: Encoding) -> Phone {
    let mut phone = Phone::new(version, encoding);
    phone.datastore = Datastore::Calendar;
    phone.local_uri = "./Calendar".into();
    phone.remote_uri = "Calendar".into();
    phone.content_type = "text/x-vcalendar".into();
    phone
}

fn event(summary: &str, day: u32) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:{summary}\r\n\
         DTSTART:200604{day:02}T090000Z\r\nDTEND:200604{day:02}T100000Z\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n"
    )
}

fn todo(summary: &str, status: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:{summary}\r\n\
         DUE:20060430T220000Z\r\nSTATUS:{status}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
}

fn summaries(server: &mut Server, datastore: Datastore) -> Vec<String> {
    let mut found: Vec<String> = server
        .items(datastore, false)
        .iter()
        .map(|item| {
            item.canonical
                .lines()
                .find_map(|l| l.strip_prefix("SUMMARY:"))
                .unwrap_or("")
                .to_string()
        })
        .collect();
    found.sort();
    found
}

fn phone_summaries(phone: &Phone, kind: &str) -> Vec<String> {
    let mut found: Vec<String> = phone
        .items
        .values()
        .filter(|v| v.contains(&format!("BEGIN:{kind}")))
        .map(|v| {
            // SUMMARY, with whatever parameters the phone's profile writes (CHARSET...).
            v.lines()
                .filter(|l| l.starts_with("SUMMARY"))
                .find_map(|l| l.split_once(':').map(|(_, value)| value))
                .unwrap_or("")
                .to_string()
        })
        .collect();
    found.sort();
    found
}

/// Both sides add, edit and delete events and to-dos over three sessions, in both encodings:
/// the phone's to-dos are kept in Tasks, never in Calendar; the PC's to-do reaches the phone
/// in its calendar's one Sync (vCalendar 1.0) and is mapped; after the first session every
/// sync is two-way (the anchors of both stores move together), and nothing is doubled.
#[test]
fn a_nokia_calendar_syncs_events_with_calendar_and_todos_with_tasks() {
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let mut server = Server::new(ServerConfig::default());
        let pc_event = server.add_item_text(
            Datastore::Calendar,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:pc-event\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Dentist\r\nDTSTART:20060412T080000Z\r\nDTEND:20060412T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        );
        let pc_task = server.add_item_text(
            Datastore::Tasks,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:pc-todo\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        );
        let mut phone = calendar_phone(Version::V1_2, encoding);
        let meeting = phone.add(&event("Meeting", 3));
        phone.add(&event("Lunch", 4));
        let milk = phone.add(&todo("Buy milk", "NEEDS-ACTION"));
        phone.add(&todo("Call Anna", "NEEDS-ACTION"));

        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        assert_eq!(
            summaries(&mut server, Datastore::Calendar),
            ["Dentist", "Lunch", "Meeting"]
        );
        assert_eq!(
            summaries(&mut server, Datastore::Tasks),
            ["Buy milk", "Call Anna", "Taxes"]
        );
        assert_eq!(
            phone_summaries(&phone, "VEVENT"),
            ["Dentist", "Lunch", "Meeting"]
        );
        assert_eq!(
            phone_summaries(&phone, "VTODO"),
            ["Buy milk", "Call Anna", "Taxes"]
        );
        assert!(phone.items.values().all(|v| v.contains("VERSION:1.0")));
        // The PC's event and to-do came in one Sync for the phone's calendar.
        let syncs: Vec<String> = outcome
            .replies
            .iter()
            .flat_map(|r| r.message.body.commands.iter())
            .filter_map(|c| match c {
                Command::Sync(s) => s.target.as_ref().map(|t| t.loc_uri.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(syncs, ["./Calendar"]);
        assert_eq!(phone.keys().len(), 6);
        let mut server_keys = server.keys(Datastore::Calendar);
        server_keys.extend(server.keys(Datastore::Tasks));
        server_keys.sort();
        assert_eq!(phone.keys(), server_keys);

        // Edits and deletes on both sides, across both stores.
        phone.edit(&milk, &todo("Buy milk", "COMPLETED"));
        phone.remove(&meeting);
        server.replace_item_text(
            pc_task,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:pc-todo\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Taxes 2006\r\nDUE:20060430T220000Z\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        );
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        assert_eq!(
            outcome.alert_status,
            Some(StatusCode::Ok),
            "two-way, not slow"
        );
        assert_eq!(
            summaries(&mut server, Datastore::Calendar),
            ["Dentist", "Lunch"]
        );
        assert_eq!(
            summaries(&mut server, Datastore::Tasks),
            ["Buy milk", "Call Anna", "Taxes 2006"]
        );
        let tasks = server.items(Datastore::Tasks, false);
        let milk_stored = tasks
            .iter()
            .find(|t| t.canonical.contains("SUMMARY:Buy milk"))
            .unwrap();
        assert!(milk_stored.canonical.contains("STATUS:COMPLETED"));
        assert_eq!(
            phone_summaries(&phone, "VTODO"),
            ["Buy milk", "Call Anna", "Taxes 2006"]
        );
        assert_eq!(phone.items.len(), 5, "the PC's edit replaced, not added");

        // The phone deletes the PC's to-do and event: both stores get tombstones.
        let luid_of = |phone: &Phone, summary: &str| {
            phone
                .items
                .iter()
                .find(|(_, v)| v.contains(&format!("SUMMARY:{summary}\r\n")))
                .map(|(luid, _)| luid.clone())
                .unwrap()
        };
        let taxes = luid_of(&phone, "Taxes 2006");
        let dentist = luid_of(&phone, "Dentist");
        phone.remove(&taxes);
        phone.remove(&dentist);
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        assert_eq!(outcome.alert_status, Some(StatusCode::Ok));
        assert!(server.item(pc_task).is_deleted());
        assert!(server.item(pc_event).is_deleted());
        assert_eq!(
            summaries(&mut server, Datastore::Tasks),
            ["Buy milk", "Call Anna"]
        );
        assert_eq!(phone.items.len(), 3);
        assert!(
            outcome.received.is_empty(),
            "nothing comes back: {:?}",
            outcome.received
        );
    }
}

/// A slow sync of a combined calendar (the phone lost its anchors) matches events and to-dos
/// in their own stores: nothing doubled either side.
#[test]
fn a_slow_sync_of_a_combined_calendar_doubles_nothing() {
    let mut server = Server::new(ServerConfig::default());
    server.add_item_text(
        Datastore::Tasks,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:pc-todo\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    );
    let mut phone = calendar_phone(Version::V1_1, Encoding::Wbxml);
    phone.add(&event("Meeting", 3));
    phone.add(&todo("Call Anna", "NEEDS-ACTION"));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    assert_eq!(phone.items.len(), 3);
    for _ in 0..2 {
        phone.last_anchor = None;
        let outcome = phone.sync(&mut server, AlertCode::SlowSync, None);
        assert!(outcome.completed);
        assert_eq!(phone.items.len(), 3);
        assert_eq!(summaries(&mut server, Datastore::Calendar), ["Meeting"]);
        assert_eq!(
            summaries(&mut server, Datastore::Tasks),
            ["Call Anna", "Taxes"]
        );
    }
}

/// The DevInf decides over the quirk profile: a Sony Ericsson P900 (whose maker's profile
/// keeps tasks apart) whose calendar's CTCap lists VTODO and which has no task datastore
/// gets the combined sync; the same maker's phone with a task datastore does not.
#[test]
fn the_devinf_tells_a_calendar_that_holds_todos() {
    let mut server = Server::new(ServerConfig::default());
    let mut p900 = calendar_phone(Version::V1_1, Encoding::Wbxml);
    p900.maker_model = ("Sony Ericsson", "P900");
    p900.device_uri = "IMEI:350000000000900".into();
    p900.ctcap = Some(CALENDAR_PROPERTIES.to_vec());
    p900.ctcap_begin = vec!["VCALENDAR", "VEVENT", "VTODO"];
    p900.add(&event("Meeting", 3));
    p900.add(&todo("Call Anna", "NEEDS-ACTION"));
    assert!(p900.sync(&mut server, AlertCode::TwoWay, None).completed);
    assert_eq!(summaries(&mut server, Datastore::Calendar), ["Meeting"]);
    assert_eq!(summaries(&mut server, Datastore::Tasks), ["Call Anna"]);

    // Without VTODO in its CTCap, the maker's profile (tasks apart) holds: a to-do in its
    // calendar stays a calendar item, and the PC's to-dos are not sent there.
    let mut k750 = calendar_phone(Version::V1_1, Encoding::Wbxml);
    k750.maker_model = ("Sony Ericsson", "K750i");
    k750.device_uri = "IMEI:350000000000750".into();
    k750.ctcap = Some(CALENDAR_PROPERTIES.to_vec());
    k750.ctcap_begin = vec!["VCALENDAR", "VEVENT"];
    assert!(k750.sync(&mut server, AlertCode::TwoWay, None).completed);
    assert_eq!(phone_summaries(&k750, "VEVENT"), ["Meeting"]);
    assert!(phone_summaries(&k750, "VTODO").is_empty());
}
