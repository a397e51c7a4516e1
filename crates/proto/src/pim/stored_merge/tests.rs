use super::*;
use crate::pim::profile::{DeviceInfo, ProfileSet};
use crate::pim::stored;

fn nokia(capabilities: PhoneCapabilities) -> PhoneFormat {
    let profile = ProfileSet::embedded().resolve(&DeviceInfo {
        manufacturer: "Nokia".into(),
        model: "6230i".into(),
        software_version: String::new(),
    });
    PhoneFormat::new(profile, capabilities)
}

/// The stored form of a text, as import or the engine store it.
fn stored_form(phone: &PhoneFormat, datastore: Datastore, text: &str) -> String {
    stored::from_phone(phone, datastore, text.as_bytes())
        .unwrap()
        .canonical
}

fn merge(
    phone: &PhoneFormat,
    datastore: Datastore,
    stored: &str,
    from_phone: &str,
    content_type: &str,
) -> MergedItem {
    let incoming = stored_form(phone, datastore, from_phone);
    let item = PhoneItem {
        canonical: &incoming,
        content_type,
    };
    merge_into_stored(phone, datastore, stored, item, false).unwrap()
}

#[test]
fn a_contact_keeps_the_e_mail_its_phone_cannot_hold() {
    let phone = nokia(PhoneCapabilities::with_properties(&["N", "FN", "TEL"]));
    let stored = stored_form(
        &phone,
        Datastore::Contacts,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nTEL;TYPE=CELL:+44201234567\r\nEMAIL:ada@example.com\r\nEND:VCARD\r\n",
    );
    let merged = merge(
        &phone,
        Datastore::Contacts,
        &stored,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada\r\nTEL;CELL:+44207654321\r\nEND:VCARD\r\n",
        "text/x-vcard",
    );
    assert!(merged.canonical.contains("EMAIL:ada@example.com"));
    assert!(merged.canonical.contains("+44207654321"));
    assert_eq!(merged.identity_key, "contact|ada lovelace|tel:207654321");
}

const PC_EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimutils//khal//EN\r\nBEGIN:VEVENT\r\nUID:pc-event-1\r\nDTSTAMP:20060401T120000Z\r\nCREATED:20060401T120000Z\r\nSEQUENCE:2\r\nSUMMARY:Dentist\r\nLOCATION:Main Street\r\nDESCRIPTION:Bring the card\r\nDTSTART:20060406T160000Z\r\nDTEND:20060406T170000Z\r\nCATEGORIES:Health\r\nCLASS:PRIVATE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// What a Nokia sends back: vCalendar 1.0, no UID, its own DCREATED; the user moved the
/// place and removed the description.
const PHONE_EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nDCREATED:20060405T080000Z\r\nSUMMARY:Dentist\r\nLOCATION:Market Square\r\nDTSTART:20060406T160000Z\r\nDTEND:20060406T170000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn an_event_keeps_its_uid_and_what_the_phone_cannot_hold() {
    let phone = nokia(PhoneCapabilities::with_properties(&[
        "SUMMARY",
        "LOCATION",
        "DESCRIPTION",
        "DTSTART",
        "DTEND",
        "DCREATED",
        "AALARM",
    ]));
    let stored = stored_form(&phone, Datastore::Calendar, PC_EVENT);
    let merged = merge(
        &phone,
        Datastore::Calendar,
        &stored,
        PHONE_EVENT,
        "text/x-vcalendar",
    );
    let text = &merged.canonical;
    for kept in [
        "UID:pc-event-1",
        "DTSTAMP:20060401T120000Z",
        "CREATED:20060401T120000Z",
        "SEQUENCE:2",
        "CATEGORIES:Health",
        "CLASS:PRIVATE",
        "PRODID:-//pimutils//khal//EN",
    ] {
        assert!(text.contains(kept), "{kept} lost:\n{text}");
    }
    assert!(text.contains("LOCATION:Market Square"), "{text}");
    assert!(!text.contains("Main Street"), "{text}");
    assert!(
        !text.contains("DESCRIPTION"),
        "cleared on the phone:\n{text}"
    );
    assert_eq!(text.matches("UID:").count(), 1, "{text}");
    assert_eq!(merged.identity_key, "event|dentist|20060406T160000Z");
}

#[test]
fn an_event_the_phone_holds_everything_of_still_keeps_its_uid_and_stamps() {
    // No CTCap: the phone is trusted to hold what it is sent, so what it left out was
    // removed; but it has no UID or DTSTAMP of the PC's, whatever it says.
    let phone = nokia(PhoneCapabilities::default());
    let stored = stored_form(&phone, Datastore::Calendar, PC_EVENT);
    let merged = merge(
        &phone,
        Datastore::Calendar,
        &stored,
        PHONE_EVENT,
        "text/x-vcalendar",
    );
    let text = &merged.canonical;
    assert!(text.contains("UID:pc-event-1"), "{text}");
    assert!(text.contains("DTSTAMP:20060401T120000Z"), "{text}");
    assert!(text.contains("CREATED:20060401T120000Z"), "{text}");
    assert!(!text.contains("DCREATED"), "{text}");
    assert!(!text.contains("CATEGORIES"), "{text}");
    // The phone's own UID does not replace the PC's either.
    let with_uid = PHONE_EVENT.replace("SUMMARY:", "UID:phone-77\r\nSUMMARY:");
    let merged = merge(
        &phone,
        Datastore::Calendar,
        &stored,
        &with_uid,
        "text/x-vcalendar",
    );
    assert!(merged.canonical.contains("UID:pc-event-1"));
    assert!(!merged.canonical.contains("phone-77"));
}

#[test]
fn a_time_the_phone_got_in_utc_keeps_its_zone() {
    let stored = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:pc-event-2\r\nSUMMARY:Dentist\r\nDTSTART;TZID=Europe/Berlin:20060406T180000\r\nDTEND;TZID=Europe/Berlin:20060406T190000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let phone = nokia(PhoneCapabilities::default());
    let stored = stored_form(&phone, Datastore::Calendar, stored);
    let sent = phone.calendar_to_phone(&Calendar::parse(stored.as_bytes()).unwrap());
    assert!(sent.contains("DTSTART:20060406T160000Z"), "{sent}");
    let unchanged = merge(
        &phone,
        Datastore::Calendar,
        &stored,
        &sent,
        "text/x-vcalendar",
    );
    assert_eq!(unchanged.canonical, stored);
    let edited = sent.replace("SUMMARY:Dentist", "SUMMARY:Dentist (Dr. Lee)");
    let merged = merge(
        &phone,
        Datastore::Calendar,
        &stored,
        &edited,
        "text/x-vcalendar",
    );
    let text = &merged.canonical;
    assert!(
        text.contains("DTSTART;TZID=Europe/Berlin:20060406T180000"),
        "{text}"
    );
    assert!(text.contains("TZID:Europe/Berlin"), "{text}");
    assert!(text.contains("SUMMARY:Dentist (Dr. Lee)"), "{text}");
    assert!(text.contains("UID:pc-event-2"), "{text}");
}

#[test]
fn a_todo_keeps_its_uid_and_takes_the_phone_status() {
    let stored = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:pc-todo-1\r\nDTSTAMP:20060401T120000Z\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nCATEGORIES:Money\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let phone = nokia(PhoneCapabilities::with_properties(&[
        "SUMMARY", "DUE", "STATUS", "PRIORITY",
    ]));
    let stored = stored_form(&phone, Datastore::Tasks, stored);
    let from_phone = "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nSTATUS:COMPLETED\r\nPRIORITY:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let merged = merge(
        &phone,
        Datastore::Tasks,
        &stored,
        from_phone,
        "text/x-vcalendar",
    );
    let text = &merged.canonical;
    for expected in [
        "UID:pc-todo-1",
        "DTSTAMP:20060401T120000Z",
        "CATEGORIES:Money",
        "STATUS:COMPLETED",
        "PRIORITY:1",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    assert!(!text.contains("NEEDS-ACTION"), "{text}");
    assert_eq!(merged.identity_key, "todo|taxes|20060430T220000Z");
}

#[test]
fn a_note_keeps_what_a_text_only_phone_cannot_hold() {
    let stored = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimutils//khal//EN\r\nBEGIN:VJOURNAL\r\nUID:pc-note-1\r\nDTSTAMP:20060401T120000Z\r\nDTSTART;VALUE=DATE:20060401\r\nSUMMARY:Shopping\r\nDESCRIPTION:Shopping\\nmilk\r\nCATEGORIES:Home\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n";
    let phone = nokia(PhoneCapabilities::default());
    let merged = merge(
        &phone,
        Datastore::Notes,
        stored,
        "Shopping list\r\nmilk\r\nbread",
        "text/plain",
    );
    let text = &merged.canonical;
    for expected in [
        "UID:pc-note-1",
        "DTSTAMP:20060401T120000Z",
        "DTSTART;VALUE=DATE:20060401",
        "CATEGORIES:Home",
        "PRODID:-//pimutils//khal//EN",
        // The summary was the first line: it follows the phone's text.
        "SUMMARY:Shopping list",
        "DESCRIPTION:Shopping list\\nmilk\\nbread",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    let note = Note::from_text("Shopping list\nmilk\nbread");
    assert_eq!(merged.identity_key, crate::pim::identity::note_key(&note).0);
}

#[test]
fn a_note_title_of_its_own_stays_and_an_unchanged_note_is_the_stored_one() {
    let stored = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//handsync//handsync//EN\r\nBEGIN:VJOURNAL\r\nUID:pc-note-2\r\nSUMMARY:Groceries\r\nDESCRIPTION:milk\\nbread\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n";
    let phone = nokia(PhoneCapabilities::default());
    let stored = stored_form(&phone, Datastore::Notes, stored);
    let unchanged = merge(
        &phone,
        Datastore::Notes,
        &stored,
        "milk\r\nbread",
        "text/plain",
    );
    assert_eq!(unchanged.canonical, stored);
    let edited = merge(
        &phone,
        Datastore::Notes,
        &stored,
        "milk\r\nbread\r\neggs",
        "text/plain",
    );
    assert!(edited.canonical.contains("SUMMARY:Groceries"));
    assert!(edited.canonical.contains("DESCRIPTION:milk\\nbread\\neggs"));
    assert!(edited.canonical.contains("UID:pc-note-2"));
}

#[test]
fn a_vnote_phone_keeps_what_its_ctcap_leaves_out() {
    let stored = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VJOURNAL\r\nUID:pc-note-3\r\nSUMMARY:Call Anna\r\nDESCRIPTION:Call Anna\r\nCLASS:PRIVATE\r\nCATEGORIES:Family\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n";
    let phone = nokia(PhoneCapabilities::with_properties(&["BODY", "CATEGORIES"]));
    let from_phone = "BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY:Call Anna on Sunday\r\nEND:VNOTE\r\n";
    let merged = merge(&phone, Datastore::Notes, stored, from_phone, "text/x-vnote");
    let text = &merged.canonical;
    assert!(text.contains("CLASS:PRIVATE"), "{text}");
    assert!(
        !text.contains("CATEGORIES"),
        "cleared on the phone:\n{text}"
    );
    assert!(text.contains("DESCRIPTION:Call Anna on Sunday"), "{text}");
    assert!(text.contains("SUMMARY:Call Anna on Sunday"), "{text}");
    assert!(text.contains("UID:pc-note-3"), "{text}");
}

#[test]
fn what_cannot_be_read_or_matched_is_left_to_the_caller() {
    let phone = nokia(PhoneCapabilities::default());
    let stored = stored_form(&phone, Datastore::Calendar, PC_EVENT);
    let todo = stored_form(
        &phone,
        Datastore::Tasks,
        "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    );
    let item = |canonical| PhoneItem {
        canonical,
        content_type: "text/x-vcalendar",
    };
    assert_eq!(
        merge_into_stored(&phone, Datastore::Calendar, &stored, item(&todo), false),
        None
    );
    assert_eq!(
        merge_into_stored(&phone, Datastore::Calendar, "garbage", item(&todo), false),
        None
    );
}
