//! SIF-E (`<appointment>`) ↔ VEVENT and SIF-T (`<task>`) ↔ VTODO.
//!
//! Times: SIF writes UTC (`20070101T100000Z`) or, for all-day appointments and most task
//! dates, plain dates (`2007-01-01`), where an all-day appointment's End is its last day
//! (iCalendar's DTEND is the day after). Times with a TZID are written in UTC. A reminder
//! is one VALARM (DISPLAY); Outlook's busy status, sensitivity and importance go to
//! X-MICROSOFT-CDO-BUSYSTATUS/TRANSP, CLASS and PRIORITY.

use super::recurrence;
use super::{calendar_around, categories_of, categories_property, SifDocument, SifKind, SifWriter};
use crate::pim::calendar::AlarmTrigger;
use crate::pim::calendar::{Calendar, CalendarItem};
use crate::pim::content::{Component, Property};
use crate::pim::datetime::{self, CalTime, Date, DateTime};

const BUSY: [&str; 4] = ["FREE", "TENTATIVE", "BUSY", "OOF"];
const CLASSES: [&str; 4] = ["PUBLIC", "X-PERSONAL", "PRIVATE", "CONFIDENTIAL"];
/// Task Status 3 and 4 have no iCalendar STATUS: they are kept beside NEEDS-ACTION.
const TASK_STATUS_EXTRA: &str = "X-OUTLOOK-TASK-STATUS";

/// A SIF-E or SIF-T document as a VCALENDAR 2.0 holding one VEVENT or VTODO.
pub fn to_calendar(document: &SifDocument) -> Result<Calendar, String> {
    let item = match document.kind {
        SifKind::Task => task(document)?,
        _ => event(document)?,
    };
    Ok(Calendar {
        component: calendar_around(item),
    })
}

fn event(document: &SifDocument) -> Result<Component, String> {
    let mut event = Component::new("VEVENT");
    common_texts(document, &mut event);
    let all_day = document.flag("AllDayEvent");
    let start = document
        .get("Start")
        .map(|text| read_time("Start", text, all_day))
        .transpose()?
        .ok_or("SIF appointment without Start")?;
    let end = match document.get("End") {
        Some(text) => Some(read_time("End", text, all_day)?),
        None => document
            .number("Duration")
            .map(|minutes| add_seconds(start, minutes * 60)),
    };
    // All-day: SIF's End is the last day, DTEND the day after it.
    let end = match (start, end) {
        (CalTime::Date(first), Some(CalTime::Date(last))) if last >= first => {
            Some(CalTime::Date(last.add_days(1)))
        }
        (CalTime::Date(first), _) => Some(CalTime::Date(first.add_days(1))),
        (_, end) => end,
    };
    event.properties.push(time_property("DTSTART", start));
    if let Some(end) = end {
        event.properties.push(time_property("DTEND", end));
    }
    if let Some(status) = document.number("BusyStatus").and_then(|b| pick(&BUSY, b)) {
        event
            .properties
            .push(Property::text("X-MICROSOFT-CDO-BUSYSTATUS", status));
        let transparency = if status == "FREE" {
            "TRANSPARENT"
        } else {
            "OPAQUE"
        };
        event
            .properties
            .push(Property::text("TRANSP", transparency));
    }
    recurrence_in(document, start, &mut event)?;
    if document.flag("ReminderSet") {
        let minutes = document.number("ReminderMinutesBeforeStart").unwrap_or(15);
        let trigger = datetime::format_duration(-minutes.saturating_mul(60));
        event
            .components
            .push(alarm(Property::raw("TRIGGER", &trigger)));
    }
    Ok(event)
}

fn task(document: &SifDocument) -> Result<Component, String> {
    let mut task = Component::new("VTODO");
    common_texts(document, &mut task);
    let optional_time = |name: &str| -> Result<Option<CalTime>, String> {
        document
            .get(name)
            .map(|text| read_time(name, text, false))
            .transpose()
            // Outlook's "None" date is in the year 4501.
            .map(|time| time.filter(|t| t.date().year < 4000))
    };
    let start = optional_time("StartDate")?;
    let due = optional_time("DueDate")?;
    if let Some(start) = start {
        task.properties.push(time_property("DTSTART", start));
    }
    if let Some(due) = due {
        task.properties.push(time_property("DUE", due));
    }
    let status = match (document.flag("Complete"), document.number("Status")) {
        (true, _) | (false, Some(2)) => Some("COMPLETED"),
        (false, Some(1)) => Some("IN-PROCESS"),
        (false, Some(0 | 3 | 4)) => Some("NEEDS-ACTION"),
        _ => None,
    };
    if let Some(status) = status {
        task.properties.push(Property::text("STATUS", status));
    }
    match document.number("Status") {
        Some(3) => task
            .properties
            .push(Property::text(TASK_STATUS_EXTRA, "WAITING")),
        Some(4) => task
            .properties
            .push(Property::text(TASK_STATUS_EXTRA, "DEFERRED")),
        _ => {}
    }
    if let Some(done) = optional_time("DateCompleted")? {
        // COMPLETED is a UTC date-time.
        let at = match done {
            CalTime::DateTime(at) => DateTime { utc: true, ..at },
            CalTime::Date(date) => DateTime {
                date,
                hour: 0,
                minute: 0,
                second: 0,
                utc: true,
            },
        };
        task.properties
            .push(Property::raw("COMPLETED", &at.basic()));
    }
    if let Some(percent) = document.number("PercentComplete") {
        let percent = percent.clamp(0, 100);
        task.properties
            .push(Property::raw("PERCENT-COMPLETE", &percent.to_string()));
    }
    if let Some(base) = start.or(due) {
        recurrence_in(document, base, &mut task)?;
    }
    if document.flag("ReminderSet") {
        let at = document
            .get("ReminderTime")
            .and_then(DateTime::parse)
            .filter(|t| t.date.year < 4000);
        if let Some(at) = at {
            let trigger = Property::raw("TRIGGER", &at.basic()).with_param("VALUE", &["DATE-TIME"]);
            task.components.push(alarm(trigger));
        }
    }
    Ok(task)
}

/// Subject, Body, Location, Categories, Sensitivity and Importance, which events and tasks
/// share.
fn common_texts(document: &SifDocument, item: &mut Component) {
    for (field, property) in [
        ("Subject", "SUMMARY"),
        ("Body", "DESCRIPTION"),
        ("Location", "LOCATION"),
    ] {
        if let Some(text) = document.get(field) {
            item.properties.push(Property::text(property, text));
        }
    }
    if let Some(categories) = document.get("Categories").and_then(categories_property) {
        item.properties.push(categories);
    }
    if let Some(class) = document
        .number("Sensitivity")
        .and_then(|s| pick(&CLASSES, s))
    {
        item.properties.push(Property::text("CLASS", class));
    }
    // Outlook's low, normal, high.
    let priority = match document.number("Importance") {
        Some(0) => Some("9"),
        Some(1) => Some("5"),
        Some(2) => Some("1"),
        _ => None,
    };
    if let Some(priority) = priority {
        item.properties.push(Property::raw("PRIORITY", priority));
    }
}

fn recurrence_in(
    document: &SifDocument,
    start: CalTime,
    item: &mut Component,
) -> Result<(), String> {
    if !document.flag("IsRecurring") {
        return Ok(());
    }
    let rule = recurrence::rule(document, Some(start))?;
    item.properties
        .push(Property::raw("RRULE", &rule.to_ical()));
    for (field, property) in [
        ("Exceptions/ExcludeDate", "EXDATE"),
        ("Exceptions/IncludeDate", "RDATE"),
    ] {
        for text in document.all(field) {
            let Some(day) = CalTime::parse(text) else {
                return Err(format!("SIF {field} {text:?} is not a date"));
            };
            // Exceptions are written like the start (a date for a timed item is that day
            // at the start's time).
            let day = match (start, day) {
                (CalTime::Date(_), day) => CalTime::Date(day.date()),
                (CalTime::DateTime(at), CalTime::Date(date)) => {
                    CalTime::DateTime(DateTime { date, ..at })
                }
                (_, day) => day,
            };
            item.properties.push(time_property(property, day));
        }
    }
    Ok(())
}

fn alarm(trigger: Property) -> Component {
    let mut alarm = Component::new("VALARM");
    alarm.properties.push(Property::text("ACTION", "DISPLAY"));
    alarm
        .properties
        .push(Property::text("DESCRIPTION", "Reminder"));
    alarm.properties.push(trigger);
    alarm
}

fn pick(values: &[&'static str], index: i64) -> Option<&'static str> {
    usize::try_from(index)
        .ok()
        .and_then(|i| values.get(i).copied())
}

/// A SIF date or time; in an all-day appointment, its date.
fn read_time(field: &str, text: &str, date_only: bool) -> Result<CalTime, String> {
    let time = CalTime::parse(text)
        .ok_or_else(|| format!("SIF {field} {:?} is not a date or time", text.trim()))?;
    Ok(match date_only {
        true => CalTime::Date(time.date()),
        false => time,
    })
}

fn add_seconds(time: CalTime, seconds: i64) -> CalTime {
    match time {
        CalTime::Date(date) => CalTime::Date(date.add_days(seconds.div_euclid(86_400))),
        CalTime::DateTime(at) => CalTime::DateTime(at.add_seconds(seconds)),
    }
}

fn time_property(name: &str, time: CalTime) -> Property {
    let property = Property::raw(name, &time.basic());
    match time {
        CalTime::Date(_) => property.with_param("VALUE", &["DATE"]),
        CalTime::DateTime(_) => property,
    }
}

/// How SIF writes a time: dates `yyyy-MM-dd`, times in the basic form.
fn sif_time(time: CalTime) -> String {
    match time {
        CalTime::Date(Date { year, month, day }) => format!("{year:04}-{month:02}-{day:02}"),
        CalTime::DateTime(at) => at.basic(),
    }
}

/// A stored VEVENT as SIF-E.
pub fn event_to_sif(item: &CalendarItem) -> String {
    let component = &item.component;
    let mut sif = SifWriter::new(SifKind::Event);
    write_common(&mut sif, component);
    let start = item.time_in_utc("DTSTART");
    let end = item.time_in_utc("DTEND").or_else(|| {
        let seconds = datetime::parse_duration(&component.text_of("DURATION")?)?;
        Some(add_seconds(start?, seconds))
    });
    let all_day = matches!(start, Some(CalTime::Date(_)));
    let end = match (start, end) {
        // iCalendar's DTEND is the day after the last one.
        (Some(CalTime::Date(first)), Some(CalTime::Date(after))) if after > first => {
            Some(CalTime::Date(after.add_days(-1)))
        }
        (Some(CalTime::Date(first)), _) => Some(CalTime::Date(first)),
        (_, end) => end,
    };
    if let Some(start) = start {
        sif.field("Start", &sif_time(start));
    }
    if let Some(end) = end {
        sif.field("End", &sif_time(end));
    }
    sif.field("AllDayEvent", if all_day { "1" } else { "0" });
    let busy = component
        .text_of("X-MICROSOFT-CDO-BUSYSTATUS")
        .and_then(|b| BUSY.iter().position(|s| s.eq_ignore_ascii_case(b.trim())))
        .or_else(|| {
            let transparency = component.text_of("TRANSP")?;
            Some(
                match transparency.trim().eq_ignore_ascii_case("TRANSPARENT") {
                    true => 0,
                    false => 2,
                },
            )
        });
    if let Some(busy) = busy {
        sif.field("BusyStatus", &busy.to_string());
    }
    let reminder = start.and_then(|start| minutes_before(item, start));
    match reminder {
        Some(minutes) => {
            sif.field("ReminderSet", "1");
            sif.field("ReminderMinutesBeforeStart", &minutes.to_string());
        }
        None => sif.field("ReminderSet", "0"),
    }
    write_recurrence(&mut sif, item, start);
    sif.finish()
}

/// A stored VTODO as SIF-T.
pub fn task_to_sif(item: &CalendarItem) -> String {
    let component = &item.component;
    let mut sif = SifWriter::new(SifKind::Task);
    write_common(&mut sif, component);
    let start = item.time_in_utc("DTSTART");
    let due = item.time_in_utc("DUE");
    if let Some(start) = start {
        sif.field("StartDate", &sif_time(start));
    }
    if let Some(due) = due {
        sif.field("DueDate", &sif_time(due));
    }
    let status = component
        .text_of("STATUS")
        .map(|s| s.trim().to_ascii_uppercase());
    let extra = component
        .text_of(TASK_STATUS_EXTRA)
        .map(|s| s.trim().to_ascii_uppercase());
    let complete = status.as_deref() == Some("COMPLETED") || item.completed().is_some();
    sif.field("Complete", if complete { "1" } else { "0" });
    let code = match (status.as_deref(), extra.as_deref()) {
        (Some("COMPLETED"), _) => Some(2),
        (_, Some("WAITING")) => Some(3),
        (_, Some("DEFERRED")) => Some(4),
        (Some("IN-PROCESS"), _) => Some(1),
        (Some("NEEDS-ACTION"), _) => Some(0),
        _ => None,
    };
    if let Some(code) = code {
        sif.field("Status", &code.to_string());
    }
    if let Some(done) = item.completed() {
        sif.field("DateCompleted", &sif_time(done));
    }
    if let Some(percent) = component.text_of("PERCENT-COMPLETE") {
        sif.field("PercentComplete", percent.trim());
    }
    let reminder = item
        .alarms()
        .into_iter()
        .find_map(|alarm| match alarm.trigger {
            AlarmTrigger::Absolute(at) => Some(at),
            AlarmTrigger::Relative { offset, from_end } => {
                let base = if from_end { due } else { start.or(due) };
                Some(base?.to_date_time().add_seconds(offset))
            }
        });
    match reminder {
        Some(at) => {
            sif.field("ReminderSet", "1");
            sif.field("ReminderTime", &at.basic());
        }
        None => sif.field("ReminderSet", "0"),
    }
    write_recurrence(&mut sif, item, start.or(due));
    sif.finish()
}

fn write_common(sif: &mut SifWriter, component: &Component) {
    sif.field("Subject", &component.text_of("SUMMARY").unwrap_or_default());
    sif.field(
        "Body",
        &component.text_of("DESCRIPTION").unwrap_or_default(),
    );
    sif.field(
        "Location",
        &component.text_of("LOCATION").unwrap_or_default(),
    );
    sif.field("Categories", &categories_of(component));
    let class = component.text_of("CLASS").and_then(|c| {
        CLASSES
            .iter()
            .position(|s| s.eq_ignore_ascii_case(c.trim()))
    });
    if let Some(class) = class {
        sif.field("Sensitivity", &class.to_string());
    }
    let importance = component
        .text_of("PRIORITY")
        .and_then(|p| p.trim().parse::<u32>().ok())
        .and_then(|p| match p {
            1..=4 => Some("2"),
            5 => Some("1"),
            6..=9 => Some("0"),
            _ => None,
        });
    if let Some(importance) = importance {
        sif.field("Importance", importance);
    }
}

/// Minutes before the start of the item's first alarm.
fn minutes_before(item: &CalendarItem, start: CalTime) -> Option<i64> {
    let alarm = item.alarms().into_iter().next()?;
    let seconds = match alarm.trigger {
        AlarmTrigger::Relative {
            offset,
            from_end: false,
        } => -offset,
        AlarmTrigger::Relative { offset, .. } => {
            let end = item.time_in_utc("DTEND")?.to_date_time();
            start.to_date_time().timestamp() - end.add_seconds(offset).timestamp()
        }
        AlarmTrigger::Absolute(at) => start.to_date_time().timestamp() - at.timestamp(),
    };
    Some(seconds / 60)
}

fn write_recurrence(sif: &mut SifWriter, item: &CalendarItem, start: Option<CalTime>) {
    let fields = item.recurrence().and_then(|rule| {
        let until = rule.until.map(|until| match (start, until) {
            (Some(CalTime::Date(_)), until) => sif_time(CalTime::Date(until.date())),
            (_, until) => sif_time(item.in_utc_like_start(until)),
        });
        recurrence::fields(&rule, start, until)
    });
    let Some(fields) = fields else {
        // Without a rule, or with one Outlook cannot hold: a single occurrence.
        sif.field("IsRecurring", "0");
        return;
    };
    sif.field("IsRecurring", "1");
    for (name, value) in &fields {
        sif.field(name, value);
    }
    if let Some(start) = start {
        sif.field("PatternStartDate", &sif_time(start));
    }
    let mut exceptions: Vec<(&str, String)> = Vec::new();
    for (property, field) in [("EXDATE", "ExcludeDate"), ("RDATE", "IncludeDate")] {
        let days = item
            .component
            .properties_named(property)
            .flat_map(Property::list_items)
            .filter_map(|d| CalTime::parse(&d));
        for day in days {
            exceptions.push((field, sif_time(item.in_utc_like_start(day))));
        }
    }
    sif.container("Exceptions", &exceptions);
}
