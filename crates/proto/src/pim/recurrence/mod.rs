//! Recurrence rules: the vCalendar 1.0 grammar (`D1 #0`, `W2 MO TU
//! 20101231T000000Z`, `MD1 1 10 #5`, `MP1 1+ TH`, `YM1 6`, `YD1 100`) and
//! RFC 5545 RRULE, through one model.

use std::fmt;

use super::datetime::{CalTime, Date, DateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Secondly,
    Minutely,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// A BYDAY item: `MO`, `1TH`, `-1SU`. Weekday 0 = Monday ... 6 = Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekdayNum {
    pub ordinal: Option<i32>,
    pub weekday: u8,
}

/// How a rule ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub frequency: Frequency,
    pub interval: u32,
    /// Number of occurrences; `None` with `until: None` means forever.
    pub count: Option<u32>,
    pub until: Option<CalTime>,
    pub by_day: Vec<WeekdayNum>,
    pub by_month_day: Vec<i32>,
    pub by_month: Vec<u32>,
    pub by_year_day: Vec<i32>,
    /// RFC 5545 parts with no vCalendar 1.0 equivalent (BYSETPOS, BYHOUR,
    /// WKST...), kept verbatim in order.
    pub other: Vec<(String, String)>,
}

/// Why a rule could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn weekday_index(text: &str) -> Option<u8> {
    WEEKDAYS
        .iter()
        .position(|w| w.eq_ignore_ascii_case(text))
        .map(|i| i as u8)
}

fn error(text: impl Into<String>) -> RuleError {
    RuleError(text.into())
}

impl Recurrence {
    pub fn new(frequency: Frequency) -> Self {
        Recurrence {
            frequency,
            interval: 1,
            count: None,
            until: None,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
            by_year_day: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Parses an RFC 5545 RRULE value (`FREQ=WEEKLY;COUNT=10;BYDAY=MO,TU`).
    pub fn parse_ical(text: &str) -> Result<Recurrence, RuleError> {
        let mut frequency = None;
        let mut rule = Recurrence::new(Frequency::Daily);
        for part in text.trim().split(';').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| error(format!("rule part {part:?} has no '='")))?;
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim();
            let numbers = |v: &str| -> Result<Vec<i32>, RuleError> {
                v.split(',')
                    .map(|n| {
                        n.trim()
                            .trim_start_matches('+')
                            .parse::<i32>()
                            .map_err(|_| error(format!("{key}: {n:?} is not a number")))
                    })
                    .collect()
            };
            match key.as_str() {
                "FREQ" => {
                    frequency = Some(match value.to_ascii_uppercase().as_str() {
                        "SECONDLY" => Frequency::Secondly,
                        "MINUTELY" => Frequency::Minutely,
                        "HOURLY" => Frequency::Hourly,
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        "YEARLY" => Frequency::Yearly,
                        other => return Err(error(format!("unknown FREQ {other}"))),
                    })
                }
                "INTERVAL" => {
                    rule.interval = value
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| error(format!("bad INTERVAL {value}")))?
                }
                "COUNT" => {
                    rule.count = Some(
                        value
                            .parse()
                            .map_err(|_| error(format!("bad COUNT {value}")))?,
                    )
                }
                "UNTIL" => {
                    rule.until = Some(
                        CalTime::parse(value).ok_or_else(|| error(format!("bad UNTIL {value}")))?,
                    )
                }
                "BYDAY" => {
                    for item in value.split(',') {
                        rule.by_day.push(parse_ical_weekday(item)?);
                    }
                }
                "BYMONTHDAY" => rule.by_month_day = within(numbers(value)?, 31, "BYMONTHDAY")?,
                "BYYEARDAY" => rule.by_year_day = within(numbers(value)?, 366, "BYYEARDAY")?,
                "BYMONTH" => {
                    rule.by_month = numbers(value)?
                        .into_iter()
                        .map(|m| {
                            u32::try_from(m)
                                .ok()
                                .filter(|m| (1..=12).contains(m))
                                .ok_or_else(|| error(format!("BYMONTH {m} is no month")))
                        })
                        .collect::<Result<_, _>>()?
                }
                _ => rule.other.push((key, value.to_string())),
            }
        }
        rule.frequency = frequency.ok_or_else(|| error("RRULE without FREQ"))?;
        Ok(rule)
    }

    /// Writes the RFC 5545 form; INTERVAL only when it is not 1.
    pub fn to_ical(&self) -> String {
        let mut parts = vec![format!(
            "FREQ={}",
            match self.frequency {
                Frequency::Secondly => "SECONDLY",
                Frequency::Minutely => "MINUTELY",
                Frequency::Hourly => "HOURLY",
                Frequency::Daily => "DAILY",
                Frequency::Weekly => "WEEKLY",
                Frequency::Monthly => "MONTHLY",
                Frequency::Yearly => "YEARLY",
            }
        )];
        if self.interval != 1 {
            parts.push(format!("INTERVAL={}", self.interval));
        }
        if let Some(count) = self.count {
            parts.push(format!("COUNT={count}"));
        }
        if let Some(until) = &self.until {
            parts.push(format!("UNTIL={}", until.basic()));
        }
        let join = |items: Vec<String>| items.join(",");
        if !self.by_day.is_empty() {
            parts.push(format!(
                "BYDAY={}",
                join(
                    self.by_day
                        .iter()
                        .map(|d| format!(
                            "{}{}",
                            d.ordinal.map(|o| o.to_string()).unwrap_or_default(),
                            WEEKDAYS[d.weekday as usize]
                        ))
                        .collect()
                )
            ));
        }
        if !self.by_month_day.is_empty() {
            parts.push(format!(
                "BYMONTHDAY={}",
                join(self.by_month_day.iter().map(i32::to_string).collect())
            ));
        }
        if !self.by_year_day.is_empty() {
            parts.push(format!(
                "BYYEARDAY={}",
                join(self.by_year_day.iter().map(i32::to_string).collect())
            ));
        }
        if !self.by_month.is_empty() {
            parts.push(format!(
                "BYMONTH={}",
                join(self.by_month.iter().map(u32::to_string).collect())
            ));
        }
        for (key, value) in &self.other {
            parts.push(format!("{key}={value}"));
        }
        parts.join(";")
    }

    /// Parses a vCalendar 1.0 rule, see [`Recurrence::parse_vcal_at`]; the
    /// start date alone cannot turn a count into an end time.
    pub fn parse_vcal(text: &str, start: Option<Date>) -> Result<Recurrence, RuleError> {
        Recurrence::parse_vcal_at(text, start.map(CalTime::Date))
    }

    /// Parses a vCalendar 1.0 rule. `start` (the item's DTSTART) fills in
    /// what the 1.0 grammar leaves implicit and RFC 5545 does not: `MP1`
    /// without a position means "same weekday position as the start".
    /// Without a duration the 1.0 specification's default of `#2` applies.
    /// A 1.0 count (`#n`) counts intervals, not occurrences: for rules with
    /// several occurrences per interval (`W1 MO TU #4` is four weeks, eight
    /// meetings) it becomes an end at the close of the n-th interval.
    pub fn parse_vcal_at(text: &str, start_time: Option<CalTime>) -> Result<Recurrence, RuleError> {
        let start = start_time.map(|s| s.date());
        let mut tokens: Vec<&str> = text.split_whitespace().collect();
        if tokens.is_empty() {
            return Err(error("empty rule"));
        }
        let head = tokens.remove(0).to_ascii_uppercase();
        let (frequency, kind, interval_text) = if let Some(rest) = head.strip_prefix("MP") {
            (Frequency::Monthly, "MP", rest)
        } else if let Some(rest) = head.strip_prefix("MD") {
            (Frequency::Monthly, "MD", rest)
        } else if let Some(rest) = head.strip_prefix("YM") {
            (Frequency::Yearly, "YM", rest)
        } else if let Some(rest) = head.strip_prefix("YD") {
            (Frequency::Yearly, "YD", rest)
        } else if let Some(rest) = head.strip_prefix('W') {
            (Frequency::Weekly, "W", rest)
        } else if let Some(rest) = head.strip_prefix('D') {
            (Frequency::Daily, "D", rest)
        } else if let Some(rest) = head.strip_prefix('M') {
            (Frequency::Minutely, "M", rest)
        } else {
            return Err(error(format!("unknown rule type {head:?}")));
        };
        let mut rule = Recurrence::new(frequency);
        rule.interval = interval_text
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| error(format!("bad interval in {head:?}")))?;
        // The duration is the last token when it is `#n` or a date-time.
        rule.count = Some(2);
        if let Some(last) = tokens.last().copied() {
            if let Some(count) = last.strip_prefix('#') {
                let count: u32 = count
                    .parse()
                    .map_err(|_| error(format!("bad duration {last:?}")))?;
                rule.count = (count != 0).then_some(count);
                tokens.pop();
            } else if last.len() >= 8 && last.as_bytes()[0].is_ascii_digit() && last.contains('T') {
                rule.until = Some(
                    CalTime::parse(last).ok_or_else(|| error(format!("bad end date {last:?}")))?,
                );
                rule.count = None;
                tokens.pop();
            }
        }
        let mut pending_ordinals: Vec<i32> = Vec::new();
        let mut ordinal_used = false;
        for token in tokens {
            // `$` marks an occurrence modified elsewhere; it does not change
            // the rule itself.
            let token = token.trim_end_matches('$').to_ascii_uppercase();
            match kind {
                "W" | "D" => {
                    let weekday = weekday_index(&token)
                        .ok_or_else(|| error(format!("{token:?} is not a weekday")))?;
                    rule.by_day.push(WeekdayNum {
                        ordinal: None,
                        weekday,
                    });
                }
                "MP" => {
                    if let Some(weekday) = weekday_index(&token) {
                        if pending_ordinals.is_empty() {
                            return Err(error(format!("weekday {token} without position")));
                        }
                        for ordinal in &pending_ordinals {
                            rule.by_day.push(WeekdayNum {
                                ordinal: Some(*ordinal),
                                weekday,
                            });
                        }
                        ordinal_used = true;
                    } else {
                        if ordinal_used {
                            pending_ordinals.clear();
                            ordinal_used = false;
                        }
                        let position = parse_vcal_number(&token)?;
                        pending_ordinals
                            .push(within(vec![position], MAX_WEEK_POSITION, "MP position")?[0]);
                    }
                }
                "MD" => rule.by_month_day.push(if token == "LD" {
                    -1
                } else {
                    within(vec![parse_vcal_number(&token)?], 31, "month day")?[0]
                }),
                "YM" => rule.by_month.push(
                    u32::try_from(parse_vcal_number(&token)?)
                        .ok()
                        .filter(|m| (1..=12).contains(m))
                        .ok_or_else(|| error(format!("{token} is no month")))?,
                ),
                "YD" => rule
                    .by_year_day
                    .push(within(vec![parse_vcal_number(&token)?], 366, "year day")?[0]),
                _ => return Err(error(format!("unexpected {token:?}"))),
            }
        }
        if kind == "MP" && !ordinal_used {
            // `MP1` alone, or positions without a weekday: the start's weekday.
            let start = start.ok_or_else(|| error("MP rule without weekday or start date"))?;
            let ordinals = if pending_ordinals.is_empty() {
                vec![(start.day as i32 - 1) / 7 + 1]
            } else {
                pending_ordinals
            };
            for ordinal in ordinals {
                rule.by_day.push(WeekdayNum {
                    ordinal: Some(ordinal),
                    weekday: start.weekday() as u8,
                });
            }
        }
        if let (Some(count), Some(start_time)) = (rule.count, start_time) {
            if rule.occurrences_per_interval() > 1 {
                // An end past the year 9999 is no end.
                rule.until = rule.end_of_interval(start_time, count);
                rule.count = None;
            }
        }
        // Every twelfth month from the start is yearly in the start's month:
        // that is how the 1.0 grammar says "yearly on the first Monday of
        // August" (MP12 1+ MO) or "yearly on the 25th" (MD12 25).
        if rule.frequency == Frequency::Monthly && rule.interval % 12 == 0 {
            if let Some(start) = start {
                rule.frequency = Frequency::Yearly;
                rule.interval /= 12;
                rule.by_month = vec![start.month];
            }
        }
        Ok(rule)
    }

    /// How many occurrences one interval holds (a weekly rule on Monday and
    /// Tuesday: two).
    pub fn occurrences_per_interval(&self) -> usize {
        let days = (self.by_day.len() + self.by_month_day.len()).max(1);
        match self.frequency {
            Frequency::Weekly | Frequency::Daily => self.by_day.len().max(1),
            Frequency::Monthly => days,
            Frequency::Yearly if !self.by_year_day.is_empty() => self.by_year_day.len(),
            Frequency::Yearly => self.by_month.len().max(1) * days,
            _ => 1,
        }
    }

    /// The last moment of the `count`-th interval from `start` (weeks run
    /// Monday to Sunday), at the start's time of day; `None` past the year 9999.
    fn end_of_interval(&self, start: CalTime, count: u32) -> Option<CalTime> {
        let date = start.date();
        let steps = i64::from(count.saturating_sub(1)).checked_mul(i64::from(self.interval))?;
        // Days, months or years from the start, each bounded before it is used: no step
        // count a phone can send reaches past year 9999 without being caught here.
        let end = match self.frequency {
            Frequency::Weekly => {
                let days = steps
                    .checked_mul(7)?
                    .checked_add(6 - i64::from(date.weekday()))?;
                (days <= (LAST_YEAR + 1) * 366).then(|| date.add_days(days))?
            }
            Frequency::Monthly => {
                let months =
                    (i64::from(date.year) * 12 + i64::from(date.month) - 1).checked_add(steps)?;
                let year = months.div_euclid(12);
                (year <= LAST_YEAR).then_some(())?;
                let (year, month) = (year as i32, months.rem_euclid(12) as u32 + 1);
                Date::new(year, month, super::datetime::days_in_month(year, month))
            }
            Frequency::Yearly => {
                let year = i64::from(date.year).checked_add(steps)?;
                (year <= LAST_YEAR).then(|| Date::new(year as i32, 12, 31))?
            }
            _ => (steps <= (LAST_YEAR + 1) * 366).then(|| date.add_days(steps))?,
        };
        if i64::from(end.year) > LAST_YEAR {
            return None;
        }
        Some(match start {
            CalTime::Date(_) => CalTime::Date(end),
            CalTime::DateTime(time) => CalTime::DateTime(DateTime { date: end, ..time }),
        })
    }

    /// Whether the rule, started on `start`, has an occurrence on `day`.
    fn occurs_on(&self, start: Date, day: Date) -> bool {
        let interval = i64::from(self.interval);
        let weekday = day.weekday() as u8;
        let in_month = |day: Date| {
            let last = super::datetime::days_in_month(day.year, day.month) as i32;
            let by_day_ok = self.by_day.iter().any(|d| {
                d.weekday == weekday
                    && match d.ordinal {
                        None => true,
                        Some(n) if n > 0 => (day.day as i32 - 1) / 7 + 1 == n,
                        Some(n) => (last - day.day as i32) / 7 + 1 == -n,
                    }
            });
            let month_day_ok = self.by_month_day.iter().any(|&d| {
                if d > 0 {
                    d == day.day as i32
                } else {
                    last + d + 1 == day.day as i32
                }
            });
            match (self.by_day.is_empty(), self.by_month_day.is_empty()) {
                (true, true) => day.day == start.day,
                (false, true) => by_day_ok,
                (true, false) => month_day_ok,
                (false, false) => by_day_ok && month_day_ok,
            }
        };
        match self.frequency {
            Frequency::Daily => {
                (day.days_since_epoch() - start.days_since_epoch()) % interval == 0
                    && (self.by_day.is_empty() || self.by_day.iter().any(|d| d.weekday == weekday))
            }
            Frequency::Weekly => {
                let monday = |d: Date| d.days_since_epoch() - i64::from(d.weekday());
                (monday(day) - monday(start)) / 7 % interval == 0
                    && if self.by_day.is_empty() {
                        weekday == start.weekday() as u8
                    } else {
                        self.by_day.iter().any(|d| d.weekday == weekday)
                    }
            }
            Frequency::Monthly => {
                let months = |d: Date| i64::from(d.year) * 12 + i64::from(d.month);
                (months(day) - months(start)) % interval == 0 && in_month(day)
            }
            Frequency::Yearly => {
                if (i64::from(day.year) - i64::from(start.year)) % interval != 0 {
                    return false;
                }
                if !self.by_year_day.is_empty() {
                    let first = Date::new(day.year, 1, 1).days_since_epoch();
                    let length = if super::datetime::is_leap_year(day.year) {
                        366
                    } else {
                        365
                    };
                    let ordinal = (day.days_since_epoch() - first + 1) as i32;
                    return self.by_year_day.iter().any(|&d| {
                        if d > 0 {
                            d == ordinal
                        } else {
                            length + d + 1 == ordinal
                        }
                    });
                }
                let months: &[u32] = if self.by_month.is_empty() {
                    std::slice::from_ref(&start.month)
                } else {
                    &self.by_month
                };
                months.contains(&day.month) && in_month(day)
            }
            _ => false,
        }
    }

    /// The date of the `count`-th occurrence from `start` (the start being
    /// the first), searching at most fifty years ahead.
    pub fn nth_occurrence(&self, start: Date, count: u32) -> Option<Date> {
        if count == 0 || count > 5000 {
            return None;
        }
        let mut found = 0;
        for offset in 0..(50 * 366) {
            let day = start.add_days(offset);
            if offset == 0 || self.occurs_on(start, day) {
                found += 1;
                if found == count {
                    return Some(day);
                }
            }
        }
        None
    }

    /// The same rule with a count of occurrences replaced by the time of the
    /// last one, when the vCalendar 1.0 count (which counts intervals)
    /// would mean something else: several occurrences per interval.
    pub fn with_count_as_end(&self, start: CalTime) -> Result<Recurrence, RuleError> {
        let Some(count) = self.count else {
            return Ok(self.clone());
        };
        if self.occurrences_per_interval() <= 1 {
            return Ok(self.clone());
        }
        let last = self
            .nth_occurrence(start.date(), count)
            .ok_or_else(|| error("cannot find the last occurrence"))?;
        let mut rule = self.clone();
        rule.count = None;
        rule.until = Some(match start {
            CalTime::Date(_) => CalTime::Date(last),
            CalTime::DateTime(time) => CalTime::DateTime(DateTime { date: last, ..time }),
        });
        Ok(rule)
    }

    /// Writes the vCalendar 1.0 form for an item starting on `start`: yearly
    /// rules on a weekday position or a day of the start's month become
    /// `MP12`/`MD12` rules, which the 1.0 grammar can express.
    pub fn to_vcal_from(&self, start: Option<Date>) -> Result<String, RuleError> {
        let in_start_month = start.is_some_and(|s| self.by_month == [s.month]);
        let yearly_in_month = self.frequency == Frequency::Yearly
            && in_start_month
            && self.by_year_day.is_empty()
            && (!self.by_day.is_empty() || !self.by_month_day.is_empty());
        if !yearly_in_month {
            return self.to_vcal();
        }
        let mut monthly = self.clone();
        monthly.frequency = Frequency::Monthly;
        monthly.interval = self
            .interval
            .checked_mul(12)
            .ok_or_else(|| error("interval too large"))?;
        monthly.by_month.clear();
        monthly.to_vcal()
    }

    /// Writes the vCalendar 1.0 form, or says why the rule has none. A
    /// count of occurrences over several per interval has none (1.0 counts
    /// intervals): see [`Recurrence::with_count_as_end`].
    pub fn to_vcal(&self) -> Result<String, RuleError> {
        if let Some((key, _)) = self.other.iter().find(|(key, _)| key != "WKST") {
            return Err(error(format!("{key} has no vCalendar 1.0 form")));
        }
        if self.count.is_some() && self.occurrences_per_interval() > 1 {
            return Err(error("a count of occurrences over several per interval"));
        }
        let mut text = match self.frequency {
            Frequency::Daily if self.by_day.is_empty() => format!("D{}", self.interval),
            Frequency::Daily if self.interval == 1 => "W1".to_string(),
            Frequency::Weekly => format!("W{}", self.interval),
            Frequency::Monthly if !self.by_day.is_empty() => format!("MP{}", self.interval),
            Frequency::Monthly => format!("MD{}", self.interval),
            Frequency::Yearly if !self.by_year_day.is_empty() => format!("YD{}", self.interval),
            Frequency::Yearly => format!("YM{}", self.interval),
            Frequency::Minutely => format!("M{}", self.interval),
            other => return Err(error(format!("{other:?} rules have no vCalendar 1.0 form"))),
        };
        let mut push = |item: String| {
            text.push(' ');
            text.push_str(&item);
        };
        match self.frequency {
            Frequency::Daily | Frequency::Weekly => {
                if !self.by_month_day.is_empty() || !self.by_month.is_empty() {
                    return Err(error("weekly rule with month filters"));
                }
                for day in &self.by_day {
                    if day.ordinal.is_some() {
                        return Err(error("weekly rule with positioned weekdays"));
                    }
                    push(WEEKDAYS[day.weekday as usize].to_string());
                }
            }
            Frequency::Monthly if !self.by_day.is_empty() => {
                if !self.by_month_day.is_empty() {
                    return Err(error("monthly rule with both BYDAY and BYMONTHDAY"));
                }
                let mut previous: Option<i32> = None;
                for day in &self.by_day {
                    let ordinal = day
                        .ordinal
                        .ok_or_else(|| error("monthly BYDAY without position"))?;
                    if previous != Some(ordinal) {
                        push(format_vcal_number(ordinal, true));
                        previous = Some(ordinal);
                    }
                    push(WEEKDAYS[day.weekday as usize].to_string());
                }
            }
            Frequency::Monthly => {
                for day in &self.by_month_day {
                    push(format_vcal_number(*day, false));
                }
            }
            Frequency::Yearly => {
                if !self.by_day.is_empty() || !self.by_month_day.is_empty() {
                    return Err(error("yearly rule with day filters"));
                }
                if !self.by_year_day.is_empty() && !self.by_month.is_empty() {
                    return Err(error("yearly rule with both BYMONTH and BYYEARDAY"));
                }
                for month in &self.by_month {
                    push(month.to_string());
                }
                for day in &self.by_year_day {
                    push(format_vcal_number(*day, false));
                }
            }
            _ => {}
        }
        if self.frequency == Frequency::Daily && !self.by_day.is_empty() && self.interval != 1 {
            return Err(error("daily rule with interval and weekdays"));
        }
        match (&self.until, self.count) {
            (Some(until), _) => push(match until {
                CalTime::Date(date) => format!("{}T000000", date.basic()),
                CalTime::DateTime(_) => until.basic(),
            }),
            (None, Some(count)) => push(format!("#{count}")),
            (None, None) => push("#0".to_string()),
        }
        Ok(text)
    }
}

fn parse_ical_weekday(item: &str) -> Result<WeekdayNum, RuleError> {
    let item = item.trim();
    if item.len() < 2 || !item.is_ascii() {
        return Err(error(format!("bad BYDAY item {item:?}")));
    }
    let (number, day) = item.split_at(item.len() - 2);
    let weekday = weekday_index(day).ok_or_else(|| error(format!("bad weekday in {item:?}")))?;
    let ordinal = if number.is_empty() {
        None
    } else {
        let position: i32 = number
            .trim_start_matches('+')
            .parse()
            .map_err(|_| error(format!("bad BYDAY position in {item:?}")))?;
        Some(within(vec![position], MAX_WEEK_POSITION, "BYDAY position")?[0])
    };
    Ok(WeekdayNum { ordinal, weekday })
}

/// Weeks in a year: the farthest a BYDAY position (or a vCalendar `MP` one) reaches.
const MAX_WEEK_POSITION: i32 = 53;

/// The years a rule's end may fall in; a rule ending later has no end that a calendar
/// could show (the phone's `#4294967295`).
const LAST_YEAR: i64 = 9999;

/// Positions counted from either end, never 0 and at most `bound` away from it (RFC 5545's
/// ranges: 31 days of a month, 366 of a year, 53 weeks), so nothing computed from them
/// overflows.
fn within(values: Vec<i32>, bound: i32, what: &str) -> Result<Vec<i32>, RuleError> {
    match values
        .iter()
        .find(|v| **v == 0 || v.unsigned_abs() > bound as u32)
    {
        Some(bad) => Err(error(format!("{what} {bad} is out of range"))),
        None => Ok(values),
    }
}

/// `1`, `1+`, `2-` (vCalendar counts from the end with a trailing minus).
fn parse_vcal_number(token: &str) -> Result<i32, RuleError> {
    let (digits, negative) = match token.strip_suffix('-') {
        Some(d) => (d, true),
        None => (token.strip_suffix('+').unwrap_or(token), false),
    };
    let value: i32 = digits
        .parse()
        .map_err(|_| error(format!("{token:?} is not a number")))?;
    Ok(if negative { -value } else { value })
}

fn format_vcal_number(value: i32, with_plus: bool) -> String {
    if value < 0 {
        format!("{}-", value.unsigned_abs())
    } else if with_plus {
        format!("{value}+")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests;
