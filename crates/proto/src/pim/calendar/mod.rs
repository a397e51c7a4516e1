//! vCalendar 1.0 and iCalendar 2.0: events, to-dos (journals pass through),
//! typed access, and conversion both ways: RRULE grammars, AALARM/DALARM/
//! PALARM/MALARM <-> VALARM, TZ/DAYLIGHT <-> VTIMEZONE or UTC, all-day
//! events as phones write them, vCalendar's empty DUE/COMPLETED.
//!
//! Here the types and typed access; alarms in `alarm`, the item conversions in `convert`.

use super::content::{self, Component, Property, WriteOptions};
use super::datetime::CalTime;
use super::error::ParseError;
use super::recurrence::Recurrence;
use super::timezone::{TimeZone, VCAL_TZID_PREFIX};

mod alarm;
mod convert;
#[cfg(test)]
mod tests;

pub use alarm::{Alarm, AlarmKind, AlarmTrigger};
use convert::{all_day_dates, item_to_ical, item_to_vcal};

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
pub struct CalendarItem {
    pub component: Component,
    pub version: CalendarVersion,
    pub zones: Vec<TimeZone>,
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

    pub fn items(&self) -> Vec<CalendarItem> {
        let zones = self.time_zones();
        self.component
            .components
            .iter()
            .filter(|c| is_item(&c.name))
            .map(|c| CalendarItem {
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

impl CalendarItem {
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
