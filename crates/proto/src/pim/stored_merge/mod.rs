//! A phone's new version of an item the PC holds, merged into the stored form
//! ([`super::stored`]) field by field ([`super::merge`]), so that what the phone cannot hold
//! is kept: the UID and timestamps desktop tools know the item by, properties outside the
//! phone's CTCap, values cut to its limits. What the phone holds takes the phone's value: an
//! edit on the phone wins, and a property it holds and no longer sends is gone.

use super::calendar::Calendar;
use super::content::{self, Component, Property, WriteOptions};
use super::datastore::Datastore;
use super::identity::contact_key;
use super::merge::{merge_from_phone, PhoneCapabilities};
use super::note::Note;
use super::phone::PhoneFormat;
use super::stored::{calendar_identity, is_item, series_calendar, stored_note};
use super::vcard::VCard;

/// Properties of an event, to-do or journal that name or date the item on the PC. Phones
/// drop them (Nokia sends no UID) or make up their own (DCREATED is when the phone got
/// the item), so the stored ones stay whatever the phone sends.
const CALENDAR_KEPT: [&str; 4] = ["UID", "DTSTAMP", "CREATED", "SEQUENCE"];

/// As [`CALENDAR_KEPT`], plus the journal's date, which a note never carries to a phone.
const NOTE_KEPT: [&str; 5] = ["UID", "DTSTAMP", "CREATED", "SEQUENCE", "DTSTART"];

/// The phone's version of an item, in the stored form, with the content type it came in.
#[derive(Debug, Clone, Copy)]
pub struct PhoneItem<'a> {
    pub canonical: &'a str,
    pub content_type: &'a str,
}

/// The merged item: its canonical text and the identity key computed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedItem {
    pub canonical: String,
    pub identity_key: String,
}

/// Merges the phone's version of an item into the stored one (`stored`, canonical).
/// `None` when either side cannot be read, or nothing of the stored item came back (an
/// event where a to-do was stored): the phone's version is then taken as it is.
///
/// For a contact, `unchanged_since_sent` says the PC did not change it since the phone got
/// it, so a phone value equal to what we would send now is the stored value as the phone
/// keeps it. Events, to-dos and notes are compared with what we would send now in any case:
/// a phone value equal to it says nothing the stored value does not say, so the stored one
/// (its zone, its parameters) is kept.
pub fn merge_into_stored(
    phone: &PhoneFormat,
    datastore: Datastore,
    stored: &str,
    from_phone: PhoneItem<'_>,
    unchanged_since_sent: bool,
) -> Option<MergedItem> {
    match datastore {
        Datastore::Contacts => {
            merge_contact(phone, stored, from_phone.canonical, unchanged_since_sent)
        }
        Datastore::Calendar | Datastore::Tasks => {
            merge_calendar(phone, datastore, stored, from_phone.canonical)
        }
        Datastore::Notes => merge_note(phone, stored, from_phone),
    }
}

fn merge_contact(
    phone: &PhoneFormat,
    stored: &str,
    from_phone: &str,
    unchanged_since_sent: bool,
) -> Option<MergedItem> {
    let stored_card = VCard::parse(stored.as_bytes()).ok()?;
    let phone_card = VCard::parse(from_phone.as_bytes()).ok()?;
    let sent = unchanged_since_sent
        .then(|| phone.contact_as_sent(&stored_card))
        .flatten();
    let merged = merge_from_phone(
        &stored_card.component,
        &phone_card.component,
        sent.as_ref().map(|card| &card.component),
        &phone.capabilities,
    );
    let card = VCard { component: merged };
    Some(MergedItem {
        canonical: card.write(),
        identity_key: contact_key(&card).0,
    })
}

/// The events, to-dos and journals of a VCALENDAR, in order.
fn members(calendar: &Component) -> Vec<&Component> {
    calendar
        .components
        .iter()
        .filter(|c| is_item(&c.name))
        .collect()
}

fn merge_calendar(
    phone: &PhoneFormat,
    datastore: Datastore,
    stored: &str,
    from_phone: &str,
) -> Option<MergedItem> {
    let stored = Calendar::parse(stored.as_bytes()).ok()?;
    let incoming = Calendar::parse(from_phone.as_bytes()).ok()?;
    let sent = phone.calendar_as_sent(&stored);
    let stored_members = members(&stored.component);
    // What we send has the stored members in their order, converted one by one.
    let sent_members: Vec<&Component> = sent
        .as_ref()
        .map(|calendar| members(&calendar.component))
        .filter(|sent| sent.len() == stored_members.len())
        .unwrap_or_default();
    let mut used = vec![false; stored_members.len()];
    let mut merged_members = Vec::new();
    for member in members(&incoming.component) {
        let recurrence_id = member.text_of("RECURRENCE-ID");
        let counterpart = (0..stored_members.len()).find(|&i| {
            let stored_member = stored_members[i];
            !used[i]
                && stored_member.name == member.name
                && stored_member.text_of("RECURRENCE-ID") == recurrence_id
        });
        match counterpart {
            Some(index) => {
                used[index] = true;
                let stored_member = stored_members[index];
                let mut merged = merge_from_phone(
                    stored_member,
                    member,
                    sent_members.get(index).copied(),
                    &phone.capabilities,
                );
                keep_from_stored(&mut merged, stored_member, &CALENDAR_KEPT);
                in_stored_order(&mut merged, stored_member);
                merged_members.push(merged);
            }
            None => merged_members.push(member.clone()),
        }
    }
    if !used.contains(&true) {
        return None;
    }
    // A series' exceptions stay when the phone sends the series alone: a phone keeps one
    // entry per item, its exceptions folded into EXDATEs at best.
    merged_members.extend(
        stored_members
            .iter()
            .zip(&used)
            .filter(|(member, used)| !**used && member.property("RECURRENCE-ID").is_some())
            .map(|(member, _)| (*member).clone()),
    );
    // The stored zones first: a phone's zone of the same name is its rendering of ours.
    let zones: Vec<&Component> = stored
        .component
        .children_named("VTIMEZONE")
        .chain(incoming.component.children_named("VTIMEZONE"))
        .collect();
    let component = series_calendar(&stored.component, &zones, merged_members);
    Some(MergedItem {
        identity_key: calendar_identity(&component, datastore),
        canonical: content::write_component(&component, &WriteOptions::modern()),
    })
}

/// A stored or incoming note as a VCALENDAR holding its VJOURNAL (a VNOTE, as earlier
/// versions stored notes, is converted).
fn journal_calendar(canonical: &str) -> Option<Component> {
    let component = content::parse_object(canonical.as_bytes()).ok()?.component;
    match component.name.as_str() {
        "VCALENDAR" => Some(component),
        "VNOTE" => Some(Note { component }.to_journal()),
        _ => None,
    }
}

/// A phone's journal in the shape of the stored one: the phone's text is the stored
/// item's body property (DESCRIPTION, or SUMMARY for a journal without one); the SUMMARY
/// a phone note gets from its first line is not something it holds.
fn with_stored_body(journal: &Component, body: &str) -> Component {
    let mut journal = journal.clone();
    journal.remove_all("SUMMARY");
    if body == "SUMMARY" {
        for property in &mut journal.properties {
            if property.name == "DESCRIPTION" {
                property.name = "SUMMARY".into();
            }
        }
    }
    journal
}

/// What a phone can hold of a journal: its text alone (text/plain), or the vNote
/// properties its CTCap lists, BODY being the stored body property.
fn note_capabilities(phone: &PhoneCapabilities, body: &str, plain_text: bool) -> PhoneCapabilities {
    let mut held = if plain_text {
        PhoneCapabilities {
            limited_field_lengths: phone.limited_field_lengths,
            ..PhoneCapabilities::default()
        }
    } else {
        phone.clone()
    };
    if plain_text || held.is_known() {
        let body_capability = phone.properties.get("BODY").cloned().unwrap_or_default();
        held.properties.insert(body.to_string(), body_capability);
    }
    held
}

fn first_line(text: &str) -> String {
    Note::from_text(text).first_line()
}

/// The stored SUMMARY of a journal with a DESCRIPTION: a title of its own stays (phones
/// only hold the text); one that was the text's first line follows the merged text.
fn restore_summary(merged: &mut Component, stored: &Component) {
    let Some(stored_summary) = stored.property("SUMMARY") else {
        return;
    };
    let stored_text = stored.text_of("DESCRIPTION").unwrap_or_default();
    let summary = if stored_summary.text_value() == first_line(&stored_text) {
        let text = merged.text_of("DESCRIPTION").unwrap_or_default();
        Property::text("SUMMARY", &first_line(&text))
    } else {
        stored_summary.clone()
    };
    merged.set(summary);
}

fn merge_note(phone: &PhoneFormat, stored: &str, from_phone: PhoneItem<'_>) -> Option<MergedItem> {
    let mut calendar = journal_calendar(stored)?;
    let incoming = journal_calendar(from_phone.canonical)?;
    let stored_journal = calendar.children_named("VJOURNAL").next()?.clone();
    let incoming_journal = incoming.children_named("VJOURNAL").next()?;
    let plain_text = from_phone.content_type.eq_ignore_ascii_case("text/plain");
    let body = if stored_journal.property("DESCRIPTION").is_some() {
        "DESCRIPTION"
    } else {
        "SUMMARY"
    };
    let incoming_journal = with_stored_body(incoming_journal, body);
    let sent = stored_note(stored)
        .map(|note| phone.note_to_phone(&note, plain_text))
        .and_then(|text| phone.note_from_phone(text.as_bytes()).ok())
        .and_then(|note| {
            let journal = note.to_journal();
            let sent = journal.children_named("VJOURNAL").next()?;
            Some(with_stored_body(sent, body))
        });
    let capabilities = note_capabilities(&phone.capabilities, body, plain_text);
    let mut merged = merge_from_phone(
        &stored_journal,
        &incoming_journal,
        sent.as_ref(),
        &capabilities,
    );
    keep_from_stored(&mut merged, &stored_journal, &NOTE_KEPT);
    if body == "DESCRIPTION" {
        restore_summary(&mut merged, &stored_journal);
    }
    in_stored_order(&mut merged, &stored_journal);
    if let Some(journal) = calendar
        .components
        .iter_mut()
        .find(|c| c.name == "VJOURNAL")
    {
        *journal = merged;
    }
    Some(MergedItem {
        identity_key: calendar_identity(&calendar, Datastore::Notes),
        canonical: content::write_component(&calendar, &WriteOptions::modern()),
    })
}

/// Puts the stored properties of these names in `merged` in place of the phone's; names
/// the stored item lacks keep what the phone sent.
fn keep_from_stored(merged: &mut Component, stored: &Component, names: &[&str]) {
    for name in names {
        if stored.property(name).is_none() {
            continue;
        }
        merged.remove_all(name);
        merged
            .properties
            .extend(stored.properties_named(name).cloned());
    }
}

/// Orders the merged properties as the stored item has them (a phone writes its own
/// order), what the stored item lacks last: an item the phone did not change comes out as
/// it was stored, and the PC's file changes no more than the phone's edit.
fn in_stored_order(merged: &mut Component, stored: &Component) {
    merged.properties.sort_by_key(|property| {
        stored
            .properties
            .iter()
            .position(|s| s.name == property.name)
            .unwrap_or(usize::MAX)
    });
}

#[cfg(test)]
mod tests;
