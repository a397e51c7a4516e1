//! SyncEvolution's test items (one per blank-line separated block): every
//! item must survive parse -> write -> parse unchanged, and the vCard 2.1 <->
//! 3.0 and vCalendar 1.0 <-> iCalendar 2.0 conversions must keep every field
//! both formats can express.

use std::path::{Path, PathBuf};

use handsync::pim::calendar::{Calendar, CalendarItem, VcalOptions};
use handsync::pim::content::{parse_object, parse_objects, Component, Property, Value};
use handsync::pim::datetime::{CalTime, Date};
use handsync::pim::recurrence::Recurrence;
use handsync::pim::vcard::VCard;

fn corpus() -> PathBuf {
    match std::env::var_os("HANDSYNC_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

/// The items of one test file. Items are separated by empty lines, but a
/// vCard 2.1 PHOTO also ends with one, so split on top-level END lines
/// (the parser's own object splitting) and keep each item's original text.
fn items(file: &str) -> Vec<String> {
    let path = corpus().join("pim/syncevolution").join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let objects = parse_objects(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(!objects.is_empty(), "{file}: no items");
    objects
        .into_iter()
        .map(|object| String::from_utf8(object.original).unwrap())
        .collect()
}

fn parse(text: &str) -> Component {
    parse_object(text.as_bytes())
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .component
}

#[test]
fn every_item_round_trips_through_its_own_writer() {
    let mut count = 0;
    for file in [
        "vcard21.vcf",
        "eds_contact.vcf",
        "vcal10.ics",
        "eds_event.ics",
        "eds_task.ics",
        "eds_memo.ics",
    ] {
        for item in items(file) {
            let parsed = parse(&item);
            let written = match parsed.name.as_str() {
                "VCARD" => VCard {
                    component: parsed.clone(),
                }
                .write(),
                _ => Calendar {
                    component: parsed.clone(),
                }
                .write(),
            };
            let again = parse(&written);
            assert_eq!(
                again, parsed,
                "{file}: changed by writing\n{item}\n{written}"
            );
            count += 1;
        }
    }
    assert!(count >= 60, "only {count} items");
}

/// BDAY is written `YYYYMMDD` for phones and may be `YYYY-MM-DD` in 3.0.
fn normalized(property: &Property) -> Property {
    let mut property = property.clone();
    if property.name == "BDAY" {
        if let Some(date) = Date::parse(&property.text_value()) {
            property.value = Value::Text(date.basic());
        }
    }
    property
}

fn assert_keeps_every_property(source: &VCard, result: &VCard, context: &str) {
    let kept: Vec<Property> = result.component.properties.iter().map(normalized).collect();
    for property in &source.component.properties {
        if property.name == "VERSION" {
            continue;
        }
        assert!(
            kept.contains(&normalized(property)),
            "{context}: lost {property:?}\nresult: {:#?}",
            result.component.properties
        );
    }
}

#[test]
fn vcard_21_to_30_and_back_keeps_every_property() {
    for item in items("vcard21.vcf") {
        let phone = VCard::parse(item.as_bytes()).unwrap();
        let stored = VCard::parse(phone.to_v30().write().as_bytes()).unwrap();
        assert_keeps_every_property(&phone, &stored, "2.1 -> 3.0");
        let back = VCard::parse(stored.to_v21().write().as_bytes()).unwrap();
        assert_keeps_every_property(&phone, &back, "2.1 -> 3.0 -> 2.1");
    }
}

#[test]
fn vcard_30_to_21_and_back_keeps_every_property() {
    for item in items("eds_contact.vcf") {
        let stored = VCard::parse(item.as_bytes()).unwrap();
        let phone = VCard::parse(stored.to_v21().write().as_bytes()).unwrap();
        assert_keeps_every_property(&stored, &phone, "3.0 -> 2.1");
        let back = VCard::parse(phone.to_v30().write().as_bytes()).unwrap();
        assert_keeps_every_property(&stored, &back, "3.0 -> 2.1 -> 3.0");
    }
}

#[test]
fn vcal_10_to_ical_20_and_back_is_exact() {
    for item in items("vcal10.ics") {
        let phone = Calendar::parse(item.as_bytes()).unwrap();
        let stored = Calendar::parse(phone.to_ical20().write().as_bytes()).unwrap();
        assert_same_items(&phone.items(), &stored.items(), &item);
        let back =
            Calendar::parse(stored.to_vcal10(&VcalOptions::default()).write().as_bytes()).unwrap();
        assert_eq!(
            back.component.components,
            phone.component.components,
            "{item}\n{}",
            back.write()
        );
    }
}

#[test]
fn ical_20_to_vcal_10_and_back_keeps_every_field() {
    let mut count = 0;
    for file in ["eds_event.ics", "eds_task.ics", "eds_memo.ics"] {
        for item in items(file) {
            let stored = Calendar::parse(item.as_bytes()).unwrap();
            let phone =
                Calendar::parse(stored.to_vcal10(&VcalOptions::default()).write().as_bytes())
                    .unwrap();
            assert_same_items(&stored.items(), &phone.items(), &item);
            let back = Calendar::parse(phone.to_ical20().write().as_bytes()).unwrap();
            assert_same_items(&stored.items(), &back.items(), &item);
            count += 1;
        }
    }
    assert!(count >= 15, "only {count} items");
}

const TIME_PROPERTIES: [&str; 7] = [
    "DTSTART",
    "DTEND",
    "DUE",
    "RECURRENCE-ID",
    "EXDATE",
    "COMPLETED",
    "LAST-MODIFIED",
];

/// Compares two versions of the same items field by field: times as UTC
/// instants, rules as rules, alarms by when they ring, every other property
/// as it is (vCalendar's DCREATED being iCalendar's CREATED).
fn assert_same_items(expected: &[CalendarItem], actual: &[CalendarItem], context: &str) {
    assert_eq!(expected.len(), actual.len(), "{context}");
    for (want, got) in expected.iter().zip(actual) {
        assert_eq!(want.kind(), got.kind(), "{context}");
        for property in &want.component.properties {
            let name = property.name.as_str();
            if TIME_PROPERTIES.contains(&name) {
                assert_eq!(
                    utc_times(want, name),
                    utc_times(got, name),
                    "{context}: {name}"
                );
            } else if name == "RRULE" {
                assert_eq!(rule(want), rule(got), "{context}");
            } else if name == "ATTENDEE" || name == "ORGANIZER" {
                assert_attendee_kept(property, got, want.version == got.version, context);
            } else if name != "STATUS" && name != "CREATED" && name != "DCREATED" {
                assert!(
                    got.component.properties.contains(property),
                    "{context}: lost {property:?}\n{:#?}",
                    got.component.properties
                );
            }
        }
        assert_eq!(
            want.component
                .text_of("STATUS")
                .map(|s| s.replace(' ', "-")),
            got.component.text_of("STATUS").map(|s| s.replace(' ', "-")),
            "{context}"
        );
        let created = |item: &CalendarItem| {
            item.component
                .text_of("CREATED")
                .or_else(|| item.component.text_of("DCREATED"))
        };
        assert_eq!(created(want), created(got), "{context}");
        let ring_times = |item: &CalendarItem| {
            let start = item.time_in_utc("DTSTART").map(|s| s.to_date_time());
            item.alarms()
                .iter()
                .map(|a| (a.kind, a.absolute_time(start)))
                .collect::<Vec<_>>()
        };
        assert_eq!(ring_times(want), ring_times(got), "{context}");
    }
}

/// Same version: the same parameters and URI (schemes are
/// case-insensitive: MAILTO: = mailto:). Across versions the parameters
/// have other names (vCalendar's STATUS is iCalendar's PARTSTAT, the
/// organizer is an ATTENDEE with ROLE=ORGANIZER): the address must be kept.
fn assert_attendee_kept(
    property: &Property,
    got: &CalendarItem,
    same_version: bool,
    context: &str,
) {
    let address = |p: &Property| {
        let text = p.text_value();
        match text.split_once(':') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mailto") => rest.to_string(),
            _ => text,
        }
    };
    let kept = got
        .component
        .properties
        .iter()
        .filter(|p| p.name == "ATTENDEE" || p.name == "ORGANIZER")
        .any(|p| {
            address(p) == address(property)
                && (!same_version || (p.name == property.name && p.params == property.params))
        });
    assert!(
        kept,
        "{context}: lost {property:?}\n{:#?}",
        got.component.properties
    );
}

fn utc_times(item: &CalendarItem, name: &str) -> Vec<Option<CalTime>> {
    let mut times: Vec<Option<CalTime>> = Vec::new();
    for property in item.component.properties_named(name) {
        for value in property.list_items() {
            let mut single = item.clone();
            single.component.properties = vec![Property {
                value: Value::Text(value),
                ..property.clone()
            }];
            times.push(single.time_in_utc(name));
        }
    }
    times
}

/// The rule with UNTIL reduced to what both grammars hold: a date for
/// all-day rules (vCalendar writes them as midnight), a UTC instant
/// otherwise.
fn rule(item: &CalendarItem) -> Option<(Recurrence, Option<String>)> {
    let mut rule = item.recurrence()?;
    let until = rule.until.take().map(|until| match until {
        CalTime::Date(date) => date.basic(),
        CalTime::DateTime(time) if item.is_all_day() => time.date.basic(),
        CalTime::DateTime(time) => {
            let mut probe = item.clone();
            probe.component.properties = vec![Property::raw("DTSTART", &time.basic())];
            if let Some(tzid) = item
                .component
                .property("DTSTART")
                .and_then(|p| p.param_value("TZID"))
            {
                probe.component.properties[0].add_param("TZID", &[tzid]);
            }
            probe
                .time_in_utc("DTSTART")
                .map(|t| t.basic())
                .unwrap_or_default()
        }
    });
    Some((rule, until))
}

/// Applies a unified diff (hunks only, as in SyncEvolution's `.tem.patch`
/// files) to `original`.
fn apply_patch(original: &str, patch: &str) -> String {
    let source: Vec<&str> = original.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut position = 0;
    let mut lines = patch.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(header) = line.strip_prefix("@@ -") else {
            continue;
        };
        let start: usize = header
            .split([',', ' '])
            .next()
            .and_then(|n| n.parse().ok())
            .expect("hunk header");
        let start = start.saturating_sub(1);
        out.extend(source[position..start].iter().map(|l| l.to_string()));
        position = start;
        while let Some(body) = lines.peek() {
            if body.starts_with("@@") {
                break;
            }
            let body = lines.next().unwrap();
            match body.chars().next() {
                Some('+') => out.push(body[1..].to_string()),
                Some('-') => {
                    assert_eq!(source[position], &body[1..], "patch does not apply");
                    position += 1;
                }
                _ => {
                    let context = body.strip_prefix(' ').unwrap_or(body);
                    assert_eq!(source[position], context, "patch context differs");
                    out.push(context.to_string());
                    position += 1;
                }
            }
        }
    }
    out.extend(source[position..].iter().map(|l| l.to_string()));
    out.join("\n") + "\n"
}

/// The Nokia 7210c variants of the test items hold only what that phone
/// keeps. Taking the properties of those variants as the phone's CTCap, a
/// merge of the phone's version into the full stored item must keep every
/// property the phone could not hold, and take the phone's values for the
/// others.
#[test]
fn merge_keeps_what_the_nokia_7210c_cannot_hold() {
    use handsync::pim::merge::{merge_from_phone, PhoneCapabilities};
    let dir = corpus().join("pim/syncevolution");
    let mut kept = 0;
    for file in ["eds_event.ics", "eds_task.ics"] {
        let original = std::fs::read_to_string(dir.join(file))
            .unwrap()
            .replace("\r\n", "\n");
        let patch =
            std::fs::read_to_string(dir.join(format!("{file}.nokia_7210c.tem.patch"))).unwrap();
        let phone_text = apply_patch(&original, &patch);
        let stored_items: Vec<CalendarItem> = parse_objects(original.as_bytes())
            .unwrap()
            .into_iter()
            .flat_map(|o| {
                Calendar {
                    component: o.component,
                }
                .items()
            })
            .collect();
        let phone_items: Vec<CalendarItem> = parse_objects(phone_text.as_bytes())
            .unwrap()
            .into_iter()
            .flat_map(|o| {
                Calendar {
                    component: o.component,
                }
                .items()
            })
            .collect();
        let mut names: Vec<&str> = phone_items
            .iter()
            .flat_map(|i| i.component.properties.iter().map(|p| p.name.as_str()))
            .collect();
        names.sort();
        names.dedup();
        let capabilities = PhoneCapabilities::with_properties(&names);
        for phone in &phone_items {
            let uid = phone.uid().unwrap();
            let recurrence_id = phone.component.text_of("RECURRENCE-ID");
            let Some(stored) = stored_items.iter().find(|s| {
                s.uid().as_deref() == Some(uid.as_str())
                    && s.component.text_of("RECURRENCE-ID").is_some() == recurrence_id.is_some()
            }) else {
                continue;
            };
            let merged = merge_from_phone(&stored.component, &phone.component, None, &capabilities);
            for property in &stored.component.properties {
                if !capabilities.can_hold(&property.name) {
                    assert!(
                        merged.properties.contains(property),
                        "{file} {uid}: lost {property:?}"
                    );
                    kept += 1;
                }
            }
            for property in &phone.component.properties {
                assert!(
                    merged
                        .properties_named(&property.name)
                        .any(|p| p.value == property.value),
                    "{file} {uid}: phone's {property:?} not taken"
                );
            }
        }
    }
    // PERCENT-COMPLETE, COMPLETED and URL of the task at least.
    assert!(kept >= 3, "only {kept} properties kept");
}
