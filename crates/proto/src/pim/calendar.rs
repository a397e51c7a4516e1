//! vCalendar 1.0 and iCalendar 2.0: events, to-dos (journals pass through),
//! typed access, and conversion both ways: RRULE grammars, AALARM/DALARM/
//! PALARM/MALARM <-> VALARM, TZ/DAYLIGHT <-> VTIMEZONE or UTC, all-day
//! events as phones write them, vCalendar's empty DUE/COMPLETED.

use super::content::{self, Component, Param, Property, Value, WriteOptions};
use super::datetime::{self, CalTime, Date, DateTime};
use super::error::ParseError;
use super::recurrence::Recurrence;
use super::timezone::{TimeZone, VCAL_TZID_PREFIX};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarVersion {
    V10,
    V20,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Event,
    Todo,
    Journal,
}

/// A VCALENDAR object with every property and component as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub component: Component,
}

/// One VEVENT/VTODO/VJOURNAL, with the zones its calendar defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub component: Component,
    pub version: CalendarVersion,
    pub zones: Vec<TimeZone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// AALARM / ACTION:AUDIO.
    Audio,
    /// DALARM / ACTION:DISPLAY.
    Display,
    /// PALARM / ACTION:PROCEDURE.
    Procedure,
    /// MALARM / ACTION:EMAIL.
    Email,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmTrigger {
    Absolute(DateTime),
    /// Seconds relative to the start (or the end/due when `from_end`).
    Relative {
        offset: i64,
        from_end: bool,
    },
}

/// An alarm in a form both vCalendar and iCalendar can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub kind: AlarmKind,
    pub trigger: AlarmTrigger,
    pub snooze: Option<i64>,
    pub repeat: Option<u32>,
    /// Sound, display text, procedure name or e-mail address.
    pub payload: Option<String>,
    /// Parameters of the payload (vCalendar `TYPE=X-EPOCSOUND`, FMTTYPE).
    pub payload_params: Vec<Param>,
    /// MALARM note / e-mail body.
    pub note: Option<String>,
}

/// How to write all-day events for a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllDayStyle {
    /// `DTSTART:20060405` `DTEND:20060406`.
    DateOnly,
    /// `DTSTART:20060405T000000` `DTEND:20060405T235900`.
    MidnightTo2359,
    /// `DTSTART:20060405T000000` `DTEND:20060406T000000`.
    MidnightToMidnight,
}

/// Options for writing vCalendar 1.0 for a phone (from its quirk profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcalOptions {
    /// Convert times with a TZID to UTC. When false, times are written as
    /// local times: in `local_zone` when given (UTC times too), else in the
    /// zone each time names.
    pub times_in_utc: bool,
    /// Write alarms as UTC times (Nokia, Sony Ericsson).
    pub alarms_in_utc: bool,
    pub all_day: AllDayStyle,
    /// The phone's (the user's) zone, for phones that need local times.
    pub local_zone: Option<TimeZone>,
}

impl Default for VcalOptions {
    fn default() -> Self {
        VcalOptions {
            times_in_utc: true,
            alarms_in_utc: true,
            all_day: AllDayStyle::DateOnly,
            local_zone: None,
        }
    }
}

/// Where times written for a phone should be.
#[derive(Debug, Clone, Copy)]
enum TimeTarget<'a> {
    Utc,
    Local(Option<&'a TimeZone>),
}

impl VcalOptions {
    fn item_target(&self) -> TimeTarget<'_> {
        if self.times_in_utc {
            TimeTarget::Utc
        } else {
            TimeTarget::Local(self.local_zone.as_ref())
        }
    }

    fn alarm_target(&self) -> TimeTarget<'_> {
        if self.alarms_in_utc {
            TimeTarget::Utc
        } else {
            self.item_target()
        }
    }
}

const TIME_PROPERTIES: [&str; 8] = [
    "DTSTART",
    "DTEND",
    "DUE",
    "RECURRENCE-ID",
    "EXDATE",
    "RDATE",
    "COMPLETED",
    "LAST-MODIFIED",
];
const ALARM_PROPERTIES: [&str; 4] = ["AALARM", "DALARM", "PALARM", "MALARM"];
const PRODID: &str = "-//handsync//handsync//EN";

fn is_item(name: &str) -> bool {
    matches!(name, "VEVENT" | "VTODO" | "VJOURNAL")
}

impl Calendar {
    pub fn parse_all(input: &[u8]) -> Result<Vec<Calendar>, ParseError> {
        Ok(content::parse_objects(input)?
            .into_iter()
            .map(|object| Calendar {
                component: object.component,
            })
            .collect())
    }

    pub fn parse(input: &[u8]) -> Result<Calendar, ParseError> {
        Ok(Calendar {
            component: content::parse_object(input)?.component,
        })
    }

    pub fn version(&self) -> CalendarVersion {
        match self.component.version() {
            Some(v) if v.starts_with('2') => CalendarVersion::V20,
            _ => CalendarVersion::V10,
        }
    }

    /// The zones the calendar defines: VTIMEZONEs, or TZ/DAYLIGHT.
    pub fn time_zones(&self) -> Vec<TimeZone> {
        let mut zones: Vec<TimeZone> = self
            .component
            .children_named("VTIMEZONE")
            .filter_map(TimeZone::from_component)
            .collect();
        if let Some(tz) = self.component.text_of("TZ") {
            let daylights: Vec<Property> = self
                .component
                .properties_named("DAYLIGHT")
                .cloned()
                .collect();
            zones.extend(TimeZone::from_vcal(&tz, &daylights));
        }
        zones
    }

    pub fn items(&self) -> Vec<Item> {
        let zones = self.time_zones();
        self.component
            .components
            .iter()
            .filter(|c| is_item(&c.name))
            .map(|c| Item {
                component: c.clone(),
                version: self.version(),
                zones: zones.clone(),
            })
            .collect()
    }

    pub fn write(&self) -> String {
        let options = match self.version() {
            CalendarVersion::V10 => WriteOptions::legacy(),
            CalendarVersion::V20 => WriteOptions::modern(),
        };
        content::write_component(&self.component, &options)
    }

    /// The same calendar as iCalendar 2.0, the form stored on the PC.
    pub fn to_ical20(&self) -> Calendar {
        if self.version() == CalendarVersion::V20 {
            return self.clone();
        }
        let zone = self.time_zones().into_iter().next();
        let mut calendar = Component::new("VCALENDAR");
        for property in &self.component.properties {
            match property.name.as_str() {
                "VERSION" => calendar.properties.push(Property::raw("VERSION", "2.0")),
                "TZ" | "DAYLIGHT" => {}
                _ => calendar.properties.push(property.clone()),
            }
        }
        if calendar.property("VERSION").is_none() {
            calendar
                .properties
                .insert(0, Property::raw("VERSION", "2.0"));
        }
        if calendar.property("PRODID").is_none() {
            calendar
                .properties
                .insert(1, Property::text("PRODID", PRODID));
        }
        if let Some(zone) = &zone {
            calendar.components.push(zone.to_component());
        }
        for child in &self.component.components {
            if is_item(&child.name) {
                calendar.components.push(item_to_ical(child, zone.as_ref()));
            } else {
                calendar.components.push(child.clone());
            }
        }
        Calendar {
            component: calendar,
        }
    }

    /// The same calendar as vCalendar 1.0, the form phones take.
    pub fn to_vcal10(&self, options: &VcalOptions) -> Calendar {
        if self.version() == CalendarVersion::V10 {
            return self.clone();
        }
        let zones = self.time_zones();
        let mut calendar = Component::new("VCALENDAR");
        for property in &self.component.properties {
            match property.name.as_str() {
                "VERSION" => calendar.properties.push(Property::raw("VERSION", "1.0")),
                _ => calendar.properties.push(property.clone()),
            }
        }
        // A zone that came from TZ/DAYLIGHT goes back there, and its times
        // stay local; any other zone's times are converted (to UTC).
        let vcal_zone = zones.iter().find(|z| z.id.starts_with(VCAL_TZID_PREFIX));
        if let Some(zone) = vcal_zone {
            let years = item_years(&self.component).into_iter().flatten();
            let (tz, daylights) = zone.to_vcal(years);
            calendar.properties.push(Property::raw("TZ", &tz));
            for daylight in daylights {
                calendar
                    .properties
                    .push(Property::raw("DAYLIGHT", &daylight));
            }
        }
        for child in &self.component.components {
            if is_item(&child.name) {
                calendar
                    .components
                    .push(item_to_vcal(child, &zones, options));
            } else if child.name != "VTIMEZONE" {
                calendar.components.push(child.clone());
            }
        }
        Calendar {
            component: calendar,
        }
    }
}

/// The years the items' start times fall in, for expanding DAYLIGHT rules
/// (`None` without any dated item).
fn item_years(calendar: &Component) -> Option<std::ops::RangeInclusive<i32>> {
    let years: Vec<i32> = calendar
        .components
        .iter()
        .filter(|c| is_item(&c.name))
        .filter_map(|c| c.text_of("DTSTART").and_then(|t| CalTime::parse(&t)))
        .map(|t| t.date().year)
        .collect();
    Some(*years.iter().min()?..=*years.iter().max()?)
}

impl Item {
    pub fn kind(&self) -> ItemKind {
        match self.component.name.as_str() {
            "VTODO" => ItemKind::Todo,
            "VJOURNAL" => ItemKind::Journal,
            _ => ItemKind::Event,
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        self.component.text_of(name).filter(|t| !t.is_empty())
    }

    pub fn summary(&self) -> Option<String> {
        self.text("SUMMARY")
    }

    pub fn description(&self) -> Option<String> {
        self.text("DESCRIPTION")
    }

    pub fn location(&self) -> Option<String> {
        self.text("LOCATION")
    }

    pub fn uid(&self) -> Option<String> {
        self.text("UID")
    }

    pub fn categories(&self) -> Vec<String> {
        self.component
            .properties_named("CATEGORIES")
            .flat_map(Property::list_items)
            .collect()
    }

    fn time(&self, name: &str) -> Option<CalTime> {
        CalTime::parse(&self.text(name)?)
    }

    pub fn start(&self) -> Option<CalTime> {
        self.time("DTSTART")
    }

    pub fn end(&self) -> Option<CalTime> {
        self.time("DTEND")
    }

    /// DUE of a to-do; vCalendar's empty `DUE:` reads as none.
    pub fn due(&self) -> Option<CalTime> {
        self.time("DUE")
    }

    pub fn completed(&self) -> Option<CalTime> {
        self.time("COMPLETED")
    }

    /// A time property as UTC, resolving TZID or the vCalendar TZ; floating
    /// times without a zone stay floating.
    pub fn time_in_utc(&self, name: &str) -> Option<CalTime> {
        let property = self.component.property(name)?;
        let time = CalTime::parse(&property.text_value())?;
        Some(match time {
            CalTime::DateTime(local) if !local.utc => match self.zone_for(property) {
                Some(zone) => CalTime::DateTime(zone.to_utc(&local)),
                None => time,
            },
            _ => time,
        })
    }

    /// A time from this item (e.g. a rule's UNTIL) as UTC, read in the zone
    /// of its DTSTART when floating.
    pub fn in_utc_like_start(&self, time: CalTime) -> CalTime {
        match time {
            CalTime::DateTime(local) if !local.utc => {
                match self
                    .component
                    .property("DTSTART")
                    .and_then(|p| self.zone_for(p))
                {
                    Some(zone) => CalTime::DateTime(zone.to_utc(&local)),
                    None => time,
                }
            }
            _ => time,
        }
    }

    fn zone_for(&self, property: &Property) -> Option<&TimeZone> {
        match property.param_value("TZID") {
            Some(id) => self.zones.iter().find(|z| z.id == id),
            None if self.version == CalendarVersion::V10 => self.zones.first(),
            None => None,
        }
    }

    /// True for date-only starts and the 00:00-23:59 form phones use.
    pub fn is_all_day(&self) -> bool {
        all_day_dates(&self.component).is_some()
    }

    /// The recurrence rule, in either grammar.
    pub fn recurrence(&self) -> Option<Recurrence> {
        let text = self.text("RRULE")?;
        match self.version {
            CalendarVersion::V10 => Recurrence::parse_vcal_at(&text, self.start()).ok(),
            CalendarVersion::V20 => Recurrence::parse_ical(&text).ok(),
        }
    }

    pub fn exception_dates(&self) -> Vec<CalTime> {
        self.component
            .properties_named("EXDATE")
            .flat_map(Property::list_items)
            .filter_map(|d| CalTime::parse(&d))
            .collect()
    }

    pub fn alarms(&self) -> Vec<Alarm> {
        match self.version {
            CalendarVersion::V10 => self
                .component
                .properties
                .iter()
                .filter_map(Alarm::from_vcal)
                .collect(),
            CalendarVersion::V20 => self
                .component
                .children_named("VALARM")
                .filter_map(Alarm::from_valarm)
                .collect(),
        }
    }

    /// Symbian's entry type (APPOINTMENT, EVENT, ANNIVERSARY, TODO, REMINDER).
    pub fn symbian_entry_type(&self) -> Option<String> {
        self.text("X-EPOCAGENDAENTRYTYPE")
    }
}

impl Alarm {
    /// Reads AALARM/DALARM/PALARM/MALARM: `runtime;snooze;repeat;payload`.
    pub fn from_vcal(property: &Property) -> Option<Alarm> {
        let kind = match property.name.as_str() {
            "AALARM" => AlarmKind::Audio,
            "DALARM" => AlarmKind::Display,
            "PALARM" => AlarmKind::Procedure,
            "MALARM" => AlarmKind::Email,
            _ => return None,
        };
        let parts = property.components();
        let part = |i: usize| parts.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
        let time = DateTime::parse(part(0)?)?;
        Some(Alarm {
            kind,
            trigger: AlarmTrigger::Absolute(time),
            snooze: part(1).and_then(datetime::parse_duration),
            repeat: part(2).and_then(|r| r.parse().ok()).filter(|r| *r > 0),
            payload: part(3).map(str::to_string),
            payload_params: property.params.clone(),
            note: part(4).map(str::to_string),
        })
    }

    /// Reads a VALARM component.
    pub fn from_valarm(component: &Component) -> Option<Alarm> {
        let kind = match component.text_of("ACTION")?.to_ascii_uppercase().as_str() {
            "AUDIO" => AlarmKind::Audio,
            "DISPLAY" => AlarmKind::Display,
            "PROCEDURE" => AlarmKind::Procedure,
            "EMAIL" => AlarmKind::Email,
            _ => return None,
        };
        let trigger_property = component.property("TRIGGER")?;
        let trigger_text = trigger_property.text_value();
        let trigger = match DateTime::parse(&trigger_text) {
            Some(time) => AlarmTrigger::Absolute(time),
            None => AlarmTrigger::Relative {
                offset: datetime::parse_duration(&trigger_text)?,
                from_end: trigger_property
                    .param_value("RELATED")
                    .is_some_and(|r| r.eq_ignore_ascii_case("END")),
            },
        };
        let (payload, payload_params, note) = match kind {
            AlarmKind::Display => (component.text_of("DESCRIPTION"), Vec::new(), None),
            AlarmKind::Email => (
                component
                    .text_of("ATTENDEE")
                    .map(|a| a.trim_start_matches("mailto:").to_string()),
                Vec::new(),
                component.text_of("DESCRIPTION"),
            ),
            _ => match component.property("ATTACH") {
                Some(attach) => (Some(attach.text_value()), attach.params.clone(), None),
                None => (None, Vec::new(), None),
            },
        };
        Some(Alarm {
            kind,
            trigger,
            snooze: component
                .text_of("DURATION")
                .and_then(|d| datetime::parse_duration(&d)),
            repeat: component.text_of("REPEAT").and_then(|r| r.parse().ok()),
            payload,
            payload_params,
            note,
        })
    }

    /// When the alarm rings, given the item's start (or end for alarms
    /// relative to the end).
    pub fn absolute_time(&self, base: Option<DateTime>) -> Option<DateTime> {
        match &self.trigger {
            AlarmTrigger::Absolute(time) => Some(*time),
            AlarmTrigger::Relative { offset, .. } => base.map(|b| b.add_seconds(*offset)),
        }
    }

    pub fn to_valarm(&self) -> Component {
        let mut alarm = Component::new("VALARM");
        let action = match self.kind {
            AlarmKind::Audio => "AUDIO",
            AlarmKind::Display => "DISPLAY",
            AlarmKind::Procedure => "PROCEDURE",
            AlarmKind::Email => "EMAIL",
        };
        alarm.properties.push(Property::raw("ACTION", action));
        alarm.properties.push(match &self.trigger {
            AlarmTrigger::Absolute(time) => {
                Property::raw("TRIGGER", &time.basic()).with_param("VALUE", &["DATE-TIME"])
            }
            AlarmTrigger::Relative { offset, from_end } => {
                let trigger = Property::raw("TRIGGER", &datetime::format_duration(*offset));
                if *from_end {
                    trigger.with_param("RELATED", &["END"])
                } else {
                    trigger
                }
            }
        });
        if let Some(snooze) = self.snooze {
            alarm.properties.push(Property::raw(
                "DURATION",
                &datetime::format_duration(snooze),
            ));
        }
        if let Some(repeat) = self.repeat {
            alarm
                .properties
                .push(Property::raw("REPEAT", &repeat.to_string()));
        }
        match (self.kind, &self.payload) {
            (AlarmKind::Display, Some(text)) => {
                alarm.properties.push(Property::text("DESCRIPTION", text))
            }
            (AlarmKind::Email, Some(address)) => alarm
                .properties
                .push(Property::text("ATTENDEE", &format!("mailto:{address}"))),
            (_, Some(payload)) => {
                let mut attach = Property::text("ATTACH", payload);
                attach.params = self.payload_params.clone();
                alarm.properties.push(attach);
            }
            (_, None) => {}
        }
        if let Some(note) = &self.note {
            alarm.properties.push(Property::text("DESCRIPTION", note));
        }
        alarm
    }

    /// Writes the vCalendar property, the run time made absolute against
    /// `base` (start, or end/due for `from_end`). `None` when a relative
    /// alarm has no base time.
    pub fn to_vcal(&self, start: Option<DateTime>, end: Option<DateTime>) -> Option<Property> {
        let time = match &self.trigger {
            AlarmTrigger::Absolute(time) => *time,
            AlarmTrigger::Relative { offset, from_end } => {
                let base = if *from_end {
                    end.or(start)
                } else {
                    start.or(end)
                }?;
                base.add_seconds(*offset)
            }
        };
        let name = match self.kind {
            AlarmKind::Audio => "AALARM",
            AlarmKind::Display => "DALARM",
            AlarmKind::Procedure => "PALARM",
            AlarmKind::Email => "MALARM",
        };
        let mut parts = vec![
            time.basic(),
            self.snooze
                .map(datetime::format_duration)
                .unwrap_or_default(),
            self.repeat.map(|r| r.to_string()).unwrap_or_default(),
            self.payload
                .as_deref()
                .map(content_escape)
                .unwrap_or_default(),
        ];
        if let Some(note) = &self.note {
            parts.push(content_escape(note));
        }
        while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
        let mut property = Property::raw(name, &parts.join(";"));
        property.params = self.payload_params.clone();
        Some(property)
    }
}

fn content_escape(text: &str) -> String {
    super::codec::escape_text(text)
}

/// The all-day span of an item, if it is one: (first day, day after last).
fn all_day_dates(item: &Component) -> Option<(Date, Option<Date>)> {
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
fn item_to_ical(item: &Component, zone: Option<&TimeZone>) -> Component {
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

fn item_to_vcal(item: &Component, zones: &[TimeZone], options: &VcalOptions) -> Component {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(text: &str) -> Calendar {
        Calendar::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn vcal_alarms_become_relative_valarms_and_back() {
        let phone = calendar("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nDTSTART:19811227T230000Z\r\nDTEND:19811228T225900Z\r\nSUMMARY:John\r\nDALARM:19811227T090000Z\r\nAALARM;TYPE=X-EPOCSOUND:19811227T090000Z;PT5M;2;beep\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let stored = phone.to_ical20();
        let event = &stored.items()[0];
        let alarms = event.alarms();
        assert_eq!(alarms.len(), 2);
        assert_eq!(
            alarms[1].trigger,
            AlarmTrigger::Relative {
                offset: -14 * 3600,
                from_end: false
            }
        );
        assert_eq!(alarms[1].snooze, Some(300));
        assert_eq!(alarms[1].repeat, Some(2));
        let written = stored.write();
        assert!(written.contains("TRIGGER:-PT14H"), "{written}");
        let back = Calendar::parse(written.as_bytes())
            .unwrap()
            .to_vcal10(&VcalOptions::default());
        let event = &back.component.components[0];
        assert_eq!(event.text_of("DALARM").unwrap(), "19811227T090000Z");
        let audio = event.property("AALARM").unwrap();
        assert_eq!(audio.escaped(), "19811227T090000Z;PT5M;2;beep");
        assert_eq!(audio.param_value("TYPE"), Some("X-EPOCSOUND"));
    }

    #[test]
    fn ical_zones_become_utc_for_phones() {
        let stored = calendar("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Berlin:20060406T160000\r\nDTEND;TZID=Berlin:20060406T163000\r\nEXDATE;TZID=Berlin:20060413T160000,20060420T160000\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:go\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let phone = stored.to_vcal10(&VcalOptions::default());
        let written = phone.write();
        assert!(written.contains("DTSTART:20060406T140000Z"), "{written}");
        assert!(
            written.contains("EXDATE:20060413T140000Z;20060420T140000Z"),
            "{written}"
        );
        assert!(written.contains("RRULE:W1 #4"), "{written}");
        assert!(
            written.contains("DALARM:20060406T134500Z;;;go"),
            "{written}"
        );
        assert!(!written.contains("VTIMEZONE"));
    }

    #[test]
    fn phones_wanting_local_time_get_it_in_their_zone() {
        let stored = calendar("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:20060406T140000Z\r\nDTEND:20060406T150000Z\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let options = VcalOptions {
            times_in_utc: false,
            alarms_in_utc: false,
            local_zone: Some(TimeZone::fixed("CEST", 7200)),
            ..VcalOptions::default()
        };
        let event = &stored.to_vcal10(&options).component.components[0];
        assert_eq!(event.text_of("DTSTART").unwrap(), "20060406T160000");
        assert_eq!(event.text_of("AALARM").unwrap(), "20060406T155000");
        let utc_alarms = VcalOptions {
            alarms_in_utc: true,
            ..options
        };
        let event = &stored.to_vcal10(&utc_alarms).component.components[0];
        assert_eq!(event.text_of("AALARM").unwrap(), "20060406T135000Z");
    }

    #[test]
    fn vcal_tz_and_daylight_round_trip_through_vtimezone() {
        let phone = calendar("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\nDAYLIGHT:TRUE;+02;20060326T010000Z;20061029T010000Z;;\r\nBEGIN:VEVENT\r\nDTSTART:20060406T100000\r\nDTEND:20060406T110000\r\nSUMMARY:local\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let stored = phone.to_ical20();
        let event = &stored.items()[0];
        assert_eq!(
            event.time_in_utc("DTSTART"),
            CalTime::parse("20060406T080000Z")
        );
        let back = Calendar::parse(stored.write().as_bytes())
            .unwrap()
            .to_vcal10(&VcalOptions::default());
        assert_eq!(back.component.text_of("TZ").unwrap(), "+01");
        assert_eq!(
            back.component
                .property("DAYLIGHT")
                .map(|p| p.escaped().to_string()),
            Some("TRUE;+02;20060326T010000Z;20061029T010000Z;;".into())
        );
        assert_eq!(
            back.component.components[0].text_of("DTSTART").unwrap(),
            "20060406T100000"
        );
    }

    #[test]
    fn all_day_events_in_each_phone_style() {
        let phone = calendar("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nDTSTART:20060405T000000\r\nDTEND:20060406T235900\r\nSUMMARY:two days\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        assert!(phone.items()[0].is_all_day());
        let stored = phone.to_ical20();
        let written = stored.write();
        assert!(written.contains("DTSTART;VALUE=DATE:20060405"), "{written}");
        assert!(written.contains("DTEND;VALUE=DATE:20060407"), "{written}");
        for (style, start, end) in [
            (AllDayStyle::DateOnly, "20060405", "20060407"),
            (
                AllDayStyle::MidnightTo2359,
                "20060405T000000",
                "20060406T235900",
            ),
            (
                AllDayStyle::MidnightToMidnight,
                "20060405T000000",
                "20060407T000000",
            ),
        ] {
            let options = VcalOptions {
                all_day: style,
                ..VcalOptions::default()
            };
            let back = stored.to_vcal10(&options);
            let event = &back.component.components[0];
            assert_eq!(event.text_of("DTSTART").unwrap(), start);
            assert_eq!(event.text_of("DTEND").unwrap(), end);
        }
    }

    #[test]
    fn symbian_day_entries_are_all_day() {
        let phone = calendar("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nDTSTART:20061005T000000\r\nDTEND:20061006T000000\r\nX-EPOCAGENDAENTRYTYPE:ANNIVERSARY\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20061005T000000\r\nDTEND:20061006T000000\r\nX-EPOCAGENDAENTRYTYPE:APPOINTMENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let items = phone.items();
        assert_eq!(
            items[0].symbian_entry_type().as_deref(),
            Some("ANNIVERSARY")
        );
        assert!(items[0].is_all_day());
        assert!(!items[1].is_all_day());
        let stored = phone.to_ical20().write();
        assert!(
            stored.contains("DTSTART;VALUE=DATE:20061005\r\nDTEND;VALUE=DATE:20061006"),
            "{stored}"
        );
        assert!(stored.contains("X-EPOCAGENDAENTRYTYPE:ANNIVERSARY"));
    }

    #[test]
    fn duration_becomes_an_end_for_phones() {
        let stored = calendar("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20050103\r\nDURATION:P1D\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20060406T140000Z\r\nDURATION:PT1H30M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let phone = stored.to_vcal10(&VcalOptions::default());
        let all_day = &phone.component.components[0];
        assert_eq!(all_day.text_of("DTEND").unwrap(), "20050104");
        assert!(all_day.property("DURATION").is_none());
        let timed = &phone.component.components[1];
        assert_eq!(timed.text_of("DTEND").unwrap(), "20060406T153000Z");
    }

    #[test]
    fn all_day_exceptions_follow_the_start() {
        let stored = calendar("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20060406\r\nDTEND;VALUE=DATE:20060407\r\nRRULE:FREQ=DAILY;UNTIL=20060412\r\nEXDATE;VALUE=DATE:20060408,20060409\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let options = VcalOptions {
            all_day: AllDayStyle::MidnightTo2359,
            ..VcalOptions::default()
        };
        let phone = stored.to_vcal10(&options);
        let written = phone.write();
        assert!(
            written.contains("EXDATE:20060408T000000;20060409T000000"),
            "{written}"
        );
        let back = Calendar::parse(written.as_bytes())
            .unwrap()
            .to_ical20()
            .write();
        assert!(
            back.contains("EXDATE;VALUE=DATE:20060408,20060409"),
            "{back}"
        );
        assert!(back.contains("DTSTART;VALUE=DATE:20060406"), "{back}");
    }

    #[test]
    fn empty_due_and_completed_and_status() {
        let phone = calendar("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:task\r\nDUE:\r\nCOMPLETED:\r\nSTATUS:NEEDS ACTION\r\nDCREATED:20080312T115041Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
        let todo = &phone.items()[0];
        assert_eq!(todo.kind(), ItemKind::Todo);
        assert_eq!(todo.due(), None);
        let stored = phone.to_ical20();
        let item = &stored.component.components[0];
        assert!(item.property("DUE").is_none() && item.property("COMPLETED").is_none());
        assert_eq!(item.text_of("STATUS").unwrap(), "NEEDS-ACTION");
        assert_eq!(item.text_of("CREATED").unwrap(), "20080312T115041Z");
        let back = stored.to_vcal10(&VcalOptions::default());
        assert_eq!(
            back.component.components[0].text_of("STATUS").unwrap(),
            "NEEDS ACTION"
        );
    }

    #[test]
    fn attendees_and_organizer_both_ways() {
        let phone = calendar("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nATTENDEE;ROLE=ORGANIZER;STATUS=NEEDS ACTION:boss@example.com\r\nATTENDEE;ROLE=ATTENDEE;STATUS=NEEDS ACTION;RSVP=YES;EXPECT=REQUEST:me@example.com\r\nTRANSP:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let stored = phone.to_ical20();
        let event = &stored.component.components[0];
        let organizer = event.property("ORGANIZER").unwrap();
        assert_eq!(organizer.text_value(), "mailto:boss@example.com");
        let attendee = event.property("ATTENDEE").unwrap();
        assert_eq!(attendee.param_value("ROLE"), Some("OPT-PARTICIPANT"));
        assert_eq!(attendee.param_value("PARTSTAT"), Some("NEEDS-ACTION"));
        assert_eq!(attendee.param_value("RSVP"), Some("TRUE"));
        assert!(attendee.param("EXPECT").is_none());
        assert_eq!(event.text_of("TRANSP").unwrap(), "TRANSPARENT");
        let back = stored.to_vcal10(&VcalOptions::default());
        let written = back.write();
        assert!(
            written.contains("ATTENDEE;ROLE=ORGANIZER;STATUS=NEEDS ACTION:boss@example.com"),
            "{written}"
        );
        assert!(
            written.contains(
                "ATTENDEE;ROLE=ATTENDEE;EXPECT=REQUEST;STATUS=NEEDS ACTION;RSVP=YES:me@example.com"
            ),
            "{written}"
        );
    }

    #[test]
    fn unrepresentable_rules_survive_both_ways() {
        let stored = calendar("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:20060406T140000Z\r\nRRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let phone = stored.to_vcal10(&VcalOptions::default());
        let event = &phone.component.components[0];
        assert!(event.property("RRULE").is_none());
        let again = phone.to_ical20();
        assert_eq!(
            again.component.components[0].text_of("RRULE").unwrap(),
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1"
        );
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use crate::pim::identity::calendar_key;
    use proptest::prelude::*;

    fn exercise(text: &str) {
        let Ok(calendar) = Calendar::parse(text.as_bytes()) else {
            return;
        };
        for item in calendar.items() {
            let _ = (item.recurrence(), item.alarms(), item.is_all_day());
            let _ = (item.time_in_utc("DTSTART"), calendar_key(&item));
        }
        let stored = calendar.to_ical20();
        let written = stored.write();
        let reparsed = Calendar::parse(written.as_bytes()).expect("own output parses");
        let local = VcalOptions {
            times_in_utc: false,
            alarms_in_utc: false,
            local_zone: Some(TimeZone::fixed("X", 3600)),
            all_day: AllDayStyle::MidnightTo2359,
        };
        for options in [VcalOptions::default(), local] {
            let phone = reparsed.to_vcal10(&options).write();
            Calendar::parse(phone.as_bytes()).expect("own output parses");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary values in time, rule, alarm and zone properties never
        /// make parsing or conversion panic, and our output always parses.
        #[test]
        fn arbitrary_vcal_values_never_panic(
            start in "(\\PC{0,20}|[0-9]{8}(T[0-9]{6}Z?)?)",
            rule in "(\\PC{0,30}|(D|W|MP|MD|YM|YD)[0-9]{1,3}( [0-9]{1,3}[+-]?| MO| SU| LD)*( #[0-9]{1,3}| [0-9]{8}T[0-9]{6}Z?)?)",
            alarm in "\\PC{0,40}",
            tz in "[+-]?[0-9:]{0,6}",
            daylight in "\\PC{0,60}",
        ) {
            exercise(&format!("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:{tz}\r\nDAYLIGHT:{daylight}\r\nBEGIN:VEVENT\r\nDTSTART:{start}\r\nDTEND:{start}\r\nRRULE:{rule}\r\nAALARM:{alarm}\r\nDALARM:{start};PT5M;2;x\r\nEXDATE:{start};{start}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"));
        }

        #[test]
        fn arbitrary_ical_values_never_panic(
            start in "(\\PC{0,20}|[0-9]{8}(T[0-9]{6}Z?)?)",
            rule in "(\\PC{0,30}|FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)(;(COUNT|INTERVAL|BYMONTHDAY|BYMONTH|BYYEARDAY)=-?[0-9]{1,11}|;BYDAY=-?[0-9]{0,11}(MO|SU)|;UNTIL=[0-9]{8})*)",
            trigger in "(\\PC{0,20}|-?P[0-9]{0,20}(D|W|T[0-9]{1,20}[HMS]))",
            offset in "[+-]?[0-9]{0,6}",
        ) {
            exercise(&format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Z\r\nBEGIN:STANDARD\r\nDTSTART:{start}\r\nRRULE:{rule}\r\nTZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Z:{start}\r\nDTEND;VALUE=DATE:{start}\r\nRRULE:{rule}\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:{trigger}\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"));
        }
    }
}
