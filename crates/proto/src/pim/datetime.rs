//! Dates, date-times and durations as vCard/vCalendar write them, with the
//! little calendar arithmetic the conversions need (no time zone database:
//! zones come from the items themselves).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// A date-time; `utc` is false for floating (local) times, whose zone, if
/// any, comes from a TZID parameter or the vCalendar TZ property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    pub date: Date,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub utc: bool,
}

/// DTSTART-like values: a date (all-day) or a date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalTime {
    Date(Date),
    DateTime(DateTime),
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Date {
    pub const fn new(year: i32, month: u32, day: u32) -> Self {
        Date { year, month, day }
    }

    /// `19700131` or `1970-01-31` (vCard 3.0 allows both).
    pub fn parse(text: &str) -> Option<Date> {
        let compact: String = text.trim().chars().filter(|c| *c != '-').collect();
        if compact.len() != 8 || !compact.is_ascii() {
            return None;
        }
        let date = Date {
            year: digits(&compact[0..4])? as i32,
            month: digits(&compact[4..6])?,
            day: digits(&compact[6..8])?,
        };
        (1..=12).contains(&date.month).then_some(())?;
        (1..=days_in_month(date.year, date.month))
            .contains(&date.day)
            .then_some(())?;
        Some(date)
    }

    /// `YYYYMMDD`.
    pub fn basic(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    pub fn days_since_epoch(&self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (year_of_era + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    pub fn add_days(&self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch().saturating_add(days))
    }

    /// 0 = Monday ... 6 = Sunday.
    pub fn weekday(&self) -> u32 {
        (self.days_since_epoch() + 3).rem_euclid(7) as u32
    }
}

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl DateTime {
    /// `20061005T080000Z`, `20061005T0800` or `2006-10-05T08:00:00Z`.
    pub fn parse(text: &str) -> Option<DateTime> {
        let text = text.trim();
        let (body, utc) = match text.strip_suffix(['Z', 'z']) {
            Some(body) => (body, true),
            None => (text, false),
        };
        let (date_part, time_part) = body.split_once(['T', 't'])?;
        let time: String = time_part.chars().filter(|c| *c != ':').collect();
        if !(time.len() == 4 || time.len() == 6) || !time.is_ascii() {
            return None;
        }
        let hour = digits(&time[0..2])?;
        let minute = digits(&time[2..4])?;
        let second = if time.len() == 6 {
            digits(&time[4..6])?
        } else {
            0
        };
        if hour > 24 || minute > 59 || second > 60 {
            return None;
        }
        Some(DateTime {
            date: Date::parse(date_part)?,
            hour,
            minute,
            second,
            utc,
        })
    }

    /// `YYYYMMDDTHHMMSS` with `Z` when UTC.
    pub fn basic(&self) -> String {
        format!(
            "{}T{:02}{:02}{:02}{}",
            self.date.basic(),
            self.hour,
            self.minute,
            self.second,
            if self.utc { "Z" } else { "" }
        )
    }

    /// Seconds since the epoch, reading the wall clock as if it were UTC.
    pub fn timestamp(&self) -> i64 {
        self.date.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    pub fn from_timestamp(seconds: i64, utc: bool) -> DateTime {
        let days = seconds.div_euclid(86_400);
        let rest = seconds.rem_euclid(86_400) as u32;
        DateTime {
            date: Date::from_days_since_epoch(days),
            hour: rest / 3600,
            minute: rest % 3600 / 60,
            second: rest % 60,
            utc,
        }
    }

    pub fn add_seconds(&self, seconds: i64) -> DateTime {
        DateTime::from_timestamp(self.timestamp().saturating_add(seconds), self.utc)
    }
}

impl CalTime {
    /// A DATE or DATE-TIME value.
    pub fn parse(text: &str) -> Option<CalTime> {
        let text = text.trim();
        if text.contains(['T', 't']) {
            DateTime::parse(text).map(CalTime::DateTime)
        } else {
            Date::parse(text).map(CalTime::Date)
        }
    }

    pub fn basic(&self) -> String {
        match self {
            CalTime::Date(date) => date.basic(),
            CalTime::DateTime(date_time) => date_time.basic(),
        }
    }

    pub fn date(&self) -> Date {
        match self {
            CalTime::Date(date) => *date,
            CalTime::DateTime(date_time) => date_time.date,
        }
    }

    /// As a date-time at midnight for dates.
    pub fn to_date_time(&self) -> DateTime {
        match self {
            CalTime::Date(date) => DateTime {
                date: *date,
                hour: 0,
                minute: 0,
                second: 0,
                utc: false,
            },
            CalTime::DateTime(date_time) => *date_time,
        }
    }
}

impl fmt::Display for CalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.basic())
    }
}

/// Parses an RFC 5545 duration (`-P1D`, `PT15M`, `P1W`, `-PT1H30M`) into
/// seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            '0'..='9' => number.push(c),
            'T' => in_time = true,
            unit => {
                let value: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                let factor = match (unit, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                total = total.checked_add(value.checked_mul(factor)?)?;
            }
        }
    }
    (any && number.is_empty()).then_some(sign * total)
}

/// Formats seconds as an RFC 5545 duration, in days when whole.
pub fn format_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let mut rest = seconds.unsigned_abs();
    if rest == 0 {
        return "PT0S".into();
    }
    if rest % 86_400 == 0 {
        return format!("{sign}P{}D", rest / 86_400);
    }
    let mut out = format!("{sign}P");
    if rest >= 86_400 {
        out.push_str(&format!("{}D", rest / 86_400));
        rest %= 86_400;
    }
    out.push('T');
    if rest >= 3600 {
        out.push_str(&format!("{}H", rest / 3600));
        rest %= 3600;
    }
    if rest >= 60 {
        out.push_str(&format!("{}M", rest / 60));
        rest %= 60;
    }
    if rest > 0 {
        out.push_str(&format!("{rest}S"));
    }
    out
}

/// Parses a UTC offset: `+0100`, `-07`, `+01:00`, `+0124` into seconds.
pub fn parse_utc_offset(text: &str) -> Option<i64> {
    let text = text.trim();
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body: String = text[1..].chars().filter(|c| *c != ':').collect();
    if !body.is_ascii() {
        return None;
    }
    let (hours, minutes, seconds) = match body.len() {
        1 | 2 => (digits(&body)?, 0, 0),
        4 => (digits(&body[0..2])?, digits(&body[2..4])?, 0),
        6 => (
            digits(&body[0..2])?,
            digits(&body[2..4])?,
            digits(&body[4..6])?,
        ),
        _ => return None,
    };
    Some(sign * i64::from(hours * 3600 + minutes * 60 + seconds))
}

/// Formats an offset as `+HHMM` (iCalendar) .
pub fn format_utc_offset(seconds: i64) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let rest = seconds.unsigned_abs();
    format!("{sign}{:02}{:02}", rest / 3600, rest % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_day_arithmetic() {
        for (date, days) in [
            (Date::new(1970, 1, 1), 0),
            (Date::new(2000, 3, 1), 11_017),
            (Date::new(1969, 12, 31), -1),
            (Date::new(2024, 2, 29), 19_782),
        ] {
            assert_eq!(date.days_since_epoch(), days);
            assert_eq!(Date::from_days_since_epoch(days), date);
        }
        assert_eq!(Date::new(2006, 10, 5).weekday(), 3); // a Thursday
    }

    #[test]
    fn parses_phone_date_forms() {
        assert_eq!(Date::parse("1970-10-15"), Some(Date::new(1970, 10, 15)));
        assert_eq!(Date::parse("19701015"), Some(Date::new(1970, 10, 15)));
        assert_eq!(Date::parse("19701315"), None);
        let time = DateTime::parse("20061005T080000Z").unwrap();
        assert!(time.utc);
        assert_eq!(time.basic(), "20061005T080000Z");
        assert_eq!(
            DateTime::parse("2007-10-28T23:51:51Z").unwrap().basic(),
            "20071028T235151Z"
        );
        assert_eq!(time.add_seconds(-86_400 * 6).basic(), "20060929T080000Z");
    }

    #[test]
    fn durations_and_offsets() {
        assert_eq!(parse_duration("-P1D"), Some(-86_400));
        assert_eq!(parse_duration("-PT1H30M"), Some(-5400));
        assert_eq!(parse_duration("P1W"), Some(604_800));
        assert_eq!(parse_duration("P"), None);
        assert_eq!(format_duration(-900), "-PT15M");
        assert_eq!(format_duration(86_400), "P1D");
        assert_eq!(parse_utc_offset("+0124"), Some(5040));
        assert_eq!(parse_utc_offset("+0é0"), None);
        assert_eq!(DateTime::parse("2006T0é000"), None);
        assert_eq!(DateTime::parse("20061005Taé000"), None);
        assert_eq!(Date::parse("2006é105"), None);
        assert_eq!(parse_utc_offset("-07"), Some(-25_200));
        assert_eq!(format_utc_offset(-25_200), "-0700");
    }
}
