//! Desktop files as store items and back: splitting a file into its objects (so one bad
//! object does not cost the others), the items they hold in their stored form
//! (`pim::stored`, shared with the sync engine), and the forms written out.

use std::collections::BTreeMap;

use crate::pim::calendar::Calendar;
use crate::pim::content::{self, Component, Property};
use crate::pim::note::Note;
use crate::pim::stored::{self, ExportUid, SourceObject, StoredItem};
use crate::pim::vcard::VCard;
use crate::store::{Datastore, Guid, ItemRecord, Timestamp};

/// The store item a `handsync-guid-…` UID names: its GUID and creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuidHint {
    pub guid: Guid,
    pub created_at: Timestamp,
}

impl GuidHint {
    pub fn parse(uid: &str) -> Option<GuidHint> {
        ExportUid::parse(uid).map(GuidHint::from)
    }

    pub fn of(item: &ItemRecord) -> GuidHint {
        GuidHint {
            guid: item.guid,
            created_at: item.created_at,
        }
    }

    pub fn uid(self) -> String {
        ExportUid {
            guid: self.guid.0,
            created_unix_millis: self.created_at.unix_millis(),
        }
        .uid()
    }
}

impl From<ExportUid> for GuidHint {
    fn from(named: ExportUid) -> GuidHint {
        GuidHint {
            guid: Guid(named.guid),
            created_at: Timestamp::from_unix_millis(named.created_unix_millis),
        }
    }
}

const PRODID: &str = "-//handsync//handsync//EN";

/// One top-level BEGIN/END block of a file, with the line it starts on (1-based).
#[derive(Debug)]
pub struct ObjectText<'a> {
    pub first_line: usize,
    pub bytes: &'a [u8],
}

/// What a file splits into: objects, and text that is none (reported, not imported).
#[derive(Debug)]
pub enum Piece<'a> {
    Object(ObjectText<'a>),
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
                        pieces.push(Piece::Object(ObjectText {
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

/// An item ready for the store: its stored form, the datastore it goes to, and the stored
/// item it names when it carries our export UID.
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

impl From<StoredItem> for NewItem {
    fn from(item: StoredItem) -> NewItem {
        NewItem {
            datastore: item.datastore,
            content_type: item.source_type,
            raw: item.raw,
            component: item.component,
            canonical: item.canonical,
            identity_key: item.identity_key,
            uid: item.uid,
            guid_hint: item.export_uid.map(GuidHint::from),
        }
    }
}

/// A file's parsed objects as the sources of its items, each labelled `label`.
pub fn source_objects(
    label: &str,
    parsed: Vec<content::ParsedObject>,
) -> impl Iterator<Item = SourceObject> + '_ {
    parsed.into_iter().map(move |p| SourceObject {
        label: label.to_string(),
        component: p.component,
        raw: p.original,
    })
}

/// What a parse error says, without the position its text starts with (the caller names the
/// file and line its own way).
pub fn parse_error_message(error: &crate::pim::ParseError) -> String {
    let message = error.to_string();
    match message.split_once(": ") {
        Some((_, rest)) => rest.to_string(),
        None => message,
    }
}

/// The items the parsed objects of one file hold ([`stored::items_of`]), labelled; objects
/// that hold no item come back as errors.
pub fn items_of(objects: Vec<SourceObject>) -> (Vec<(String, NewItem)>, Vec<String>) {
    let (items, errors) = stored::items_of(objects);
    let items = items
        .into_iter()
        .map(|(label, item)| (label, NewItem::from(item)))
        .collect();
    (items, errors)
}

/// A text/plain note.
pub fn text_note(text: &[u8]) -> NewItem {
    NewItem::from(stored::text_note(text))
}

fn is_item(name: &str) -> bool {
    matches!(name, "VEVENT" | "VTODO" | "VJOURNAL")
}

/// The UID an item is exported under: its own, else `handsync-guid-N`.
pub fn export_uid(item: &ItemRecord, component: &Component) -> String {
    crate::pim::vdir::uid_of(component).unwrap_or_else(|| GuidHint::of(item).uid())
}

/// The stored item as written out: its canonical form, with the UID it is exported under.
pub fn export_component(item: &ItemRecord) -> Result<Component, String> {
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
}
