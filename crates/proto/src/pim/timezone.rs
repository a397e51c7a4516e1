//! Time zones as items carry them: iCalendar VTIMEZONE (observances with
//! yearly rules) and vCalendar 1.0 TZ/DAYLIGHT, both ways, and the UTC
//! offset in force at a local time.

use super::content::{Component, Property};
use super::datetime::{self, days_in_month, CalTime, Date, DateTime};
use super::recurrence::{Frequency, Recurrence};

/// TZIDs of zones built from vCalendar 1.0 TZ/DAYLIGHT start with this, so
/// that converting back writes the same TZ/DAYLIGHT lines.
pub const VCAL_TZID_PREFIX: &str = "vCalendar TZ ";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observance {
    pub daylight: bool,
    /// Onset in the local time in force before it (`offset_from`).
    pub start: DateTime,
    pub offset_from: i64,
    pub offset_to: i64,
    pub name: Option<String>,
    pub rule: Option<Recurrence>,
    pub extra_onsets: Vec<DateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    pub id: String,
    pub observances: Vec<Observance>,
}

impl TimeZone {
    /// Reads a VTIMEZONE component; `None` without TZID or observances.
    pub fn from_component(component: &Component) -> Option<TimeZone> {
        let id = component.text_of("TZID")?;
        let mut observances = Vec::new();
        for child in &component.components {
            let daylight = match child.name.as_str() {
                "DAYLIGHT" => true,
                "STANDARD" => false,
                _ => continue,
            };
            let offset = |name: &str| {
                child
                    .text_of(name)
                    .and_then(|v| datetime::parse_utc_offset(&v))
            };
            let offset_to = offset("TZOFFSETTO")?;
            observances.push(Observance {
                daylight,
                start: CalTime::parse(&child.text_of("DTSTART")?)?.to_date_time(),
                offset_from: offset("TZOFFSETFROM").unwrap_or(offset_to),
                offset_to,
                name: child.text_of("TZNAME"),
                rule: child
                    .text_of("RRULE")
                    .and_then(|r| Recurrence::parse_ical(&r).ok()),
                extra_onsets: child
                    .properties_named("RDATE")
                    .flat_map(|p| p.list_items())
                    .filter_map(|d| CalTime::parse(&d).map(|t| t.to_date_time()))
                    .collect(),
            });
        }
        (!observances.is_empty()).then_some(TimeZone { id, observances })
    }

    /// The UTC offset (seconds east) in force at a local wall-clock time.
    pub fn offset_at_local(&self, local: &DateTime) -> i64 {
        let mut best: Option<(i64, i64)> = None;
        for observance in &self.observances {
            if let Some(onset) = latest_onset(observance, local) {
                if best.is_none_or(|(time, _)| onset > time) {
                    best = Some((onset, observance.offset_to));
                }
            }
        }
        match best {
            Some((_, offset)) => offset,
            None => self
                .observances
                .iter()
                .min_by_key(|o| o.start)
                .map_or(0, |o| o.offset_from),
        }
    }

    /// Converts a local time in this zone to UTC.
    pub fn to_utc(&self, local: &DateTime) -> DateTime {
        let offset = self.offset_at_local(local);
        let mut utc = DateTime::from_timestamp(local.timestamp() - offset, true);
        utc.utc = true;
        utc
    }

    /// Converts a UTC time to local wall-clock time in this zone.
    pub fn from_utc(&self, utc: &DateTime) -> DateTime {
        // The offset depends on local time: guess with the offset in force
        // at the UTC wall clock, then correct once.
        let guess = self.offset_at_local(&DateTime { utc: false, ..*utc });
        let local = DateTime::from_timestamp(utc.timestamp() + guess, false);
        let offset = self.offset_at_local(&local);
        DateTime::from_timestamp(utc.timestamp() + offset, false)
    }

    /// A zone with one fixed offset (seconds east of UTC).
    pub fn fixed(id: &str, offset: i64) -> TimeZone {
        TimeZone {
            id: id.to_string(),
            observances: vec![Observance {
                daylight: false,
                start: DateTime {
                    date: Date::new(1970, 1, 1),
                    hour: 0,
                    minute: 0,
                    second: 0,
                    utc: false,
                },
                offset_from: offset,
                offset_to: offset,
                name: None,
                rule: None,
                extra_onsets: Vec::new(),
            }],
        }
    }

    /// Builds a zone from vCalendar 1.0 `TZ` and `DAYLIGHT` properties.
    pub fn from_vcal(tz: &str, daylights: &[Property]) -> Option<TimeZone> {
        let standard = datetime::parse_utc_offset(tz)?;
        let mut observances = vec![Observance {
            daylight: false,
            start: DateTime::parse("19700101T000000")?,
            offset_from: standard,
            offset_to: standard,
            name: None,
            rule: None,
            extra_onsets: Vec::new(),
        }];
        for daylight in daylights {
            let parts = daylight.components();
            if !parts
                .first()
                .is_some_and(|flag| flag.trim().eq_ignore_ascii_case("TRUE"))
            {
                continue;
            }
            let part = |i: usize| parts.get(i).map(|s| s.trim()).unwrap_or("");
            let Some(summer) = datetime::parse_utc_offset(part(1)) else {
                continue;
            };
            let (Some(begin), Some(end)) = (DateTime::parse(part(2)), DateTime::parse(part(3)))
            else {
                continue;
            };
            let to_local = |time: DateTime, offset: i64| {
                if time.utc {
                    DateTime::from_timestamp(time.timestamp() + offset, false)
                } else {
                    time
                }
            };
            let name = |text: &str| (!text.is_empty()).then(|| text.to_string());
            observances.push(Observance {
                daylight: true,
                start: to_local(begin, standard),
                offset_from: standard,
                offset_to: summer,
                name: name(part(5)),
                rule: None,
                extra_onsets: Vec::new(),
            });
            observances.push(Observance {
                daylight: false,
                start: to_local(end, summer),
                offset_from: summer,
                offset_to: standard,
                name: name(part(4)),
                rule: None,
                extra_onsets: Vec::new(),
            });
        }
        Some(TimeZone {
            id: format!("{VCAL_TZID_PREFIX}{}", tz.trim()),
            observances,
        })
    }

    /// Writes vCalendar 1.0 `TZ` and `DAYLIGHT` values: the standard offset,
    /// then one DAYLIGHT per summer period, each from a summer onset to the
    /// first standard onset after it (the next year's, south of the
    /// equator). Explicit onsets are all written; yearly rules are expanded
    /// for `years`.
    pub fn to_vcal(&self, years: impl IntoIterator<Item = i32>) -> (String, Vec<String>) {
        let standard = self
            .observances
            .iter()
            .filter(|o| !o.daylight)
            .max_by_key(|o| o.start)
            .or_else(|| self.observances.first())
            .map_or(0, |o| o.offset_to);
        let has_rules = self.observances.iter().any(|o| o.rule.is_some());
        let mut summer_onsets: Vec<(DateTime, &Observance)> = Vec::new();
        if has_rules {
            for year in years {
                summer_onsets.extend(
                    self.observances
                        .iter()
                        .filter(|o| o.daylight)
                        .filter_map(|o| onset_in_year(o, year).map(|t| (t, o))),
                );
            }
        } else {
            for observance in self.observances.iter().filter(|o| o.daylight) {
                summer_onsets.extend(
                    std::iter::once(observance.start)
                        .chain(observance.extra_onsets.iter().copied())
                        .map(|t| (t, observance)),
                );
            }
        }
        summer_onsets.sort_by_key(|(t, _)| *t);
        let mut lines = Vec::new();
        for (begin, summer) in summer_onsets {
            let year = begin.date.year;
            let end = self
                .observances
                .iter()
                .filter(|o| !o.daylight)
                .flat_map(|o| {
                    let explicit = std::iter::once(o.start)
                        .chain(o.extra_onsets.iter().copied())
                        .map(move |t| (t, o));
                    let ruled = [year, year + 1].into_iter().filter_map(move |y| {
                        o.rule.as_ref().and(onset_in_year(o, y)).map(|t| (t, o))
                    });
                    explicit.chain(ruled)
                })
                .filter(|(t, _)| *t > begin)
                .min_by_key(|(t, _)| *t);
            let Some((end, winter)) = end else {
                continue;
            };
            let begin_utc = DateTime::from_timestamp(begin.timestamp() - summer.offset_from, true);
            let end_utc = DateTime::from_timestamp(end.timestamp() - winter.offset_from, true);
            lines.push(format!(
                "TRUE;{};{};{};{};{}",
                format_vcal_offset(summer.offset_to),
                begin_utc.basic(),
                end_utc.basic(),
                winter.name.as_deref().unwrap_or(""),
                summer.name.as_deref().unwrap_or("")
            ));
        }
        (format_vcal_offset(standard), lines)
    }

    /// The VTIMEZONE component for this zone.
    pub fn to_component(&self) -> Component {
        let mut zone = Component::new("VTIMEZONE");
        zone.properties.push(Property::text("TZID", &self.id));
        for observance in &self.observances {
            let mut child = Component::new(if observance.daylight {
                "DAYLIGHT"
            } else {
                "STANDARD"
            });
            child
                .properties
                .push(Property::raw("DTSTART", &observance.start.basic()));
            if let Some(rule) = &observance.rule {
                child
                    .properties
                    .push(Property::raw("RRULE", &rule.to_ical()));
            }
            child.properties.push(Property::raw(
                "TZOFFSETFROM",
                &datetime::format_utc_offset(observance.offset_from),
            ));
            child.properties.push(Property::raw(
                "TZOFFSETTO",
                &datetime::format_utc_offset(observance.offset_to),
            ));
            if let Some(name) = &observance.name {
                child.properties.push(Property::text("TZNAME", name));
            }
            zone.components.push(child);
        }
        zone
    }
}

/// `+01`, `-0530`: vCalendar 1.0 writes whole hours without minutes.
fn format_vcal_offset(seconds: i64) -> String {
    let text = datetime::format_utc_offset(seconds);
    match text.strip_suffix("00") {
        Some(hours) => hours.to_string(),
        None => text,
    }
}

/// The onset of an observance in a given year, if it has one then.
fn onset_in_year(observance: &Observance, year: i32) -> Option<DateTime> {
    let mut candidates: Vec<DateTime> = observance
        .extra_onsets
        .iter()
        .chain(std::iter::once(&observance.start))
        .filter(|t| t.date.year == year)
        .copied()
        .collect();
    if let Some(rule) = &observance.rule {
        if year >= observance.start.date.year {
            if let Some(date) = yearly_rule_date(rule, &observance.start, year) {
                let mut onset = observance.start;
                onset.date = date;
                let within_until = rule.until.is_none_or(|until| onset.date <= until.date());
                if within_until {
                    candidates.push(onset);
                }
            }
        }
    }
    candidates.into_iter().min()
}

/// The latest onset not after `local`, as a timestamp.
fn latest_onset(observance: &Observance, local: &DateTime) -> Option<i64> {
    let year = local.date.year;
    [year, year - 1]
        .into_iter()
        .filter_map(|y| {
            let mut all: Vec<DateTime> = observance
                .extra_onsets
                .iter()
                .chain(std::iter::once(&observance.start))
                .filter(|t| t.date.year == y)
                .copied()
                .collect();
            if let Some(onset) = onset_in_year(observance, y) {
                all.push(onset);
            }
            all.into_iter()
                .map(|t| t.timestamp())
                .filter(|t| *t <= local.timestamp())
                .max()
        })
        .max()
}

/// The date a yearly zone rule (`BYMONTH=10;BYDAY=-1SU`) falls on in `year`.
fn yearly_rule_date(rule: &Recurrence, start: &DateTime, year: i32) -> Option<Date> {
    if rule.frequency != Frequency::Yearly {
        return None;
    }
    let month = rule.by_month.first().copied().unwrap_or(start.date.month);
    if let Some(day) = rule.by_day.first() {
        let ordinal = day.ordinal.unwrap_or(1);
        return nth_weekday(year, month, day.weekday as u32, ordinal);
    }
    let day = rule
        .by_month_day
        .first()
        .map_or(start.date.day as i32, |d| *d);
    let last = days_in_month(year, month) as i32;
    if day.unsigned_abs() > 31 {
        return None;
    }
    let day = if day < 0 { last + day + 1 } else { day };
    (1..=last)
        .contains(&day)
        .then(|| Date::new(year, month, day as u32))
}

/// The `ordinal`-th (negative: from the end) `weekday` of a month.
pub fn nth_weekday(year: i32, month: u32, weekday: u32, ordinal: i32) -> Option<Date> {
    let last = days_in_month(year, month);
    // A month has at most five of each weekday.
    if last == 0 || ordinal == 0 || ordinal.unsigned_abs() > 5 || weekday > 6 {
        return None;
    }
    let day = if ordinal > 0 {
        let first = Date::new(year, month, 1).weekday();
        1 + (weekday + 7 - first) % 7 + (ordinal as u32 - 1) * 7
    } else {
        let last_weekday = Date::new(year, month, last).weekday();
        let from_end = (last_weekday + 7 - weekday) % 7 + (ordinal.unsigned_abs() - 1) * 7;
        if from_end >= last {
            return None;
        }
        last - from_end
    };
    (day <= last).then(|| Date::new(year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pim::content::parse_object;

    const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

    fn berlin() -> TimeZone {
        TimeZone::from_component(&parse_object(BERLIN.as_bytes()).unwrap().component).unwrap()
    }

    #[test]
    fn southern_summer_spans_the_new_year() {
        let sydney = TimeZone::from_component(&parse_object(b"BEGIN:VTIMEZONE\r\nTZID:Sydney\r\nBEGIN:STANDARD\r\nDTSTART:20080406T030000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\r\nTZOFFSETFROM:+1100\r\nTZOFFSETTO:+1000\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:20081005T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=10\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1100\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n").unwrap().component).unwrap();
        let (tz, lines) = sydney.to_vcal(2009..=2009);
        assert_eq!(tz, "+10");
        assert_eq!(lines, ["TRUE;+11;20091003T160000Z;20100403T160000Z;;"]);
        let summer = DateTime::parse("20100115T120000").unwrap();
        assert_eq!(sydney.offset_at_local(&summer), 11 * 3600);
    }

    #[test]
    fn nth_weekdays() {
        assert_eq!(nth_weekday(2006, 3, 6, -1), Some(Date::new(2006, 3, 26)));
        assert_eq!(nth_weekday(2009, 11, 6, 1), Some(Date::new(2009, 11, 1)));
        assert_eq!(nth_weekday(2009, 3, 6, 2), Some(Date::new(2009, 3, 8)));
        assert_eq!(nth_weekday(2009, 2, 0, 5), None);
    }

    #[test]
    fn vtimezone_offsets_follow_the_rules() {
        let zone = berlin();
        let summer = DateTime::parse("20060406T160000").unwrap();
        assert_eq!(zone.to_utc(&summer).basic(), "20060406T140000Z");
        let winter = DateTime::parse("20060106T160000").unwrap();
        assert_eq!(zone.to_utc(&winter).basic(), "20060106T150000Z");
        let after_switch = DateTime::parse("20061029T040000").unwrap();
        assert_eq!(zone.offset_at_local(&after_switch), 3600);
        let utc = DateTime::parse("20060406T140000Z").unwrap();
        assert_eq!(zone.from_utc(&utc).basic(), "20060406T160000");
        let winter_utc = DateTime::parse("20061231T230000Z").unwrap();
        assert_eq!(zone.from_utc(&winter_utc).basic(), "20070101T000000");
    }

    #[test]
    fn vcal_tz_daylight_round_trip() {
        let daylight = Property::raw("DAYLIGHT", "TRUE;+02;20060326T010000Z;20061029T010000Z;;");
        let zone = TimeZone::from_vcal("+01", &[daylight]).unwrap();
        let local = DateTime::parse("20060406T100000").unwrap();
        assert_eq!(zone.to_utc(&local).basic(), "20060406T080000Z");
        let (tz, lines) = zone.to_vcal(2006..=2006);
        assert_eq!(tz, "+01");
        assert_eq!(lines, ["TRUE;+02;20060326T010000Z;20061029T010000Z;;"]);
        let several = [
            Property::raw("DAYLIGHT", "TRUE;+02;20060326T010000Z;20061029T010000Z;;"),
            Property::raw("DAYLIGHT", "TRUE;+02;20070325T010000Z;20071028T010000Z;;"),
        ];
        let zone = TimeZone::from_vcal("+0124", &several).unwrap();
        // Every explicit period is written back, whatever the items' years.
        let (tz, lines) = zone.to_vcal(2006..=2006);
        assert_eq!(tz, "+0124");
        assert_eq!(
            lines,
            [
                "TRUE;+02;20060326T010000Z;20061029T010000Z;;",
                "TRUE;+02;20070325T010000Z;20071028T010000Z;;"
            ]
        );
        let (_, from_rules) = berlin().to_vcal(2006..=2007);
        assert_eq!(
            from_rules,
            [
                "TRUE;+02;20060326T010000Z;20061029T010000Z;CET;CEST",
                "TRUE;+02;20070325T010000Z;20071028T010000Z;CET;CEST"
            ]
        );
    }
}
