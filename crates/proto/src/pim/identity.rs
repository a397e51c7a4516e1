//! Identity keys for slow-sync matching: two versions of the same item (the
//! phone's vCard 2.1 and the vCard 3.0 stored on the PC, a vCalendar 1.0
//! event and its iCalendar 2.0 form) get the same key.
//!
//! - contacts: name (N, or FN without N) + one phone number, else e-mail;
//! - events: SUMMARY + DTSTART (UTC instant, or date for all-day events);
//! - to-dos: SUMMARY + DUE;
//! - notes: first line + hash of the body.

use super::calendar::{CalendarItem, ItemKind};
use super::datetime::CalTime;
use super::note::Note;
use super::vcard::VCard;

/// A normalised key; equal keys mean "probably the same item".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(pub String);

/// Lower case, whitespace collapsed and trimmed: phones change case and
/// spacing of names, and pad or trim values.
pub fn normalize_text(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The digits of a number, at most the last nine: phones store the same
/// number as `+49 170 1234567` and `01701234567`.
pub fn normalize_phone_number(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(9)..].iter().collect()
}

pub fn contact_key(card: &VCard) -> IdentityKey {
    let name = card
        .name()
        .map(|n| {
            [n.prefixes, n.given, n.additional, n.family, n.suffixes]
                .iter()
                .filter(|part| !part.trim().is_empty())
                .map(|part| normalize_text(part))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|name| !name.is_empty())
        .or_else(|| card.formatted_name().map(|f| normalize_text(&f)))
        .unwrap_or_default();
    // The smallest value rather than the first: phones reorder numbers by
    // type (mobile first...), so "first" differs between the two sides.
    let number = card
        .telephones()
        .iter()
        .map(|t| normalize_phone_number(&t.value))
        .filter(|n| !n.is_empty())
        .min();
    let contact = number.map(|n| format!("tel:{n}")).or_else(|| {
        card.emails()
            .iter()
            .map(|e| normalize_text(&e.value))
            .filter(|e| !e.is_empty())
            .min()
            .map(|e| format!("email:{e}"))
    });
    IdentityKey(format!("contact|{name}|{}", contact.unwrap_or_default()))
}

fn time_key(item: &CalendarItem, name: &str) -> String {
    if item.is_all_day() {
        return item.start().map(|s| s.date().basic()).unwrap_or_default();
    }
    match item.time_in_utc(name) {
        Some(CalTime::Date(date)) => date.basic(),
        Some(CalTime::DateTime(time)) => time.basic(),
        None => String::new(),
    }
}

/// Events: SUMMARY + DTSTART; to-dos: SUMMARY + DUE; journals: SUMMARY +
/// DTSTART.
pub fn calendar_key(item: &CalendarItem) -> IdentityKey {
    let summary = normalize_text(&item.summary().unwrap_or_default());
    let (kind, time) = match item.kind() {
        ItemKind::Event => ("event", time_key(item, "DTSTART")),
        ItemKind::Todo => ("todo", time_key(item, "DUE")),
        ItemKind::Journal => ("journal", time_key(item, "DTSTART")),
    };
    IdentityKey(format!("{kind}|{summary}|{time}"))
}

/// 64-bit FNV-1a: small, stable across versions and platforms.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn note_key(note: &Note) -> IdentityKey {
    let body = note.body().replace("\r\n", "\n");
    let body = body.trim();
    IdentityKey(format!(
        "note|{}|{:016x}",
        normalize_text(&note.first_line()),
        fnv1a(body.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pim::calendar::Calendar;

    #[test]
    fn phone_21_and_stored_30_contacts_match() {
        let phone = VCard::parse(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg\r\nTEL;CELL:+491701234567\r\nTEL;HOME:030 123456\r\nEND:VCARD\r\n".as_bytes(),
        )
        .unwrap();
        let stored = VCard::parse(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jörg Müller\r\nN:Müller;Jörg;;;\r\nTEL;TYPE=HOME:030123456\r\nTEL;TYPE=CELL:01701234567\r\nEMAIL:j@example.com\r\nEND:VCARD\r\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(contact_key(&phone), contact_key(&stored));
        assert_eq!(contact_key(&phone), contact_key(&phone.to_v30()));
        let other = VCard::parse(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Other;Jörg\r\nTEL:030123456\r\nEND:VCARD\r\n"
                .as_bytes(),
        )
        .unwrap();
        assert_ne!(contact_key(&phone), contact_key(&other));
    }

    #[test]
    fn contact_without_number_uses_email_and_fn() {
        let phone = VCard::parse(b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:ACME  Corp\r\nEMAIL;INTERNET:Info@ACME.example\r\nEND:VCARD\r\n").unwrap();
        assert_eq!(
            contact_key(&phone).0,
            "contact|acme corp|email:info@acme.example"
        );
    }

    #[test]
    fn vcal_and_ical_events_match() {
        let phone = Calendar::parse(b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\nBEGIN:VEVENT\r\nSUMMARY:Dentist \r\nDTSTART:20060406T100000\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n").unwrap();
        let stored = Calendar::parse(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:dentist\r\nDTSTART:20060406T090000Z\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nSUMMARY:Taxes\r\nDUE:20060430T220000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n").unwrap();
        let keys = |c: &Calendar| c.items().iter().map(calendar_key).collect::<Vec<_>>();
        assert_eq!(keys(&phone), keys(&stored));
        assert_eq!(keys(&phone), keys(&phone.to_ical20()));
        assert_eq!(keys(&stored)[1].0, "todo|taxes|20060430T220000Z");
    }

    #[test]
    fn all_day_events_match_in_every_style() {
        let date_only = Calendar::parse(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Holiday\r\nDTSTART;VALUE=DATE:20061225\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
        let phone = Calendar::parse(b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Holiday\r\nDTSTART:20061225T000000\r\nDTEND:20061225T235900\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
        assert_eq!(
            calendar_key(&date_only.items()[0]),
            calendar_key(&phone.items()[0])
        );
    }

    #[test]
    fn notes_match_on_first_line_and_body() {
        let phone = Note::parse(b"BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY;ENCODING=QUOTED-PRINTABLE:Shopping=0D=0Amilk\r\nEND:VNOTE\r\n").unwrap();
        let plain = Note::parse(b"Shopping\nmilk\n").unwrap();
        assert_eq!(note_key(&phone), note_key(&plain));
        assert_ne!(
            note_key(&phone),
            note_key(&Note::parse(b"Shopping\nbread").unwrap())
        );
    }
}
