//! The phone side of an item: what to send to a given phone (its legacy
//! format, its charset, its quirks and limits) and how to read what it
//! sends back into the canonical form stored on the PC.

use super::calendar::{Calendar, VcalOptions};
use super::content::{self, Component, Dialect, Property, Value, WriteOptions};
use super::datetime::{CalTime, DateTime};
use super::error::ParseError;
use super::merge::PhoneCapabilities;
use super::note::Note;
use super::profile::PhoneProfile;
use super::recurrence::{Frequency, Recurrence};
use super::timezone::TimeZone;
use super::vcard::VCard;

/// How items are written for one phone and read from it: its resolved quirk profile and its
/// CTCap (adjusted by the profile), plus the user's zone for phones that need local times.
#[derive(Debug, Clone)]
pub struct PhoneFormat {
    pub profile: PhoneProfile,
    pub capabilities: PhoneCapabilities,
    pub local_zone: Option<TimeZone>,
}

impl PhoneFormat {
    pub fn new(profile: PhoneProfile, mut capabilities: PhoneCapabilities) -> Self {
        profile.adjust_capabilities(&mut capabilities);
        PhoneFormat {
            profile,
            capabilities,
            local_zone: None,
        }
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions {
            dialect: Dialect::Legacy,
            legacy_charset: self.profile.charset,
            soft_line_breaks: !self.profile.no_folding,
        }
    }

    fn charset(&self) -> Option<&'static encoding_rs::Encoding> {
        Some(self.profile.charset)
    }

    /// The stored vCard 3.0 as vCard 2.1 for this phone.
    pub fn contact_to_phone(&self, stored: &VCard) -> String {
        let mut card = stored.to_v21().component;
        if self.profile.email_internet_type {
            for email in card.properties.iter_mut().filter(|p| p.name == "EMAIL") {
                email.add_param("TYPE", &["INTERNET"]);
            }
        }
        self.fit(&mut card);
        content::write_component(&card, &self.write_options())
    }

    /// A contact from the phone, as vCard 3.0.
    pub fn contact_from_phone(&self, bytes: &[u8]) -> Result<VCard, ParseError> {
        let object = first_object(bytes, self.charset())?;
        let mut card = VCard { component: object }.to_v30();
        if self.profile.email_internet_type {
            // We add INTERNET ourselves for these phones; it is not data.
            for email in card
                .component
                .properties
                .iter_mut()
                .filter(|p| p.name == "EMAIL")
            {
                if let Some(types) = email.params.iter_mut().find(|p| p.name == "TYPE") {
                    types.values.retain(|t| t != "INTERNET");
                }
                email
                    .params
                    .retain(|p| !(p.name == "TYPE" && p.values.is_empty()));
            }
        }
        Ok(card)
    }

    /// The stored iCalendar 2.0 as vCalendar 1.0 for this phone.
    pub fn calendar_to_phone(&self, stored: &Calendar) -> String {
        let options = VcalOptions {
            local_zone: self.local_zone.clone(),
            ..self.profile.vcal_options()
        };
        let mut calendar = stored.to_vcal10(&options).component;
        // The calendar-level properties of iCalendar (METHOD, CALSCALE,
        // X-WR-*) mean nothing to a phone; they stay on the PC.
        calendar
            .properties
            .retain(|p| matches!(p.name.as_str(), "VERSION" | "PRODID" | "TZ" | "DAYLIGHT"));
        for item in &mut calendar.components {
            if let Some(min_date) = self.profile.min_date {
                shift_yearly_before(item, &min_date);
            }
            self.fit(item);
        }
        content::write_component(&calendar, &self.write_options())
    }

    /// A calendar item from the phone, as iCalendar 2.0.
    pub fn calendar_from_phone(&self, bytes: &[u8]) -> Result<Calendar, ParseError> {
        let component = first_object(bytes, self.charset())?;
        Ok(Calendar { component }.to_ical20())
    }

    /// A note for the phone: vNote 1.1, or text/plain.
    pub fn note_to_phone(&self, note: &Note, plain_text: bool) -> String {
        if plain_text {
            return note.write_plain_text();
        }
        let mut component = note.component.clone();
        self.fit(&mut component);
        content::write_component(&component, &self.write_options())
    }

    /// A note from the phone: a vNote, or text/plain in the phone's charset
    /// when it is not valid UTF-8.
    pub fn note_from_phone(&self, bytes: &[u8]) -> Result<Note, ParseError> {
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        if bytes[start..].to_ascii_uppercase().starts_with(b"BEGIN:") {
            return Ok(Note {
                component: first_object(bytes, self.charset())?,
            });
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => super::codec::decode_text(bytes, self.charset()),
        };
        Ok(Note::from_text(&text.replace("\r\n", "\n")))
    }

    /// The canonical form of what `contact_to_phone` sends: give it to
    /// [`super::merge::merge_from_phone`] as `sent`.
    pub fn contact_as_sent(&self, stored: &VCard) -> Option<VCard> {
        self.contact_from_phone(self.contact_to_phone(stored).as_bytes())
            .ok()
    }

    /// The canonical form of what `calendar_to_phone` sends.
    pub fn calendar_as_sent(&self, stored: &Calendar) -> Option<Calendar> {
        self.calendar_from_phone(self.calendar_to_phone(stored).as_bytes())
            .ok()
    }

    /// Applies the phone's limits to one component: drop what it cannot
    /// hold (its CTCap) and, for phones that ask, empty properties; cut
    /// values to known lengths and occurrences to known counts.
    fn fit(&self, component: &mut Component) {
        let capabilities = &self.capabilities;
        component.properties.retain(|p| {
            capabilities.can_hold(&p.name)
                && !(self.profile.no_empty_properties && p.is_empty() && p.name != "VERSION")
        });
        let mut seen: Vec<(String, usize)> = Vec::new();
        component.properties.retain(|p| {
            let count = match seen.iter_mut().find(|(name, _)| *name == p.name) {
                Some((_, count)) => {
                    *count += 1;
                    *count
                }
                None => {
                    seen.push((p.name.clone(), 1));
                    1
                }
            };
            capabilities
                .max_occurrences(&p.name)
                .is_none_or(|limit| count <= limit)
        });
        for property in &mut component.properties {
            if let Some(limit) = capabilities.max_length(&property.name) {
                truncate(property, limit);
            }
        }
    }
}

fn first_object(
    bytes: &[u8],
    charset: Option<&'static encoding_rs::Encoding>,
) -> Result<Component, ParseError> {
    let mut objects = content::parse_objects_with(bytes, charset)?;
    Ok(objects.remove(0).component)
}

/// Cuts a text value to `limit` characters without splitting an escape.
fn truncate(property: &mut Property, limit: usize) {
    let Value::Text(text) = &property.value else {
        return;
    };
    if property.text_value().chars().count() <= limit {
        return;
    }
    let mut out = String::new();
    let mut visible = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if visible == limit {
            break;
        }
        out.push(c);
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        }
        visible += 1;
    }
    property.value = Value::Text(out);
}

/// Phones with a minimum date cannot hold a yearly event (a birthday) that
/// starts before it; moving the start by whole years keeps every occurrence
/// the phone can show.
fn shift_yearly_before(item: &mut Component, min_date: &DateTime) {
    let Some(rule) = item
        .text_of("RRULE")
        .and_then(|r| Recurrence::parse_vcal(&r, None).ok())
    else {
        return;
    };
    if rule.frequency != Frequency::Yearly || rule.interval != 1 {
        return;
    }
    let Some(start) = item.text_of("DTSTART").and_then(|s| CalTime::parse(&s)) else {
        return;
    };
    let years = min_date.date.year - start.date().year;
    if years <= 0 || (start.date().month, start.date().day) == (2, 29) {
        return;
    }
    let years = if (start.date().month, start.date().day) < (min_date.date.month, min_date.date.day)
    {
        years + 1
    } else {
        years
    };
    for name in ["DTSTART", "DTEND"] {
        if let Some(property) = item.property_mut(name) {
            if let Some(time) = CalTime::parse(&property.text_value()) {
                let shifted = match time {
                    CalTime::Date(mut date) => {
                        date.year += years;
                        CalTime::Date(date)
                    }
                    CalTime::DateTime(mut date_time) => {
                        date_time.date.year += years;
                        CalTime::DateTime(date_time)
                    }
                };
                property.value = Value::Text(shifted.basic());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pim::merge::merge_from_phone;
    use crate::pim::profile::{DeviceInfo, ProfileSet};

    fn phone(manufacturer: &str, model: &str, capabilities: PhoneCapabilities) -> PhoneFormat {
        let profile = ProfileSet::embedded().resolve(&DeviceInfo {
            manufacturer: manufacturer.into(),
            model: model.into(),
            software_version: String::new(),
        });
        PhoneFormat::new(profile, capabilities)
    }

    const STORED: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jörg Müller\r\nN:Müller;Jörg;;;\r\nTEL;TYPE=CELL:+491701234567\r\nEMAIL;TYPE=WORK:j@work.example\r\nEMAIL:\r\nNOTE:Ein sehr langer Hinweis, den das Telefon nicht ganz speichern kann, weil er zu lang ist.\r\nX-EVOLUTION-SPOUSE:Anna\r\nEND:VCARD\r\n";

    #[test]
    fn nokia_gets_internet_email_and_utf8_and_only_what_it_holds() {
        let nokia = phone(
            "NOKIA",
            "Nokia E51",
            PhoneCapabilities::with_properties(&["N", "FN", "TEL", "EMAIL", "NOTE"]),
        );
        let stored = VCard::parse(STORED.as_bytes()).unwrap();
        let sent = nokia.contact_to_phone(&stored);
        assert!(sent.contains("VERSION:2.1"));
        assert!(
            sent.contains("EMAIL;WORK;INTERNET:j@work.example"),
            "{sent}"
        );
        assert!(sent.contains("N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg;;;"));
        assert!(!sent.contains("X-EVOLUTION-SPOUSE"));
        let back = nokia.contact_from_phone(sent.as_bytes()).unwrap();
        let email = back.component.property("EMAIL").unwrap();
        assert_eq!(email.types(), ["WORK"]);
        let merged = merge_from_phone(
            &stored.component,
            &back.component,
            None,
            &nokia.capabilities,
        );
        assert_eq!(merged.text_of("X-EVOLUTION-SPOUSE").unwrap(), "Anna");
    }

    #[test]
    fn sony_ericsson_gets_latin1_and_is_read_as_latin1() {
        let se = phone("SonyEricsson", "K750i", PhoneCapabilities::default());
        let stored = VCard::parse(STORED.as_bytes()).unwrap();
        let sent = se.contact_to_phone(&stored);
        assert!(
            sent.contains("N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=F6rg;;;"),
            "{sent}"
        );
        // Raw Latin-1 without CHARSET, as older SE firmware sends it.
        let raw = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:M\xfcller;J\xf6rg\r\nEND:VCARD\r\n";
        let card = se.contact_from_phone(raw).unwrap();
        assert_eq!(card.name().unwrap().family, "Müller");
    }

    #[test]
    fn siemens_sx1_gets_no_empty_properties_and_cut_values() {
        let mut capabilities = PhoneCapabilities::with_properties(&["N", "TEL", "EMAIL", "NOTE"]);
        capabilities.set_max_length("NOTE", 20);
        let sx1 = phone("SIEMENS", "SX1", capabilities);
        let stored = VCard::parse(STORED.as_bytes()).unwrap();
        let sent = sx1.contact_to_phone(&stored);
        assert!(!sent.contains("EMAIL:\r\n"), "{sent}");
        let back = sx1.contact_from_phone(sent.as_bytes()).unwrap();
        assert_eq!(back.notes(), ["Ein sehr langer Hinw"]);
        let as_sent = sx1.contact_as_sent(&stored).unwrap();
        let merged = merge_from_phone(
            &stored.component,
            &back.component,
            Some(&as_sent.component),
            &sx1.capabilities,
        );
        assert!(merged.text_of("NOTE").unwrap().ends_with("zu lang ist."));
    }

    #[test]
    fn notes_both_ways_in_the_phone_charset() {
        let se = phone("SonyEricsson", "K750i", PhoneCapabilities::default());
        let note = Note::from_text("Café\nau lait");
        let sent = se.note_to_phone(&note, false);
        assert!(
            sent.contains("BODY;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Caf=E9=0D=0Aau lait"),
            "{sent}"
        );
        assert_eq!(
            se.note_from_phone(sent.as_bytes()).unwrap().body(),
            "Café\nau lait"
        );
        assert_eq!(se.note_to_phone(&note, true), "Café\r\nau lait");
        let latin1 = se.note_from_phone(b"Caf\xe9\r\nau lait").unwrap();
        assert_eq!(latin1.body(), "Café\nau lait");
    }

    #[test]
    fn old_birthdays_move_past_the_minimum_date() {
        let nokia = phone("NOKIA", "Nokia 6230", PhoneCapabilities::default());
        let stored = Calendar::parse(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Birthday\r\nDTSTART;VALUE=DATE:19540421\r\nDTEND;VALUE=DATE:19540422\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
        let sent = nokia.calendar_to_phone(&stored);
        assert!(sent.contains("DTSTART:19800421"), "{sent}");
        assert!(sent.contains("DTEND:19800422"), "{sent}");
        assert!(sent.contains("RRULE:YM1 #0"), "{sent}");
        let with_method = Calendar::parse(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Home\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
        let sent = nokia.calendar_to_phone(&with_method);
        assert!(
            !sent.contains("METHOD") && !sent.contains("X-WR-CALNAME"),
            "{sent}"
        );
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use crate::pim::identity::contact_key;
    use crate::pim::merge::merge_from_phone;
    use crate::pim::profile::{DeviceInfo, ProfileSet};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any card the parser accepts goes through every phone pipeline,
        /// identity keys and the merge without panicking, and what we send
        /// parses again.
        #[test]
        fn arbitrary_cards_through_every_phone(
            lines in proptest::collection::vec("(N|FN|TEL|EMAIL|NOTE|BDAY|X-A|ADR|PHOTO)(;[A-Z=-]{1,12}){0,3}:\\PC{0,40}", 0..8),
            version in "(2\\.1|3\\.0|4\\.0)",
        ) {
            let text = format!("BEGIN:VCARD\r\nVERSION:{version}\r\n{}\r\nEND:VCARD\r\n", lines.join("\r\n"));
            let Ok(card) = VCard::parse(text.as_bytes()) else {
                return Ok(());
            };
            let stored = card.to_v30();
            let _ = contact_key(&card);
            let set = ProfileSet::embedded();
            for (maker, model) in [("NOKIA", "Nokia 7210c"), ("SonyEricsson", "K750i"), ("SIEMENS", "SX1")] {
                let profile = set.resolve(&DeviceInfo {
                    manufacturer: maker.into(),
                    model: model.into(),
                    software_version: String::new(),
                });
                let mut capabilities = PhoneCapabilities::with_properties(&["N", "TEL", "NOTE"]);
                capabilities.set_max_length("NOTE", 10);
                let phone = PhoneFormat::new(profile, capabilities);
                let sent = phone.contact_to_phone(&stored);
                let back = phone.contact_from_phone(sent.as_bytes()).expect("own output parses");
                let _ = merge_from_phone(&stored.component, &back.component, None, &phone.capabilities);
            }
        }
    }
}
