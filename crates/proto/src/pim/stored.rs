//! The stored form of an item, one shape whoever brings it in: the sync engine (what a phone
//! sends) and `handsync import` (desktop files) both go through here, so an item looks the
//! same on the PC whichever way it came, and slow-sync matching and duplicate detection compare
//! like with like.
//!
//! - a contact is a vCard 3.0;
//! - an event, to-do or journal series (a recurring item and its exceptions) is one iCalendar
//!   2.0 VCALENDAR holding the series and the VTIMEZONEs its times refer to; scheduling's
//!   METHOD is left out, a PRODID is added when there is none;
//! - a note (vNote or text) is a VJOURNAL in such a VCALENDAR: BODY becomes DESCRIPTION, its
//!   first line SUMMARY.
//!
//! Each comes with its identity key (`pim::identity`) and UID. A `handsync-guid-N-T` UID, which
//! export gives items that have none, is never stored: it is taken off and handed back as an
//! [`ExportUid`] naming the item it came from.

use super::calendar::{Calendar, CalendarVersion};
use super::content::{self, Component, Property, WriteOptions};
use super::datastore::Datastore;
use super::identity;
use super::note::Note;
use super::phone::PhoneFormat;
use super::vcard::{VCard, VCardVersion};

/// Prefix of the UID export gives items that have none (see [`ExportUid`]).
pub const EXPORT_UID_PREFIX: &str = "handsync-guid-";

const PRODID: &str = "-//handsync//handsync//EN";

/// `handsync-guid-<GUID>-<creation time in ms>`: the UID export writes for an item without
/// one. It names the stored item (the time tells it from the item with the same GUID in
/// another database), so the file keeps its name while the item changes, and a re-import
/// updates the item instead of duplicating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportUid {
    pub guid: i64,
    pub created_unix_millis: i64,
}

impl ExportUid {
    pub fn parse(uid: &str) -> Option<ExportUid> {
        let (guid, created) = uid
            .trim()
            .strip_prefix(EXPORT_UID_PREFIX)?
            .split_once('-')?;
        Some(ExportUid {
            guid: guid.parse().ok()?,
            created_unix_millis: created.parse().ok()?,
        })
    }

    pub fn uid(self) -> String {
        format!(
            "{EXPORT_UID_PREFIX}{}-{}",
            self.guid, self.created_unix_millis
        )
    }
}

/// An item in its stored form.
#[derive(Debug, Clone)]
pub struct StoredItem {
    /// Where the item belongs: an event, to-do or journal by its component.
    pub datastore: Datastore,
    /// The content type of the object as it was read (`text/x-vcard` for vCard 2.1,
    /// `text/vcard`, `text/x-vcalendar`, `text/calendar`, `text/x-vnote`, `text/plain`).
    pub source_type: &'static str,
    /// The original bytes, kept beside the canonical form.
    pub raw: Vec<u8>,
    pub component: Component,
    pub canonical: String,
    pub identity_key: String,
    /// The item's own UID, when it has one.
    pub uid: Option<String>,
    /// The stored item named by the `handsync-guid-…` UID export gave it (taken off).
    pub export_uid: Option<ExportUid>,
}

/// A vCard (any version) as stored.
pub fn contact(card: &VCard, raw: Vec<u8>) -> StoredItem {
    let source_type = match card.version() {
        VCardVersion::V21 => "text/x-vcard",
        _ => "text/vcard",
    };
    contact_v30(card.to_v30(), source_type, raw)
}

/// A contact already in vCard 3.0 (a phone's, with its quirks undone) as stored.
pub(super) fn contact_v30(card: VCard, source_type: &'static str, raw: Vec<u8>) -> StoredItem {
    let mut component = card.component;
    let export_uid = take_export_uid(&mut component);
    let card = VCard { component };
    let identity_key = identity::contact_key(&card).0;
    let uid = card.uid().filter(|u| !u.trim().is_empty());
    let canonical = content::write_component(&card.component, &WriteOptions::modern());
    StoredItem {
        datastore: Datastore::Contacts,
        source_type,
        raw,
        component: card.component,
        canonical,
        identity_key,
        uid,
        export_uid,
    }
}

/// A note (vNote or text) as stored: a VJOURNAL in a VCALENDAR.
pub fn note(note: &Note, source_type: &'static str, raw: Vec<u8>) -> StoredItem {
    let mut journal = note.to_journal();
    let export_uid = journal.components.first_mut().and_then(take_export_uid);
    calendar_item(journal, Datastore::Notes, source_type, raw, export_uid)
}

/// A text/plain note (UTF-8, else windows-1252).
pub fn text_note(text: &[u8]) -> StoredItem {
    let parsed = Note::from_text(&super::codec::decode_text(text, None));
    note(&parsed, "text/plain", text.to_vec())
}

/// One object of a file, parsed: a label for messages (`file:line`), its component and its
/// original bytes.
#[derive(Debug)]
pub struct SourceObject {
    pub label: String,
    pub component: Component,
    pub raw: Vec<u8>,
}

/// The items the objects of one file hold: a vCard is one contact, a vNote one note, and the
/// VCALENDARs give one item per event, to-do or journal series, where a series (same kind and
/// UID) stays one item even when its parts come in separate VCALENDARs. Items come back
/// labelled with their object's label; objects that hold no item come back as errors.
pub fn items_of(objects: Vec<SourceObject>) -> (Vec<(String, StoredItem)>, Vec<String>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut calendars = Vec::new();
    for object in objects {
        match object.component.name.as_str() {
            "VCARD" => {
                let card = VCard {
                    component: object.component,
                };
                items.push((object.label, contact(&card, object.raw)));
            }
            "VNOTE" => {
                let parsed = Note {
                    component: object.component,
                };
                items.push((object.label, note(&parsed, "text/x-vnote", object.raw)));
            }
            "VCALENDAR" => {
                let calendar = Calendar {
                    component: object.component,
                };
                let source_type = calendar_type(&calendar);
                let converted = calendar.to_ical20().component;
                if !converted.components.iter().any(|c| is_item(&c.name)) {
                    errors.push(format!(
                        "{}: VCALENDAR holds no event, to-do or journal",
                        object.label
                    ));
                    continue;
                }
                calendars.push(ReadCalendar {
                    label: object.label,
                    calendar: converted,
                    raw: object.raw,
                    source_type,
                });
            }
            other => errors.push(format!(
                "{}: BEGIN:{other} is not a vCard, vCalendar, iCalendar or vNote",
                object.label
            )),
        }
    }
    items.extend(series_items(&calendars));
    (items, errors)
}

/// An item a phone sent, as stored. `expected` is what its datastore holds (events and to-dos
/// are both read as calendars: phones keep them in one datastore). The phone's quirks (its
/// charset, the e-mail types it adds) are undone on the way. The error says what is wrong.
pub fn from_phone(
    phone: &PhoneFormat,
    expected: Datastore,
    bytes: &[u8],
) -> Result<StoredItem, String> {
    let top = top_component(bytes);
    match expected {
        Datastore::Contacts => {
            if let Some(other) = top.as_deref().filter(|name| *name != "VCARD") {
                return Err(format!("BEGIN:{other} where a vCard was expected"));
            }
            let card = phone
                .contact_from_phone(bytes)
                .map_err(|e| format!("not a vCard: {e}"))?;
            // vCard 2.1 says VERSION:2.1 (or nothing, in the oldest phones).
            let source_type = match declared_version(bytes).as_deref() {
                Some("3.0" | "4.0") => "text/vcard",
                _ => "text/x-vcard",
            };
            Ok(contact_v30(card, source_type, bytes.to_vec()))
        }
        Datastore::Calendar | Datastore::Tasks => {
            if let Some(other) = top.as_deref().filter(|name| *name != "VCALENDAR") {
                return Err(format!(
                    "BEGIN:{other} where a vCalendar/iCalendar was expected"
                ));
            }
            let calendar = phone
                .calendar_from_phone(bytes)
                .map_err(|e| format!("not a vCalendar/iCalendar: {e}"))?;
            phone_calendar(calendar, calendar_source_type(bytes), bytes)
        }
        Datastore::Notes => match top.as_deref() {
            // Some phones send their memos as iCalendar journals.
            Some("VCALENDAR") => {
                let calendar = phone
                    .calendar_from_phone(bytes)
                    .map_err(|e| format!("not an iCalendar journal: {e}"))?;
                phone_calendar(calendar, calendar_source_type(bytes), bytes)
            }
            Some("VNOTE") | None => {
                let parsed = phone
                    .note_from_phone(bytes)
                    .map_err(|e| format!("not a note: {e}"))?;
                if top.is_none() {
                    if let Some(why) = Note::not_plain_text(&parsed.body()) {
                        return Err(format!("not a text note: {why}"));
                    }
                }
                let source_type = if top.is_some() {
                    "text/x-vnote"
                } else {
                    "text/plain"
                };
                Ok(note(&parsed, source_type, bytes.to_vec()))
            }
            Some(other) => Err(format!("BEGIN:{other} where a note was expected")),
        },
    }
}

/// The name of the object `bytes` begins with (`BEGIN:VCARD` → `VCARD`); `None` when they
/// do not begin with a BEGIN line (text).
fn top_component(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    let line_end = rest.iter().position(|b| *b == b'\r' || *b == b'\n');
    let line = &rest[..line_end.unwrap_or(rest.len())];
    let (name, value) = std::str::from_utf8(line).ok()?.split_once(':')?;
    name.trim()
        .eq_ignore_ascii_case("BEGIN")
        .then(|| value.trim().to_ascii_uppercase())
}

fn calendar_source_type(bytes: &[u8]) -> &'static str {
    // iCalendar 2.0 says VERSION:2.0; vCalendar 1.0 says 1.0 or nothing.
    match declared_version(bytes).as_deref() {
        Some("2.0") => "text/calendar",
        _ => "text/x-vcalendar",
    }
}

/// The value of the first VERSION line.
fn declared_version(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes).lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("VERSION")
            .then(|| value.trim().to_string())
    })
}

/// A phone's calendar object: one item, whatever it holds (its LUID names one item), shaped
/// like a series read from a file.
pub(super) fn phone_calendar(
    calendar: Calendar,
    source_type: &'static str,
    bytes: &[u8],
) -> Result<StoredItem, String> {
    if calendar.component.name != "VCALENDAR" {
        return Err(format!(
            "BEGIN:{} where a vCalendar/iCalendar was expected",
            calendar.component.name
        ));
    }
    let members: Vec<Component> = calendar
        .component
        .components
        .iter()
        .filter(|c| is_item(&c.name))
        .cloned()
        .collect();
    let Some(first) = members.first() else {
        return Err("a calendar without an event, to-do or journal".into());
    };
    let datastore = datastore_of_component(&first.name);
    let zones: Vec<&Component> = calendar.component.children_named("VTIMEZONE").collect();
    let mut item = series_calendar(&calendar.component, &zones, members);
    let export_uid = take_series_export_uid(&mut item);
    Ok(calendar_item(
        item,
        datastore,
        source_type,
        bytes.to_vec(),
        export_uid,
    ))
}

fn calendar_type(calendar: &Calendar) -> &'static str {
    match calendar.version() {
        CalendarVersion::V10 => "text/x-vcalendar",
        CalendarVersion::V20 => "text/calendar",
    }
}

/// A VCALENDAR of a file, converted to iCalendar 2.0, with where it came from.
struct ReadCalendar {
    label: String,
    calendar: Component,
    raw: Vec<u8>,
    source_type: &'static str,
}

/// A series being gathered: its kind and UID, the calendar it came from first, its members
/// and the calendars (by index) they came from.
struct Series {
    kind: String,
    uid: Option<String>,
    first: usize,
    members: Vec<Component>,
    sources: Vec<usize>,
}

fn series_items(calendars: &[ReadCalendar]) -> Vec<(String, StoredItem)> {
    let mut series: Vec<Series> = Vec::new();
    for (index, read) in calendars.iter().enumerate() {
        for child in read.calendar.components.iter().filter(|c| is_item(&c.name)) {
            let uid = child.text_of("UID").filter(|u| !u.trim().is_empty());
            let existing = uid.as_ref().and_then(|uid| {
                series
                    .iter_mut()
                    .find(|s| s.kind == child.name && s.uid.as_ref() == Some(uid))
            });
            match existing {
                Some(found) => {
                    found.members.push(child.clone());
                    if !found.sources.contains(&index) {
                        found.sources.push(index);
                    }
                }
                None => series.push(Series {
                    kind: child.name.clone(),
                    uid,
                    first: index,
                    members: vec![child.clone()],
                    sources: vec![index],
                }),
            }
        }
    }
    series
        .into_iter()
        .map(|one| {
            let first = &calendars[one.first];
            let zones: Vec<&Component> = one
                .sources
                .iter()
                .flat_map(|&i| calendars[i].calendar.children_named("VTIMEZONE"))
                .collect();
            let mut calendar = series_calendar(&first.calendar, &zones, one.members);
            let export_uid = take_series_export_uid(&mut calendar);
            // A series' original is the bytes of every object it came from.
            let raw: Vec<u8> = one
                .sources
                .iter()
                .flat_map(|&i| calendars[i].raw.iter().copied())
                .collect();
            let datastore = datastore_of_component(&one.kind);
            (
                first.label.clone(),
                calendar_item(calendar, datastore, first.source_type, raw, export_uid),
            )
        })
        .collect()
}

/// The datastore an event, to-do or journal belongs in (a journal is a note).
fn datastore_of_component(name: &str) -> Datastore {
    match name {
        "VTODO" => Datastore::Tasks,
        "VJOURNAL" => Datastore::Notes,
        _ => Datastore::Calendar,
    }
}

pub(super) fn is_item(name: &str) -> bool {
    matches!(name, "VEVENT" | "VTODO" | "VJOURNAL")
}

/// Removes a `handsync-guid-N-T` UID (ours, added on export) and returns what it names.
fn take_export_uid(component: &mut Component) -> Option<ExportUid> {
    let uid = component.text_of("UID")?;
    let named = ExportUid::parse(&uid)?;
    component.remove_all("UID");
    Some(named)
}

fn take_series_export_uid(calendar: &mut Component) -> Option<ExportUid> {
    calendar
        .components
        .iter_mut()
        .filter(|c| is_item(&c.name))
        .fold(None, |named, c| take_export_uid(c).or(named))
}

fn calendar_item(
    component: Component,
    datastore: Datastore,
    source_type: &'static str,
    raw: Vec<u8>,
    export_uid: Option<ExportUid>,
) -> StoredItem {
    let identity_key = calendar_identity(&component, datastore);
    let uid = super::vdir::uid_of(&component);
    let canonical = content::write_component(&component, &WriteOptions::modern());
    StoredItem {
        datastore,
        source_type,
        raw,
        component,
        canonical,
        identity_key,
        uid,
        export_uid,
    }
}

pub(super) fn calendar_identity(component: &Component, datastore: Datastore) -> String {
    if datastore == Datastore::Notes {
        return identity::note_key(&Note::from_journal(component)).0;
    }
    let calendar = Calendar {
        component: component.clone(),
    };
    let items = calendar.items();
    // The series' master (no RECURRENCE-ID) names it; its exceptions share its UID.
    let master = items
        .iter()
        .find(|i| i.component.property("RECURRENCE-ID").is_none())
        .or(items.first());
    master
        .map(|item| identity::calendar_key(item).0)
        .unwrap_or_default()
}

/// One VCALENDAR for a series: the calendar's own properties, the VTIMEZONEs its times
/// refer to (each once), and its members.
pub(super) fn series_calendar(
    calendar: &Component,
    zones: &[&Component],
    members: Vec<Component>,
) -> Component {
    let mut item = Component::new("VCALENDAR");
    for property in &calendar.properties {
        // METHOD belongs to scheduling messages, not to stored items.
        if property.name != "METHOD" {
            item.properties.push(property.clone());
        }
    }
    if item.property("PRODID").is_none() {
        item.properties.insert(
            usize::from(item.property("VERSION").is_some()),
            Property::text("PRODID", PRODID),
        );
    }
    let referenced: Vec<String> = members.iter().flat_map(zone_ids).collect();
    let mut added: Vec<String> = Vec::new();
    for zone in zones {
        if let Some(id) = zone.text_of("TZID") {
            if referenced.contains(&id) && !added.contains(&id) {
                item.components.push((*zone).clone());
                added.push(id);
            }
        }
    }
    item.components.extend(members);
    item
}

fn zone_ids(component: &Component) -> Vec<String> {
    let mut ids: Vec<String> = component
        .properties
        .iter()
        .filter_map(|p| p.param_value("TZID").map(str::to_string))
        .collect();
    for child in &component.components {
        ids.extend(zone_ids(child));
    }
    ids
}

/// A stored note (a VJOURNAL in a VCALENDAR; a VNOTE as stored by earlier versions) as a
/// [`Note`], for phones and text output.
pub fn stored_note(canonical: &str) -> Option<Note> {
    let component = content::parse_object(canonical.as_bytes()).ok()?.component;
    match component.name.as_str() {
        "VNOTE" => Some(Note { component }),
        "VCALENDAR" | "VJOURNAL" => Some(Note::from_journal(&component)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items_from(text: &str) -> Vec<StoredItem> {
        let objects = content::parse_objects(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|object| SourceObject {
                label: "test".into(),
                component: object.component,
                raw: object.original,
            })
            .collect();
        let (items, errors) = items_of(objects);
        assert!(errors.is_empty(), "{errors:?}");
        items.into_iter().map(|(_, item)| item).collect()
    }

    fn phone() -> PhoneFormat {
        PhoneFormat::new(
            super::super::profile::ProfileSet::embedded()
                .resolve(&super::super::profile::DeviceInfo::default()),
            super::super::merge::PhoneCapabilities::default(),
        )
    }

    #[test]
    fn a_series_split_over_two_calendars_is_one_item() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20060406T160000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:A\r\nEND:VEVENT\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20060413T160000Z\r\nSUMMARY:A moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let items = items_from(text);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].component.components.len(), 2);
        assert_eq!(items[0].raw, text.as_bytes());
    }

    #[test]
    fn a_calendar_splits_per_series_with_its_zones() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VTIMEZONE\r\nTZID:Berlin\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Berlin:20060406T160000\r\nSUMMARY:A\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;TZID=Berlin:20060413T160000\r\nSUMMARY:A moved\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nSUMMARY:T\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
        let items = items_from(text);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].datastore, Datastore::Calendar);
        assert_eq!(items[0].component.components.len(), 3);
        assert!(!items[0].canonical.contains("METHOD"));
        assert_eq!(items[1].datastore, Datastore::Tasks);
        assert_eq!(items[1].component.components.len(), 1);
        assert!(items[0].identity_key.starts_with("event|a|"));
    }

    #[test]
    fn our_export_uid_names_the_item_and_is_not_stored() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:handsync-guid-42-1700000000000\r\nEND:VCARD\r\n";
        let item = items_from(text).remove(0);
        assert_eq!(
            item.export_uid,
            Some(ExportUid {
                guid: 42,
                created_unix_millis: 1_700_000_000_000
            })
        );
        assert!(!item.canonical.contains("UID"));
        assert_eq!(
            ExportUid::parse("handsync-guid-42-1700000000000").map(ExportUid::uid),
            Some("handsync-guid-42-1700000000000".to_string())
        );
    }

    /// The engine and import store the same shape: a phone's vCard 2.1, vCalendar 1.0 and
    /// vNote come out as the same canonical text, identity key and UID as from a file.
    #[test]
    fn a_phone_item_and_a_file_item_are_stored_alike() {
        let phone = phone();
        let samples = [
            (
                Datastore::Contacts,
                "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada\r\nTEL;CELL:+44 20 1234567\r\nUID:ada-1\r\nEND:VCARD\r\n",
            ),
            (
                Datastore::Calendar,
                "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\nBEGIN:VEVENT\r\nUID:ev-1\r\nSUMMARY:Dentist\r\nDTSTART:20060406T160000Z\r\nDTEND:20060406T170000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            ),
            (
                Datastore::Tasks,
                "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:Taxes\r\nDUE:20060430T000000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            ),
            (
                Datastore::Notes,
                "BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY:Shopping\\nmilk\r\nEND:VNOTE\r\n",
            ),
        ];
        for (datastore, text) in samples {
            let from_phone = from_phone(&phone, datastore, text.as_bytes()).unwrap();
            let from_file = items_from(text).remove(0);
            assert_eq!(from_phone.datastore, datastore, "{text}");
            assert_eq!(from_file.datastore, datastore, "{text}");
            assert_eq!(from_phone.canonical, from_file.canonical, "{text}");
            assert_eq!(from_phone.identity_key, from_file.identity_key, "{text}");
            assert_eq!(from_phone.uid, from_file.uid, "{text}");
            assert_eq!(from_phone.raw, text.as_bytes());
        }
    }

    #[test]
    fn notes_are_stored_as_journals_and_read_back_as_notes() {
        let phone = phone();
        let item = from_phone(&phone, Datastore::Notes, b"Call Anna\nabout Sunday").unwrap();
        assert_eq!(item.source_type, "text/plain");
        assert!(
            item.canonical.contains("BEGIN:VJOURNAL"),
            "{}",
            item.canonical
        );
        assert!(
            item.canonical.contains("SUMMARY:Call Anna"),
            "{}",
            item.canonical
        );
        let note = stored_note(&item.canonical).unwrap();
        assert_eq!(note.body(), "Call Anna\nabout Sunday");
        assert_eq!(item.identity_key, identity::note_key(&note).0);
        assert_eq!(
            item.identity_key,
            text_note(b"Call Anna\nabout Sunday").identity_key
        );
    }

    #[test]
    fn what_is_not_the_expected_kind_is_refused_with_a_reason() {
        let phone = phone();
        let card = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:A\r\nEND:VCARD\r\n";
        let event = b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let reason = from_phone(&phone, Datastore::Contacts, event).unwrap_err();
        assert_eq!(reason, "BEGIN:VCALENDAR where a vCard was expected");
        let reason = from_phone(&phone, Datastore::Calendar, card).unwrap_err();
        assert_eq!(
            reason,
            "BEGIN:VCARD where a vCalendar/iCalendar was expected"
        );
        let reason = from_phone(&phone, Datastore::Notes, card).unwrap_err();
        assert_eq!(reason, "BEGIN:VCARD where a note was expected");
        let reason = from_phone(&phone, Datastore::Contacts, b"hello").unwrap_err();
        assert!(reason.starts_with("not a vCard"), "{reason}");
        let empty = b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nEND:VCALENDAR\r\n";
        let reason = from_phone(&phone, Datastore::Calendar, empty).unwrap_err();
        assert!(reason.contains("without an event"), "{reason}");
        assert!(from_phone(&phone, Datastore::Notes, b"")
            .is_ok_and(|n| n.datastore == Datastore::Notes));
    }
}
