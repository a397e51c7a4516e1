//! Field-by-field merge of a phone's new version of an item into the one
//! stored on the PC, so that what the phone cannot hold is not lost: a
//! property missing from the phone's CTCap, a value cut to the phone's
//! length limit, parameters the phone drops, alarms a phone cannot store.
//!
//! Both sides are compared in the canonical form (vCard 3.0, iCalendar
//! 2.0); the capabilities use the phone's property names (vCard 2.1,
//! vCalendar 1.0), as its DevInf CTCap lists them.

use std::collections::BTreeMap;

use super::content::{Component, Property};

/// What the phone can store of one property.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyCapability {
    /// Longest value the phone keeps, in characters (CTCap MaxSize).
    pub max_length: Option<usize>,
    /// How many of these properties the phone keeps (e.g. 3 EMAIL).
    pub max_occurrences: Option<usize>,
}

/// The properties a phone datastore can hold, from its CTCap. An empty set
/// means "unknown": the phone is then trusted to hold everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhoneCapabilities {
    pub properties: BTreeMap<String, PropertyCapability>,
    /// The phone cuts values to limits it does not declare (profile
    /// `limited_field_lengths`): a phone value that is a strict prefix of
    /// the stored one is taken as cut, not edited.
    pub limited_field_lengths: bool,
}

/// Canonical (PC side) names that phones call differently.
fn phone_names(canonical: &str) -> &[&str] {
    match canonical {
        "VALARM" => &["AALARM", "DALARM", "PALARM", "MALARM"],
        "CREATED" => &["DCREATED", "CREATED"],
        _ => &[],
    }
}

impl PhoneCapabilities {
    /// Capabilities listing `names` without limits.
    pub fn with_properties(names: &[&str]) -> Self {
        PhoneCapabilities {
            properties: names
                .iter()
                .map(|n| (n.to_ascii_uppercase(), PropertyCapability::default()))
                .collect(),
            limited_field_lengths: false,
        }
    }

    pub fn set_max_length(&mut self, name: &str, max_length: usize) {
        self.properties
            .entry(name.to_ascii_uppercase())
            .or_default()
            .max_length = Some(max_length);
    }

    pub fn set_max_occurrences(&mut self, name: &str, count: usize) {
        self.properties
            .entry(name.to_ascii_uppercase())
            .or_default()
            .max_occurrences = Some(count);
    }

    pub fn is_known(&self) -> bool {
        !self.properties.is_empty()
    }

    fn capability(&self, canonical: &str) -> Option<&PropertyCapability> {
        self.properties.get(canonical).or_else(|| {
            phone_names(canonical)
                .iter()
                .find_map(|name| self.properties.get(*name))
        })
    }

    /// Whether the phone stores this property (canonical name).
    pub fn can_hold(&self, canonical: &str) -> bool {
        !self.is_known()
            || matches!(canonical, "BEGIN" | "END" | "VERSION")
            || self.capability(canonical).is_some()
    }

    pub fn max_length(&self, canonical: &str) -> Option<usize> {
        self.capability(canonical).and_then(|c| c.max_length)
    }

    pub fn max_occurrences(&self, canonical: &str) -> Option<usize> {
        self.capability(canonical).and_then(|c| c.max_occurrences)
    }
}

/// Merges `from_phone` into `stored`, both canonical and of the same kind
/// (VCARD, VEVENT, VTODO...). `sent` is the canonical form of what was last
/// sent to the phone, when known: a phone value equal to what we sent means
/// "unchanged", whatever the phone did to it on the way (truncation, lost
/// parameters, year-shifted dates).
pub fn merge_from_phone(
    stored: &Component,
    from_phone: &Component,
    sent: Option<&Component>,
    capabilities: &PhoneCapabilities,
) -> Component {
    let mut result = Component::new(&from_phone.name);
    // For each result property, the stored property it is a version of.
    let mut origins: Vec<Option<usize>> = Vec::new();
    let mut used = vec![false; stored.properties.len()];
    for phone in &from_phone.properties {
        let name = phone.name.as_str();
        let chosen_origin = counterpart(phone, &stored.properties, &used);
        let was_sent = sent.is_some_and(|s| {
            s.properties_named(name)
                .any(|p| p.params == phone.params && p.same_value(phone))
        });
        let chosen = match chosen_origin {
            Some(index) => {
                used[index] = true;
                let stored_property = &stored.properties[index];
                if was_sent || keeps_stored(phone, stored_property, name, capabilities) {
                    stored_property.clone()
                } else {
                    phone.clone()
                }
            }
            None => phone.clone(),
        };
        result.properties.push(chosen);
        origins.push(chosen_origin);
    }
    // Stored properties the phone could not have sent stay, next to the
    // stored neighbours they followed: names outside its CTCap, and
    // occurrences beyond what it keeps (a fourth EMAIL on a phone that
    // keeps three).
    for (index, property) in stored.properties.iter().enumerate() {
        if used[index] {
            continue;
        }
        let name = property.name.as_str();
        let phone_count = from_phone.properties_named(name).count();
        let beyond_capability = !capabilities.can_hold(name) && phone_count == 0;
        let beyond_count = capabilities
            .max_occurrences(name)
            .is_some_and(|limit| phone_count >= limit);
        if !(beyond_capability || beyond_count) {
            continue;
        }
        let position = origins
            .iter()
            .enumerate()
            .filter(|(_, origin)| origin.is_some_and(|o| o < index))
            .map(|(i, _)| i + 1)
            .max()
            .unwrap_or(result.properties.len().min(1));
        result.properties.insert(position, property.clone());
        origins.insert(position, Some(index));
    }
    // iCalendar allows an end or a duration, not both: a phone that sent
    // an end (phones have no DURATION) replaces the stored duration.
    let phone_has_end = ["DTEND", "DUE"]
        .iter()
        .any(|name| from_phone.property(name).is_some());
    if phone_has_end && from_phone.property("DURATION").is_none() {
        result.remove_all("DURATION");
    }
    // Sub-components (VALARM): the phone's when it can hold them.
    let mut kinds: Vec<&str> = Vec::new();
    for child in from_phone.components.iter().chain(&stored.components) {
        if !kinds.contains(&child.name.as_str()) {
            kinds.push(&child.name);
        }
    }
    for kind in kinds {
        let phone_children: Vec<&Component> = from_phone.children_named(kind).collect();
        if !capabilities.can_hold(kind) && phone_children.is_empty() {
            result
                .components
                .extend(stored.children_named(kind).cloned());
        } else {
            result
                .components
                .extend(phone_children.into_iter().cloned());
        }
    }
    result
}

/// The unused stored property that a phone property is a version of: one
/// with the same value, else the first of the same name with the same
/// types, else the first of the same name.
fn counterpart(phone: &Property, stored: &[Property], used: &[bool]) -> Option<usize> {
    let candidates = || {
        stored
            .iter()
            .enumerate()
            .filter(|(i, s)| !used[*i] && s.name == phone.name)
    };
    candidates()
        .find(|(_, s)| s.same_value(phone) && same_group(s, phone))
        .or_else(|| candidates().find(|(_, s)| s.types() == phone.types()))
        .or_else(|| candidates().next())
        .map(|(i, _)| i)
}

fn same_group(a: &Property, b: &Property) -> bool {
    a.group == b.group || a.group.is_none() || b.group.is_none()
}

/// Keep the stored property when the phone's value is the same text with
/// parameters lost (types the phone keeps are a subset), or the stored text
/// cut to the phone's length limit.
fn keeps_stored(
    phone: &Property,
    stored: &Property,
    name: &str,
    capabilities: &PhoneCapabilities,
) -> bool {
    let types_kept = phone.types().iter().all(|t| stored.types().contains(t));
    if !types_kept || phone.binary().is_some() != stored.binary().is_some() {
        return false;
    }
    if phone.same_value(stored) {
        return true;
    }
    // Cut as a whole (NOTE) or component by component (a phone that keeps
    // 15 characters of each N part): every phone part is a start of the
    // stored part, and some part is shorter.
    let phone_parts = phone.components();
    let stored_parts = stored.components();
    let cut_parts: Vec<&String> = phone_parts
        .iter()
        .zip(&stored_parts)
        .filter(|(p, s)| p != s)
        .map(|(p, _)| p)
        .collect();
    let componentwise = phone_parts.len() <= stored_parts.len()
        && phone_parts
            .iter()
            .zip(&stored_parts)
            .all(|(p, s)| s.starts_with(p.trim_end()))
        && !cut_parts.is_empty();
    let (phone_text, stored_text) = (phone.text_value(), stored.text_value());
    let whole =
        stored_text.starts_with(phone_text.trim_end()) && phone_text.len() < stored_text.len();
    if !(whole || componentwise) {
        return false;
    }
    match capabilities.max_length(name) {
        Some(limit) => {
            let at_limit = |text: &str| text.chars().count() + 1 >= limit;
            at_limit(&phone_text) || cut_parts.iter().any(|p| at_limit(p))
        }
        None => capabilities.limited_field_lengths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pim::vcard::VCard;

    fn card(text: &str) -> Component {
        VCard::parse(text.as_bytes()).unwrap().to_v30().component
    }

    const STORED: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jörg Müller\r\nN:Müller;Jörg;;;\r\nTEL;TYPE=CELL;X-EVOLUTION-UI-SLOT=1:+491701234567\r\nEMAIL;TYPE=WORK:j@work.example\r\nNOTE:A very long note that the phone cannot keep in full because of its limit\r\nX-EVOLUTION-SPOUSE:Anna\r\nEND:VCARD\r\n";

    #[test]
    fn email_the_phone_cannot_hold_is_kept() {
        let stored = card(STORED);
        // A phone without EMAIL in its CTCap; the user changed the number.
        let phone = card("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller;Jörg\r\nTEL;CELL:+491709999999\r\nEND:VCARD\r\n");
        let capabilities = PhoneCapabilities::with_properties(&["N", "FN", "TEL", "NOTE"]);
        let merged = merge_from_phone(&stored, &phone, None, &capabilities);
        assert_eq!(merged.text_of("EMAIL").unwrap(), "j@work.example");
        assert_eq!(merged.text_of("X-EVOLUTION-SPOUSE").unwrap(), "Anna");
        assert_eq!(merged.text_of("TEL").unwrap(), "+491709999999");
        // The phone holds NOTE and sent none: deleted on the phone.
        assert!(merged.property("NOTE").is_none());
    }

    #[test]
    fn truncated_values_and_lost_parameters_keep_the_stored_version() {
        let stored = card(STORED);
        let phone = card("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller;Jörg\r\nTEL;CELL:+491701234567\r\nEMAIL:j@work.example\r\nNOTE:A very long note that the phone cannot keep\r\nEND:VCARD\r\n");
        let mut capabilities = PhoneCapabilities::with_properties(&["N", "TEL", "EMAIL", "NOTE"]);
        capabilities.set_max_length("NOTE", 44);
        let merged = merge_from_phone(&stored, &phone, None, &capabilities);
        assert!(merged.text_of("NOTE").unwrap().ends_with("of its limit"));
        let tel = merged.property("TEL").unwrap();
        assert_eq!(tel.param_value("X-EVOLUTION-UI-SLOT"), Some("1"));
        assert!(merged.property("EMAIL").unwrap().has_type("WORK"));
        // A shorter note that is not at the limit is a user edit.
        let edited = card(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller;Jörg\r\nNOTE:A very long note\r\nEND:VCARD\r\n",
        );
        let merged = merge_from_phone(&stored, &edited, None, &capabilities);
        assert_eq!(merged.text_of("NOTE").unwrap(), "A very long note");
    }

    #[test]
    fn name_parts_cut_one_by_one_keep_the_stored_name() {
        let stored = card("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller-Lüdenscheidt;Jörg-Alexander;;;\r\nEND:VCARD\r\n");
        let phone =
            card("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller-Lüdensch;Jörg-Alexander\r\nEND:VCARD\r\n");
        let mut capabilities = PhoneCapabilities::with_properties(&["N"]);
        capabilities.set_max_length("N", 15);
        let merged = merge_from_phone(&stored, &phone, None, &capabilities);
        assert_eq!(
            merged.property("N").unwrap().components()[0],
            "Müller-Lüdenscheidt"
        );
    }

    #[test]
    fn undeclared_limits_of_limited_phones_count_as_truncation() {
        let stored = card(STORED);
        let phone = card("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller;Jörg\r\nNOTE:A very long note that\r\nEND:VCARD\r\n");
        let mut capabilities = PhoneCapabilities::with_properties(&["N", "NOTE"]);
        assert_eq!(
            merge_from_phone(&stored, &phone, None, &capabilities)
                .text_of("NOTE")
                .unwrap(),
            "A very long note that"
        );
        capabilities.limited_field_lengths = true;
        let merged = merge_from_phone(&stored, &phone, None, &capabilities);
        assert!(merged.text_of("NOTE").unwrap().ends_with("of its limit"));
    }

    #[test]
    fn value_equal_to_what_was_sent_means_unchanged() {
        let stored = card(STORED);
        let sent_note = "A very long note";
        let sent = card(&format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE:{sent_note}\r\nEND:VCARD\r\n"
        ));
        let phone = sent.clone();
        let capabilities = PhoneCapabilities::default();
        let merged = merge_from_phone(&stored, &phone, Some(&sent), &capabilities);
        assert!(merged.text_of("NOTE").unwrap().ends_with("of its limit"));
    }

    #[test]
    fn occurrences_beyond_the_phone_limit_stay() {
        let stored = card("BEGIN:VCARD\r\nVERSION:3.0\r\nN:A;B;;;\r\nEMAIL:1@x\r\nEMAIL:2@x\r\nEMAIL:3@x\r\nEMAIL:4@x\r\nEND:VCARD\r\n");
        let phone = card("BEGIN:VCARD\r\nVERSION:2.1\r\nN:A;B\r\nEMAIL:1@x\r\nEMAIL:2@x\r\nEMAIL:3@x\r\nEND:VCARD\r\n");
        let mut capabilities = PhoneCapabilities::with_properties(&["N", "EMAIL"]);
        capabilities.set_max_occurrences("EMAIL", 3);
        let merged = merge_from_phone(&stored, &phone, None, &capabilities);
        assert_eq!(merged.properties_named("EMAIL").count(), 4);
    }

    #[test]
    fn kept_properties_stay_next_to_their_neighbours() {
        let stored = card("BEGIN:VCARD\r\nVERSION:3.0\r\nN:A;B;;;\r\nNICKNAME:bee\r\nTEL;TYPE=CELL:1\r\nTEL;TYPE=HOME:2\r\nEND:VCARD\r\n");
        let phone = card(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:A;B\r\nTEL;HOME:2\r\nTEL;CELL:3\r\nEND:VCARD\r\n",
        );
        let capabilities = PhoneCapabilities::with_properties(&["N", "FN", "TEL"]);
        let merged = merge_from_phone(&stored, &phone, None, &capabilities);
        let names: Vec<&str> = merged.properties.iter().map(|p| p.name.as_str()).collect();
        // FN was added after N when the stored card became 3.0.
        assert_eq!(names, ["VERSION", "N", "FN", "NICKNAME", "TEL", "TEL"]);
        let tels: Vec<String> = merged
            .properties_named("TEL")
            .map(|p| p.text_value())
            .collect();
        assert_eq!(tels, ["2", "3"]);
    }

    #[test]
    fn an_end_from_the_phone_replaces_the_stored_duration() {
        let stored = crate::pim::content::parse_object(
            b"BEGIN:VEVENT\r\nDTSTART:20060406T140000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n",
        )
        .unwrap()
        .component;
        let phone = crate::pim::content::parse_object(
            b"BEGIN:VEVENT\r\nDTSTART:20060406T140000Z\r\nDTEND:20060406T160000Z\r\nEND:VEVENT\r\n",
        )
        .unwrap()
        .component;
        let capabilities = PhoneCapabilities::with_properties(&["DTSTART", "DTEND"]);
        let merged = merge_from_phone(&stored, &phone, None, &capabilities);
        assert!(merged.property("DURATION").is_none());
        assert_eq!(merged.text_of("DTEND").unwrap(), "20060406T160000Z");
    }

    #[test]
    fn alarms_of_a_phone_without_alarms_stay() {
        let stored = crate::pim::content::parse_object(b"BEGIN:VEVENT\r\nSUMMARY:x\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n").unwrap().component;
        let phone =
            crate::pim::content::parse_object(b"BEGIN:VEVENT\r\nSUMMARY:y\r\nEND:VEVENT\r\n")
                .unwrap()
                .component;
        let without = PhoneCapabilities::with_properties(&["SUMMARY", "DTSTART"]);
        let merged = merge_from_phone(&stored, &phone, None, &without);
        assert_eq!(merged.components.len(), 1);
        assert_eq!(merged.text_of("SUMMARY").unwrap(), "y");
        let with = PhoneCapabilities::with_properties(&["SUMMARY", "DALARM"]);
        assert!(merge_from_phone(&stored, &phone, None, &with)
            .components
            .is_empty());
    }
}
