//! Outlook's recurrence pattern as SIF writes it (RecurrenceType, Interval, DayOfWeekMask,
//! DayOfMonth, MonthOfYear, Instance, NoEndDate, PatternEndDate, Occurrences) and RRULE.

use super::SifDocument;
use crate::pim::datetime::{CalTime, Date, DateTime};
use crate::pim::recurrence::{Frequency, Recurrence, WeekdayNum};

// Outlook's OlRecurrenceType.
const DAILY: i64 = 0;
const WEEKLY: i64 = 1;
const MONTHLY: i64 = 2;
const MONTH_NTH: i64 = 3;
const YEARLY: i64 = 5;
const YEAR_NTH: i64 = 6;

/// DayOfWeekMask bits: Sunday 1, Monday 2 ... Saturday 64. Weekdays here count from
/// Monday (0), as in [`WeekdayNum`].
fn mask_bit(weekday: u8) -> i64 {
    1 << ((u32::from(weekday) + 1) % 7)
}

fn mask_days(mask: i64) -> Vec<u8> {
    (0..7u8).filter(|d| mask & mask_bit(*d) != 0).collect()
}

/// Outlook's Instance: 1–4, 5 for the last.
fn ordinal(instance: i64) -> Option<i32> {
    match instance {
        1..=4 => Some(instance as i32),
        5 => Some(-1),
        _ => None,
    }
}

/// The rule a recurring SIF item describes (`IsRecurring` set), with the start it repeats
/// from; `Err` when the pattern is not one Outlook writes.
pub(super) fn rule(document: &SifDocument, start: Option<CalTime>) -> Result<Recurrence, String> {
    let kind = document.number("RecurrenceType").unwrap_or(WEEKLY);
    let interval = document.number("Interval").filter(|i| *i > 0).unwrap_or(1);
    let mask = document.number("DayOfWeekMask").unwrap_or(0);
    let start_date = start.map(|s| s.date());
    let days = |mask: i64, ordinal: Option<i32>| -> Vec<WeekdayNum> {
        mask_days(mask)
            .into_iter()
            .map(|weekday| WeekdayNum { ordinal, weekday })
            .collect()
    };
    let mut rule = match kind {
        // "Every weekday" comes as daily with a mask.
        DAILY if mask != 0 => {
            let mut rule = Recurrence::new(Frequency::Weekly);
            rule.by_day = days(mask, None);
            rule
        }
        DAILY => Recurrence::new(Frequency::Daily),
        WEEKLY => {
            let mut rule = Recurrence::new(Frequency::Weekly);
            rule.by_day = days(mask, None);
            rule
        }
        MONTHLY => {
            let mut rule = Recurrence::new(Frequency::Monthly);
            let day = document
                .number("DayOfMonth")
                .filter(|d| (1..=31).contains(d));
            rule.by_month_day = day
                .map(|d| d as i32)
                .or(start_date.map(|d| d.day as i32))
                .into_iter()
                .collect();
            rule
        }
        MONTH_NTH | YEAR_NTH => {
            let frequency = match kind {
                MONTH_NTH => Frequency::Monthly,
                _ => Frequency::Yearly,
            };
            let mut rule = Recurrence::new(frequency);
            let instance = document.number("Instance").unwrap_or(1);
            let ordinal = ordinal(instance)
                .ok_or_else(|| format!("SIF Instance {instance} is not 1 to 5"))?;
            rule.by_day = days(mask, Some(ordinal));
            if rule.by_day.is_empty() {
                return Err("SIF nth-weekday recurrence without DayOfWeekMask".into());
            }
            if kind == YEAR_NTH {
                rule.by_month = month_of_year(document, start_date);
            }
            rule
        }
        YEARLY => {
            let mut rule = Recurrence::new(Frequency::Yearly);
            rule.by_month = month_of_year(document, start_date);
            let day = document
                .number("DayOfMonth")
                .filter(|d| (1..=31).contains(d));
            rule.by_month_day = day
                .map(|d| d as i32)
                .or(start_date.map(|d| d.day as i32))
                .into_iter()
                .collect();
            rule
        }
        other => {
            return Err(format!(
                "SIF RecurrenceType {other} is not one Outlook uses"
            ))
        }
    };
    // Outlook counts a yearly interval in months (12 for every year).
    let interval = match (kind, interval) {
        (YEARLY | YEAR_NTH, i) if i >= 12 && i % 12 == 0 => i / 12,
        (_, i) => i,
    };
    rule.interval = u32::try_from(interval).map_err(|_| "SIF Interval too large".to_string())?;
    if !document.flag("NoEndDate") {
        let until = document
            .get("PatternEndDate")
            .and_then(|text| pattern_end(text, start));
        let count = document.number("Occurrences").filter(|c| *c > 0);
        match (until, count) {
            (Some(until), _) => rule.until = Some(until),
            (None, Some(count)) => rule.count = u32::try_from(count).ok(),
            (None, None) => {}
        }
    }
    Ok(rule)
}

fn month_of_year(document: &SifDocument, start: Option<Date>) -> Vec<u32> {
    document
        .number("MonthOfYear")
        .filter(|m| (1..=12).contains(m))
        .map(|m| m as u32)
        .or(start.map(|d| d.month))
        .into_iter()
        .collect()
}

/// PatternEndDate as UNTIL, in the value type of the start (RFC 5545 wants them alike):
/// a date for a timed item is the end of that day.
fn pattern_end(text: &str, start: Option<CalTime>) -> Option<CalTime> {
    let end = CalTime::parse(text)?;
    Some(match (start, end) {
        (Some(CalTime::Date(_)), end) => CalTime::Date(end.date()),
        (Some(CalTime::DateTime(start)), CalTime::Date(date)) => CalTime::DateTime(DateTime {
            date,
            hour: 23,
            minute: 59,
            second: 59,
            utc: start.utc,
        }),
        (_, end) => end,
    })
}

/// The SIF fields of a rule, for an item starting at `start` (already as the SIF item
/// writes it); `until` is the rule's end as written. `None` when Outlook's patterns cannot
/// say it (hourly rules, several month days, BYSETPOS...).
pub(super) fn fields(
    rule: &Recurrence,
    start: Option<CalTime>,
    until: Option<String>,
) -> Option<Vec<(&'static str, String)>> {
    if !rule.other.is_empty() || !rule.by_year_day.is_empty() {
        return None;
    }
    let start_date = start.map(|s| s.date());
    let mask_of = |days: &[WeekdayNum]| days.iter().map(|d| mask_bit(d.weekday)).sum::<i64>();
    let single_ordinal = |days: &[WeekdayNum]| -> Option<i32> {
        let first = days.first()?.ordinal?;
        days.iter()
            .all(|d| d.ordinal == Some(first))
            .then_some(first)
    };
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let interval = rule.interval.max(1);
    match rule.frequency {
        Frequency::Daily if rule.by_day.is_empty() && rule.by_month_day.is_empty() => {
            out.push(("RecurrenceType", DAILY.to_string()));
        }
        Frequency::Weekly if rule.by_month_day.is_empty() && rule.by_month.is_empty() => {
            if rule.by_day.iter().any(|d| d.ordinal.is_some()) {
                return None;
            }
            let mask = match rule.by_day.is_empty() {
                true => mask_bit(start_date?.weekday() as u8),
                false => mask_of(&rule.by_day),
            };
            out.push(("RecurrenceType", WEEKLY.to_string()));
            out.push(("DayOfWeekMask", mask.to_string()));
        }
        Frequency::Monthly | Frequency::Yearly if rule.by_month.len() <= 1 => {
            let yearly = rule.frequency == Frequency::Yearly;
            if yearly && rule.by_month.is_empty() && start_date.is_none() {
                return None;
            }
            let month = rule
                .by_month
                .first()
                .copied()
                .or(start_date.map(|d| d.month));
            if !rule.by_day.is_empty() {
                let ordinal = single_ordinal(&rule.by_day)?;
                if !rule.by_month_day.is_empty() || !(-1..=4).contains(&ordinal) || ordinal == 0 {
                    return None;
                }
                let instance = if ordinal == -1 { 5 } else { ordinal };
                let kind = if yearly { YEAR_NTH } else { MONTH_NTH };
                out.push(("RecurrenceType", kind.to_string()));
                out.push(("DayOfWeekMask", mask_of(&rule.by_day).to_string()));
                out.push(("Instance", instance.to_string()));
            } else {
                if rule.by_month_day.len() > 1 {
                    return None;
                }
                let day = rule
                    .by_month_day
                    .first()
                    .copied()
                    .or(start_date.map(|d| d.day as i32))?;
                if day < 1 {
                    return None;
                }
                let kind = if yearly { YEARLY } else { MONTHLY };
                out.push(("RecurrenceType", kind.to_string()));
                out.push(("DayOfMonth", day.to_string()));
            }
            if yearly {
                out.push(("MonthOfYear", month?.to_string()));
            } else if !rule.by_month.is_empty() {
                return None;
            }
        }
        _ => return None,
    }
    out.push(("Interval", interval.to_string()));
    match (rule.count, until) {
        (Some(count), _) => {
            out.push(("NoEndDate", "0".into()));
            out.push(("Occurrences", count.to_string()));
        }
        (None, Some(until)) => {
            out.push(("NoEndDate", "0".into()));
            out.push(("PatternEndDate", until));
        }
        (None, None) => out.push(("NoEndDate", "1".into())),
    }
    Some(out)
}
