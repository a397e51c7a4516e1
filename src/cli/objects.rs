//! Desktop files as store items and back: splitting a file into its objects (so one bad
//! object does not cost the others), the canonical form stored (vCard 3.0, one iCalendar 2.0
//! VCALENDAR per event, to-do or journal series), identity keys, and the forms written out.

use std::collections::BTreeMap;

use crate::pim::calendar::Calendar;
use crate::pim::content::{self, Component, Property, WriteOptions};
use crate::pim::identity;
use crate::pim::note::Note;
use crate::pim::vcard::VCard;
use crate::store::{Datastore, Guid, Item, Timestamp};

/// Prefix of the UID given on export to items that have none:
/// `handsync-guid-<GUID>-<creation time in ms>` names the item (the time tells it from the
/// item with the same GUID in another database), so the file name stays the same while the
/// item changes.
pub const GUID_UID_PREFIX: &str = "handsync-guid-";

/// The store item a `handsync-guid-…` UID names: its GUID and creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuidHint {
    pub guid: Guid,
    pub created_at: Timestamp,
}

impl GuidHint {
    pub fn parse(uid: &str) -> Option<GuidHint> {
        let (guid, created) = uid.trim().strip_prefix(GUID_UID_PREFIX)?.split_once('-')?;
        Some(GuidHint {
            guid: guid.parse().ok()?,
            created_at: Timestamp::from_unix_millis(created.parse().ok()?),
        })
    }

    pub fn of(item: &Item) -> GuidHint {
        GuidHint {
            guid: item.guid,
            created_at: item.created_at,
        }
    }

    pub fn uid(self) -> String {
        format!(
            "{GUID_UID_PREFIX}{}-{}",
            self.guid,
            self.created_at.unix_millis()
        )
    }
}

const PRODID: &str = "-//handsync//handsync//EN";

/// One top-level BEGIN/END block of a file, with the line it starts on (1-based).
#[derive(Debug)]
pub struct SourceObject<'a> {
    pub first_line: usize,
    pub bytes: &'a [u8],
}

/// What a file splits into: objects, and text that is none (reported, not imported).
#[derive(Debug)]
pub enum Piece<'a> {
    Object(SourceObject<'a>),
    Malformed { line: usize, message: String },
}

fn begin_or_end(line: &[u8]) -> Option<(bool, String)> {
    // A line starting with white space continues a folded line: never a BEGIN or END.
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return None;
    }
    let text = String::from_utf8_lossy(line);
    let (name, value) = text.trim_end().split_once(':')?;
    let name = name.trim().to_ascii_uppercase();
    let value = value.trim().to_ascii_uppercase();
    match name.as_str() {
        "BEGIN" => Some((true, value)),
        "END" => Some((false, value)),
        _ => None,
    }
}

/// Splits `input` into its top-level objects by their BEGIN/END lines. A block left open when
/// a new one of the same kind begins, or at the end, and text outside any block, come back as
/// [`Piece::Malformed`] with their line.
pub fn split_objects(input: &[u8]) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut open: Option<(usize, usize, String)> = None; // start offset, line, name
    let mut junk_reported_at: Option<usize> = None;
    let mut offset = 0;
    let mut line_number = 0;
    while offset < input.len() {
        line_number += 1;
        let end = memchr::memchr(b'\n', &input[offset..]).map_or(input.len(), |i| offset + i + 1);
        let line = &input[offset..end];
        let marker = begin_or_end(line);
        match (&marker, depth) {
            (Some((true, name)), 0) => {
                open = Some((offset, line_number, name.clone()));
                depth = 1;
            }
            (Some((true, name)), _) if open.as_ref().is_some_and(|(_, _, top)| top == name) => {
                let (_, line, top) = open.take().unwrap_or_default();
                pieces.push(Piece::Malformed {
                    line,
                    message: format!("{top} has no END:{top} before the next BEGIN:{top}"),
                });
                open = Some((offset, line_number, name.clone()));
                depth = 1;
            }
            (Some((true, _)), _) => depth += 1,
            (Some((false, _)), 0) => pieces.push(Piece::Malformed {
                line: line_number,
                message: "END without BEGIN".into(),
            }),
            (Some((false, _)), _) => {
                depth -= 1;
                if depth == 0 {
                    if let Some((start, line, _)) = open.take() {
                        pieces.push(Piece::Object(SourceObject {
                            first_line: line,
                            bytes: &input[start..end],
                        }));
                    }
                }
            }
            (None, 0) => {
                let blank = line.iter().all(|b| b.is_ascii_whitespace());
                // One report per run of stray lines is enough to find them.
                if !blank && junk_reported_at != Some(line_number - 1) {
                    pieces.push(Piece::Malformed {
                        line: line_number,
                        message: "text outside any BEGIN/END block".into(),
                    });
                }
                if !blank {
                    junk_reported_at = Some(line_number);
                }
            }
            (None, _) => {}
        }
        offset = end;
    }
    if let Some((_, line, name)) = open {
        pieces.push(Piece::Malformed {
            line,
            message: format!("input ends inside {name} (no END:{name})"),
        });
    }
    pieces
}

/// An item ready for the store.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub datastore: Datastore,
    pub content_type: &'static str,
    pub raw: Vec<u8>,
    pub component: Component,
    pub canonical: String,
    pub identity_key: String,
    /// The item's UID when it has one.
    pub uid: Option<String>,
    /// The store item it names, from a `handsync-guid-N` UID we gave it on export.
    pub guid_hint: Option<GuidHint>,
}

/// One parsed top-level object of a file: where it starts (for messages), its component and
/// its original bytes.
#[derive(Debug)]
pub struct ParsedPiece {
    pub label: String,
    pub component: Component,
    pub raw: Vec<u8>,
}

/// Turns the objects of one file into the items they hold: a vCard is one contact, a vNote
/// one note, and the VCALENDARs give one item per event, to-do or journal, where a series
/// (same kind and UID: a recurring event and its exceptions) stays one item even when its
/// parts come in separate VCALENDARs. Items come back labelled with their object's label;
/// objects that hold no item come back as errors.
pub fn items_of(pieces: Vec<ParsedPiece>) -> (Vec<(String, NewItem)>, Vec<String>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut calendars = Vec::new();
    for piece in pieces {
        match piece.component.name.as_str() {
            "VCARD" => {
                let card = VCard {
                    component: piece.component,
                };
                let content_type = match card.version() {
                    crate::pim::vcard::VCardVersion::V21 => "text/x-vcard",
                    _ => "text/vcard",
                };
                let mut canonical = card.to_v30().component;
                let guid_hint = take_guid_uid(&mut canonical);
                items.push((
                    piece.label,
                    contact_item(canonical, content_type, piece.raw, guid_hint),
                ));
            }
            "VNOTE" => {
                let note = Note {
                    component: piece.component,
                };
                let mut journal = note.to_journal();
                let guid_hint = journal.components.first_mut().and_then(take_guid_uid);
                items.push((
                    piece.label,
                    calendar_item(
                        journal,
                        Datastore::Notes,
                        "text/x-vnote",
                        piece.raw,
                        guid_hint,
                    ),
                ));
            }
            "VCALENDAR" => {
                let calendar = Calendar {
                    component: piece.component,
                };
                let content_type = match calendar.version() {
                    crate::pim::calendar::CalendarVersion::V10 => "text/x-vcalendar",
                    crate::pim::calendar::CalendarVersion::V20 => "text/calendar",
                };
                let converted = calendar.to_ical20().component;
                if !converted.components.iter().any(|c| is_item(&c.name)) {
                    errors.push(format!(
                        "{}: VCALENDAR holds no event, to-do or journal",
                        piece.label
                    ));
                    continue;
                }
                calendars.push((piece.label, converted, piece.raw, content_type));
            }
            other => errors.push(format!(
                "{}: BEGIN:{other} is not a vCard, vCalendar, iCalendar or vNote",
                piece.label
            )),
        }
    }
    items.extend(calendar_items(&calendars));
    (items, errors)
}

/// A series being gathered: its kind and UID, the calendar it came from first, its members
/// and the objects (by index) they came from.
struct Series {
    kind: String,
    uid: Option<String>,
    first: usize,
    members: Vec<Component>,
    sources: Vec<usize>,
}

fn calendar_items(
    calendars: &[(String, Component, Vec<u8>, &'static str)],
) -> Vec<(String, NewItem)> {
    let mut series: Vec<Series> = Vec::new();
    for (index, (_, calendar, _, _)) in calendars.iter().enumerate() {
        for child in calendar.components.iter().filter(|c| is_item(&c.name)) {
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
            let (label, first_calendar, _, content_type) = &calendars[one.first];
            let zones: Vec<&Component> = one
                .sources
                .iter()
                .flat_map(|&i| calendars[i].1.children_named("VTIMEZONE"))
                .collect();
            let mut calendar = series_calendar(first_calendar, &zones, one.members);
            let guid_hint = calendar
                .components
                .iter_mut()
                .filter(|c| is_item(&c.name))
                .fold(None, |hint, c| take_guid_uid(c).or(hint));
            // A series' original is the bytes of every object it came from.
            let raw: Vec<u8> = one
                .sources
                .iter()
                .flat_map(|&i| calendars[i].2.iter().copied())
                .collect();
            let datastore = datastore_of(&one.kind);
            (
                label.clone(),
                calendar_item(calendar, datastore, content_type, raw, guid_hint),
            )
        })
        .collect()
}

/// A text/plain note.
pub fn text_note(text: &[u8]) -> NewItem {
    let note = Note::from_text(&crate::pim::codec::decode_text(text, None));
    calendar_item(
        note.to_journal(),
        Datastore::Notes,
        "text/plain",
        text.to_vec(),
        None,
    )
}

fn is_item(name: &str) -> bool {
    matches!(name, "VEVENT" | "VTODO" | "VJOURNAL")
}

/// Removes a `handsync-guid-N` UID (ours, added on export) and returns the GUID it names.
fn take_guid_uid(component: &mut Component) -> Option<GuidHint> {
    let uid = component.text_of("UID")?;
    let guid = GuidHint::parse(&uid)?;
    component.remove_all("UID");
    Some(guid)
}

fn contact_item(
    component: Component,
    content_type: &'static str,
    raw: Vec<u8>,
    guid_hint: Option<GuidHint>,
) -> NewItem {
    let card = VCard { component };
    let identity_key = identity::contact_key(&card).0;
    let uid = card.uid().filter(|u| !u.trim().is_empty());
    let canonical = content::write_component(&card.component, &WriteOptions::modern());
    NewItem {
        datastore: Datastore::Contacts,
        content_type,
        raw,
        component: card.component,
        canonical,
        identity_key,
        uid,
        guid_hint,
    }
}

fn calendar_item(
    component: Component,
    datastore: Datastore,
    content_type: &'static str,
    raw: Vec<u8>,
    guid_hint: Option<GuidHint>,
) -> NewItem {
    let identity_key = calendar_identity(&component, datastore);
    let uid = crate::pim::vdir::uid_of(&component);
    let canonical = content::write_component(&component, &WriteOptions::modern());
    NewItem {
        datastore,
        content_type,
        raw,
        component,
        canonical,
        identity_key,
        uid,
        guid_hint,
    }
}

fn calendar_identity(component: &Component, datastore: Datastore) -> String {
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

fn datastore_of(component_name: &str) -> Datastore {
    match component_name {
        "VTODO" => Datastore::Tasks,
        "VJOURNAL" => Datastore::Notes,
        _ => Datastore::Calendar,
    }
}

/// One VCALENDAR for a series: the calendar's own properties, the VTIMEZONEs its times
/// refer to (each once), and its members.
fn series_calendar(
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

/// The UID an item is exported under: its own, else `handsync-guid-N`.
pub fn export_uid(item: &Item, component: &Component) -> String {
    crate::pim::vdir::uid_of(component).unwrap_or_else(|| GuidHint::of(item).uid())
}

/// The stored item as written out: its canonical form, with the UID it is exported under.
pub fn export_component(item: &Item) -> Result<Component, String> {
    let mut component = content::parse_object(item.canonical.as_bytes())
        .map_err(|e| format!("stored item {} does not parse: {e}", item.guid))?
        .component;
    if crate::pim::vdir::uid_of(&component).is_none() {
        let uid = export_uid(item, &component);
        let target = if component.name == "VCALENDAR" {
            component.components.iter_mut().find(|c| is_item(&c.name))
        } else {
            Some(&mut component)
        };
        if let Some(target) = target {
            target.properties.push(Property::text("UID", &uid));
        }
    }
    Ok(component)
}

/// One line naming an item for people: a contact's name, an event's date and summary, a
/// note's first line.
pub fn describe(datastore: Datastore, canonical: &str) -> String {
    let Ok(object) = content::parse_object(canonical.as_bytes()) else {
        return "(unreadable item)".into();
    };
    let component = object.component;
    match datastore {
        Datastore::Contacts => {
            let card = VCard { component };
            card.formatted_name()
                .filter(|n| !n.trim().is_empty())
                .or_else(|| card.telephones().first().map(|t| t.value.clone()))
                .unwrap_or_else(|| "(no name)".into())
        }
        Datastore::Notes => Note::from_journal(&component).first_line(),
        Datastore::Calendar | Datastore::Tasks => {
            let calendar = Calendar { component };
            let Some(item) = calendar.items().into_iter().next() else {
                return "(empty calendar)".into();
            };
            let when = item
                .start()
                .or_else(|| item.due())
                .map(|t| format!("{} ", human_time(&t.basic())))
                .unwrap_or_default();
            format!("{when}{}", item.summary().unwrap_or_default())
        }
    }
}

/// `20060406T160000Z` as `2006-04-06 16:00Z`, `20061225` as `2006-12-25`.
pub fn human_time(basic: &str) -> String {
    let b = basic.as_bytes();
    if b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) {
        let mut out = format!("{}-{}-{}", &basic[0..4], &basic[4..6], &basic[6..8]);
        if b.len() >= 13 && b[8] == b'T' {
            out.push_str(&format!(" {}:{}", &basic[9..11], &basic[11..13]));
            if basic.ends_with('Z') {
                out.push('Z');
            }
        }
        return out;
    }
    basic.to_string()
}

/// Every event, to-do or journal of the items in one VCALENDAR, with each time zone once.
/// Two items may define different zones under one TZID (two phones' `TZ:+01` with other
/// DAYLIGHT rules): the later one is renamed, with the times that refer to it.
pub fn merge_calendars(components: &[Component]) -> Component {
    let mut merged = Component::new("VCALENDAR");
    merged.properties.push(Property::raw("VERSION", "2.0"));
    merged.properties.push(Property::text("PRODID", PRODID));
    let mut zones: BTreeMap<String, Component> = BTreeMap::new();
    let mut items = Vec::new();
    for calendar in components {
        let mut renames: Vec<(String, String)> = Vec::new();
        for zone in calendar.children_named("VTIMEZONE") {
            let id = zone.text_of("TZID").unwrap_or_default();
            let mut unique = id.clone();
            let mut suffix = 1;
            while zones.get(&unique).is_some_and(|known| known != zone) {
                suffix += 1;
                unique = format!("{id} ({suffix})");
            }
            let mut zone = zone.clone();
            if unique != id {
                zone.set(Property::text("TZID", &unique));
                renames.push((id, unique.clone()));
            }
            zones.entry(unique).or_insert(zone);
        }
        for child in calendar.components.iter().filter(|c| c.name != "VTIMEZONE") {
            let mut child = child.clone();
            rename_zones(&mut child, &renames);
            items.push(child);
        }
    }
    merged.components.extend(zones.into_values());
    merged.components.extend(items);
    merged
}

fn rename_zones(component: &mut Component, renames: &[(String, String)]) {
    if renames.is_empty() {
        return;
    }
    for property in &mut component.properties {
        for param in property.params.iter_mut().filter(|p| p.name == "TZID") {
            for value in &mut param.values {
                if let Some((_, new)) = renames.iter().find(|(old, _)| old == value) {
                    *value = new.clone();
                }
            }
        }
    }
    for child in &mut component.components {
        rename_zones(child, renames);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(pieces: &[Piece<'_>]) -> Vec<(bool, usize)> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Object(o) => (true, o.first_line),
                Piece::Malformed { line, .. } => (false, *line),
            })
            .collect()
    }

    #[test]
    fn a_file_splits_into_objects_and_reports_the_rest_by_line() {
        let input = b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n\r\njunk\r\nmore junk\r\nBEGIN:VCARD\r\nFN:B\r\nBEGIN:VCARD\r\nFN:C\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:D\r\n";
        let pieces = split_objects(input);
        assert_eq!(
            lines_of(&pieces),
            vec![(true, 1), (false, 5), (false, 7), (true, 9), (false, 12)]
        );
        let Piece::Object(first) = &pieces[0] else {
            panic!()
        };
        assert_eq!(first.bytes, b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n");
    }

    fn items_from(text: &str) -> Vec<NewItem> {
        let pieces = content::parse_objects(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|object| ParsedPiece {
                label: "test".into(),
                component: object.component,
                raw: object.original,
            })
            .collect();
        let (items, errors) = items_of(pieces);
        assert!(errors.is_empty(), "{errors:?}");
        items.into_iter().map(|(_, item)| item).collect()
    }

    #[test]
    fn a_folded_line_that_reads_like_end_does_not_end_the_object() {
        let input = b"BEGIN:VCARD\r\nNOTE:see\r\n END:VCARD\r\nEND:VCARD\r\n";
        assert_eq!(lines_of(&split_objects(input)), vec![(true, 1)]);
    }

    #[test]
    fn merging_keeps_two_zones_that_share_a_tzid_apart() {
        let zone = |offset: &str| {
            format!("BEGIN:VTIMEZONE\r\nTZID:vCalendar TZ +01\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")
        };
        let calendar = |offset: &str, summary: &str| {
            let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{}BEGIN:VEVENT\r\nSUMMARY:{summary}\r\nDTSTART;TZID=vCalendar TZ +01:20100101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", zone(offset));
            content::parse_object(text.as_bytes()).unwrap().component
        };
        let merged = merge_calendars(&[
            calendar("+0100", "a"),
            calendar("+0100", "b"),
            calendar("+0200", "c"),
        ]);
        let zones: Vec<String> = merged
            .children_named("VTIMEZONE")
            .map(|z| z.text_of("TZID").unwrap())
            .collect();
        assert_eq!(zones, ["vCalendar TZ +01", "vCalendar TZ +01 (2)"]);
        let starts: Vec<&str> = merged
            .children_named("VEVENT")
            .map(|e| e.property("DTSTART").unwrap().param_value("TZID").unwrap())
            .collect();
        assert_eq!(
            starts,
            [
                "vCalendar TZ +01",
                "vCalendar TZ +01",
                "vCalendar TZ +01 (2)"
            ]
        );
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
            item.guid_hint,
            Some(GuidHint {
                guid: Guid(42),
                created_at: Timestamp::from_unix_millis(1_700_000_000_000)
            })
        );
        assert!(!item.canonical.contains("UID"));
    }
}
