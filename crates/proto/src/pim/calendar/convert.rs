//! The item conversions between the phone's vCalendar 1.0 and the stored iCalendar 2.0:
//! all-day styles, times in zones or UTC, attendees, durations.

use super::{
    Alarm, AlarmTrigger, AllDayStyle, TimeTarget, VcalOptions, ALARM_PROPERTIES, TIME_PROPERTIES,
};
use crate::pim::content::{Component, Param, Property, Value};
use crate::pim::datetime::{self, CalTime, Date, DateTime};
use crate::pim::recurrence::Recurrence;
use crate::pim::timezone::{TimeZone, VCAL_TZID_PREFIX};

/// The all-day span of an item, if it is one: (first day, day after last).
pub(super) fn all_day_dates(item: &Component) -> Option<(Date, Option<Date>)> {
    let start = CalTime::parse(&item.text_of("DTSTART")?)?;
    let end = item.text_of("DTEND").and_then(|e| CalTime::parse(&e));
    match start {
        CalTime::Date(date) => Some((date, end.map(|e| e.date()).or(Some(date.add_days(1))))),
        CalTime::DateTime(s) if !s.utc && (s.hour, s.minute, s.second) == (0, 0, 0) => {
            // Symbian marks day entries; they run midnight to midnight.
            let day_entry = item
                .text_of("X-EPOCAGENDAENTRYTYPE")
                .is_some_and(|t| matches!(t.trim(), "EVENT" | "ANNIVERSARY"));
            match end? {
                CalTime::DateTime(e)
                    if !e.utc && e.hour == 23 && e.minute == 59 && e.date >= s.date =>
                {
                    Some((s.date, Some(e.date.add_days(1))))
                }
                CalTime::DateTime(e)
                    if day_entry
                        && !e.utc
                        && (e.hour, e.minute, e.second) == (0, 0, 0)
                        && e.date > s.date =>
                {
                    Some((s.date, Some(e.date)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn set_value(property: &mut Property, text: &str) {
    property.value = Value::Text(text.to_string());
}

/// vCalendar 1.0 item -> iCalendar 2.0 item.
pub(super) fn item_to_ical(item: &Component, zone: Option<&TimeZone>) -> Component {
    let start = item.text_of("DTSTART").and_then(|s| CalTime::parse(&s));
    let all_day = all_day_dates(item);
    let mut out = Component::new(&item.name);
    let mut alarms = Vec::new();
    for property in &item.properties {
        let mut property = property.clone();
        let name = property.name.clone();
        if ALARM_PROPERTIES.contains(&name.as_str()) {
            match Alarm::from_vcal(&property) {
                Some(alarm) => alarms.push(alarm),
                None => out.properties.push(property),
            }
            continue;
        }
        match name.as_str() {
            "RRULE" | "EXRULE" => {
                let text = property.text_value();
                match Recurrence::parse_vcal_at(&text, start) {
                    Ok(mut rule) => {
                        // RFC 5545: UNTIL has DTSTART's value type, and is UTC
                        // when DTSTART has a zone.
                        rule.until = match rule.until {
                            Some(until) if all_day.is_some() => Some(CalTime::Date(until.date())),
                            Some(CalTime::DateTime(until)) => {
                                Some(CalTime::DateTime(to_utc_with(until, zone)))
                            }
                            other => other,
                        };
                        set_value(&mut property, &rule.to_ical())
                    }
                    // Keep what we cannot read, under a name iCalendar ignores.
                    Err(_) => property.name = format!("X-VCAL-{name}"),
                }
            }
            "X-ICAL-RRULE" => property.name = "RRULE".into(),
            "X-ICAL-EXRULE" => property.name = "EXRULE".into(),
            "STATUS" => {
                let status = property.text_value().trim().to_ascii_uppercase();
                set_value(&mut property, &status.replace(' ', "-"));
            }
            "DCREATED" => property.name = "CREATED".into(),
            "ATTENDEE" => attendee_to_ical(&mut property),
            "TRANSP" => {
                // vCalendar 1.0 writes 0 (opaque) and 1 (transparent).
                match property.text_value().trim() {
                    "0" => set_value(&mut property, "OPAQUE"),
                    "1" => set_value(&mut property, "TRANSPARENT"),
                    _ => {}
                }
            }
            _ => {}
        }
        if TIME_PROPERTIES.contains(&name.as_str()) {
            if property.is_empty() {
                // vCalendar's `DUE:`/`COMPLETED:` mean "none".
                continue;
            }
            match (&all_day, name.as_str()) {
                (Some((first, _)), "DTSTART") => {
                    set_value(&mut property, &first.basic());
                    property.add_param("VALUE", &["DATE"]);
                }
                (Some((_, Some(after))), "DTEND") => {
                    set_value(&mut property, &after.basic());
                    property.add_param("VALUE", &["DATE"]);
                }
                // Exceptions of an all-day item are days too.
                (Some(_), "EXDATE" | "RDATE" | "RECURRENCE-ID") => {
                    let days: Vec<String> = property
                        .list_items()
                        .iter()
                        .map(|t| CalTime::parse(t).map_or_else(|| t.clone(), |t| t.date().basic()))
                        .collect();
                    set_value(&mut property, &days.join(","));
                    property.add_param("VALUE", &["DATE"]);
                }
                _ => tag_times(&mut property, zone),
            }
        }
        out.properties.push(property);
    }
    // Alarms become relative to the start when both are in the same time
    // basis, which keeps them right for every occurrence.
    let start_utc = start.map(|s| to_utc_with(s.to_date_time(), zone));
    for alarm in alarms {
        let mut alarm = alarm;
        if let AlarmTrigger::Absolute(time) = alarm.trigger {
            let time = to_utc_with(time, zone);
            alarm.trigger = match start_utc {
                Some(base) if base.utc == time.utc => AlarmTrigger::Relative {
                    offset: time.timestamp() - base.timestamp(),
                    from_end: false,
                },
                _ => AlarmTrigger::Absolute(time),
            };
        }
        out.components.push(alarm.to_valarm());
    }
    out.components.extend(
        item.components
            .iter()
            .filter(|c| c.name != "VALARM")
            .cloned(),
    );
    out
}

fn to_utc_with(time: DateTime, zone: Option<&TimeZone>) -> DateTime {
    match zone {
        Some(zone) if !time.utc => zone.to_utc(&time),
        _ => time,
    }
}

/// Marks floating times with the zone's TZID, and dates as VALUE=DATE.
fn tag_times(property: &mut Property, zone: Option<&TimeZone>) {
    let items = property.list_items();
    let times: Vec<Option<CalTime>> = items.iter().map(|t| CalTime::parse(t)).collect();
    if times.iter().all(|t| matches!(t, Some(CalTime::Date(_)))) && !times.is_empty() {
        property.add_param("VALUE", &["DATE"]);
    } else if let Some(zone) = zone {
        if times
            .iter()
            .any(|t| matches!(t, Some(CalTime::DateTime(d)) if !d.utc))
        {
            property.add_param("TZID", &[zone.id.as_str()]);
        }
    }
}

/// iCalendar 2.0 item -> vCalendar 1.0 item.
/// vCalendar 1.0 has no DURATION: an iCalendar item that gives one instead
/// of DTEND (DUE for to-dos) gets the end it implies.
fn duration_as_end(item: &Component) -> Component {
    let end_name = if item.name == "VTODO" { "DUE" } else { "DTEND" };
    if item.property(end_name).is_some() {
        return item.clone();
    }
    let (Some(start), Some(duration)) = (
        item.property("DTSTART"),
        item.text_of("DURATION")
            .and_then(|d| datetime::parse_duration(&d)),
    ) else {
        return item.clone();
    };
    let end_text = match CalTime::parse(&start.text_value()) {
        Some(CalTime::Date(date)) => CalTime::Date(date.add_days(duration.div_euclid(86_400))),
        Some(CalTime::DateTime(time)) => CalTime::DateTime(time.add_seconds(duration)),
        None => return item.clone(),
    }
    .basic();
    let mut end = start.clone();
    end.name = end_name.to_string();
    end.value = Value::Text(end_text);
    let mut out = item.clone();
    out.remove_all("DURATION");
    let position = out
        .properties
        .iter()
        .position(|p| p.name == "DTSTART")
        .map_or(out.properties.len(), |i| i + 1);
    out.properties.insert(position, end);
    out
}

pub(super) fn item_to_vcal(
    item: &Component,
    zones: &[TimeZone],
    options: &VcalOptions,
) -> Component {
    let item = &duration_as_end(item);
    // Rules follow the start's own calendar day (its zone's), not UTC's.
    let start_as_written = item.text_of("DTSTART").and_then(|s| CalTime::parse(&s));
    let local_start = start_as_written.map(|s| s.date());
    let start_zone = item
        .property("DTSTART")
        .and_then(|p| p.param_value("TZID"))
        .and_then(|id| zones.iter().find(|z| z.id == id))
        .filter(|z| !z.id.starts_with(VCAL_TZID_PREFIX));
    let mut out = Component::new(&item.name);
    let all_day = item
        .property("DTSTART")
        .is_some_and(|p| {
            p.param_value("VALUE")
                .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        })
        .then(|| all_day_dates(item))
        .flatten();
    for property in &item.properties {
        let mut property = property.clone();
        let name = property.name.clone();
        match name.as_str() {
            "RRULE" | "EXRULE" => match Recurrence::parse_ical(&property.text_value())
                .and_then(|rule| match start_as_written {
                    Some(start) => rule.with_count_as_end(start),
                    None => Ok(rule),
                })
                .and_then(|mut rule| {
                    // An end computed in the start's zone follows the start
                    // to UTC when the start goes there.
                    if let (Some(CalTime::DateTime(until)), Some(zone)) = (rule.until, start_zone) {
                        if !until.utc && options.times_in_utc {
                            rule.until = Some(CalTime::DateTime(zone.to_utc(&until)));
                        }
                    }
                    rule.to_vcal_from(local_start)
                }) {
                Ok(text) => set_value(&mut property, &text),
                Err(_) => property.name = format!("X-ICAL-{name}"),
            },
            "X-VCAL-RRULE" => property.name = "RRULE".into(),
            "X-VCAL-EXRULE" => property.name = "EXRULE".into(),
            "STATUS" => {
                let status = property.text_value().trim().to_ascii_uppercase();
                if status == "NEEDS-ACTION" {
                    set_value(&mut property, "NEEDS ACTION");
                }
            }
            "CREATED" => property.name = "DCREATED".into(),
            "ATTENDEE" | "ORGANIZER" => attendee_to_vcal(&mut property),
            _ => {}
        }
        if TIME_PROPERTIES.contains(&name.as_str()) {
            match (&all_day, name.as_str()) {
                (Some((first, after)), "DTSTART" | "DTEND") => {
                    let after = after.unwrap_or(first.add_days(1));
                    let text = match (options.all_day, name.as_str()) {
                        (AllDayStyle::DateOnly, "DTSTART") => first.basic(),
                        (AllDayStyle::DateOnly, _) => after.basic(),
                        (_, "DTSTART") => format!("{}T000000", first.basic()),
                        (AllDayStyle::MidnightTo2359, _) => {
                            format!("{}T235900", after.add_days(-1).basic())
                        }
                        (AllDayStyle::MidnightToMidnight, _) => {
                            format!("{}T000000", after.basic())
                        }
                    };
                    set_value(&mut property, &text);
                    property.remove_param("VALUE");
                }
                // Exceptions take the form of the start the phone gets.
                (Some(_), "EXDATE" | "RDATE" | "RECURRENCE-ID")
                    if options.all_day != AllDayStyle::DateOnly =>
                {
                    let times: Vec<String> = property
                        .list_items()
                        .iter()
                        .map(|t| match CalTime::parse(t) {
                            Some(CalTime::Date(day)) => format!("{}T000000", day.basic()),
                            _ => t.clone(),
                        })
                        .collect();
                    set_value(&mut property, &times.join(","));
                    property.remove_param("VALUE");
                }
                _ => resolve_times(&mut property, zones, options.item_target()),
            }
        }
        out.properties.push(property);
    }
    let time_of = |name: &str| {
        let property = item.property(name)?;
        let mut copy = property.clone();
        resolve_times(&mut copy, zones, options.alarm_target());
        CalTime::parse(&copy.text_value()).map(|t| t.to_date_time())
    };
    let start = time_of("DTSTART");
    let end = time_of("DTEND").or_else(|| time_of("DUE"));
    for child in &item.components {
        match Alarm::from_valarm(child).and_then(|alarm| alarm.to_vcal(start, end)) {
            Some(property) => out.properties.push(property),
            None if child.name == "VALARM" => {}
            None => out.components.push(child.clone()),
        }
    }
    out
}

fn replace_param(property: &mut Property, name: &str, new_name: &str, value: &str) {
    if let Some(param) = property.params.iter_mut().find(|p| p.name == name) {
        param.name = new_name.to_string();
        param.values = vec![value.to_string()];
    }
}

/// vCalendar 1.0 ATTENDEE (ROLE, EXPECT, STATUS, RSVP=YES, bare address) to
/// iCalendar (ROLE, PARTSTAT, RSVP=TRUE, mailto: URI); the organizer
/// becomes ORGANIZER. Parameters keep their places.
fn attendee_to_ical(property: &mut Property) {
    let upper =
        |p: &Property, name: &str| p.param_value(name).map(|v| v.trim().to_ascii_uppercase());
    let role = upper(property, "ROLE");
    let expect = upper(property, "EXPECT");
    if role.as_deref() == Some("ORGANIZER") {
        // Other parameters (EXPECT...) stay: iCalendar ignores them and
        // they come back to the phone unchanged.
        property.name = "ORGANIZER".into();
        property.remove_param("ROLE");
    } else {
        let ical_role = match (role.as_deref(), expect.as_deref()) {
            (Some("OWNER"), _) => "CHAIR",
            (_, Some("REQUEST")) => "OPT-PARTICIPANT",
            (_, Some("FYI")) => "NON-PARTICIPANT",
            _ => "REQ-PARTICIPANT",
        };
        if role.is_some() {
            replace_param(property, "ROLE", "ROLE", ical_role);
            property.remove_param("EXPECT");
        } else if expect.is_some() {
            replace_param(property, "EXPECT", "ROLE", ical_role);
        }
    }
    if let Some(status) = upper(property, "STATUS") {
        let partstat = match status.as_str() {
            "NEEDS ACTION" | "SENT" => "NEEDS-ACTION".to_string(),
            "CONFIRMED" => "ACCEPTED".to_string(),
            other => other.replace(' ', "-"),
        };
        replace_param(property, "STATUS", "PARTSTAT", &partstat);
    }
    match upper(property, "RSVP").as_deref() {
        Some("YES") => replace_param(property, "RSVP", "RSVP", "TRUE"),
        Some("NO") => replace_param(property, "RSVP", "RSVP", "FALSE"),
        _ => {}
    }
    let address = property.text_value();
    if address.contains('@') && !address.contains(':') {
        set_value(property, &format!("mailto:{}", address.trim()));
    }
}

/// iCalendar ATTENDEE/ORGANIZER to the vCalendar 1.0 form.
fn attendee_to_vcal(property: &mut Property) {
    if property.name == "ORGANIZER" {
        property.name = "ATTENDEE".into();
        property
            .params
            .insert(0, Param::new("ROLE", &["ORGANIZER"]));
    } else if let Some(role) = property.param_value("ROLE").map(|r| r.to_ascii_uppercase()) {
        let (vcal_role, expect) = match role.as_str() {
            "CHAIR" => ("OWNER", None),
            "OPT-PARTICIPANT" => ("ATTENDEE", Some("REQUEST")),
            "NON-PARTICIPANT" => ("ATTENDEE", Some("FYI")),
            _ => ("ATTENDEE", Some("REQUIRE")),
        };
        let position = property.params.iter().position(|p| p.name == "ROLE");
        replace_param(property, "ROLE", "ROLE", vcal_role);
        if let (Some(position), Some(expect)) = (position, expect) {
            property
                .params
                .insert(position + 1, Param::new("EXPECT", &[expect]));
        }
    }
    if let Some(partstat) = property
        .param_value("PARTSTAT")
        .map(|s| s.to_ascii_uppercase())
    {
        let status = match partstat.as_str() {
            "IN-PROCESS" => "NEEDS ACTION".to_string(),
            other => other.replace('-', " "),
        };
        replace_param(property, "PARTSTAT", "STATUS", &status);
    }
    match property
        .param_value("RSVP")
        .map(|r| r.to_ascii_uppercase())
        .as_deref()
    {
        Some("TRUE") => replace_param(property, "RSVP", "RSVP", "YES"),
        Some("FALSE") => replace_param(property, "RSVP", "RSVP", "NO"),
        _ => {}
    }
    let address = property.text_value();
    if let Some(rest) = address
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
        .map(|_| &address[7..])
    {
        set_value(property, rest);
    }
}

/// Removes TZID and places times where the phone wants them: times of a
/// zone made from TZ/DAYLIGHT stay local (TZ says which); others become UTC,
/// or local in the phone's zone when it has one (else in their own zone).
fn resolve_times(property: &mut Property, zones: &[TimeZone], target: TimeTarget<'_>) {
    property.remove_param("VALUE");
    let id = property.param_value("TZID").map(str::to_string);
    property.remove_param("TZID");
    let zone = id
        .as_deref()
        .and_then(|id| zones.iter().find(|z| z.id == id));
    if zone.is_some_and(|z| z.id.starts_with(VCAL_TZID_PREFIX)) {
        return;
    }
    let convert = |time: DateTime| -> DateTime {
        let utc = match zone {
            Some(zone) if !time.utc => zone.to_utc(&time),
            _ => time,
        };
        match target {
            TimeTarget::Utc => utc,
            TimeTarget::Local(Some(local)) if utc.utc => local.from_utc(&utc),
            // No zone for the phone: keep the time in the zone it names.
            TimeTarget::Local(_) => time,
        }
    };
    let converted: Vec<String> = property
        .list_items()
        .iter()
        .map(|item| match CalTime::parse(item) {
            Some(CalTime::DateTime(time)) => convert(time).basic(),
            _ => item.clone(),
        })
        .collect();
    set_value(property, &converted.join(","));
}
