//! Tests of vCalendar 1.0 and RFC 5545 rules: examples both ways and properties.

mod examples {
    use super::super::*;

    fn both_ways(vcal: &str, ical: &str) {
        let from_vcal = Recurrence::parse_vcal(vcal, Some(Date::new(2006, 4, 6))).unwrap();
        assert_eq!(from_vcal.to_ical(), ical, "{vcal}");
        let from_ical = Recurrence::parse_ical(ical).unwrap();
        assert_eq!(from_ical, from_vcal);
        assert_eq!(from_ical.to_vcal().unwrap(), vcal, "{ical}");
    }

    /// Numbers no calendar means: an end past the year 9999 is no end (no overflow, no
    /// garbage UNTIL); positions out of their range are errors, not panics later.
    #[test]
    fn huge_numbers_end_nowhere_or_are_refused() {
        let start = CalTime::Date(Date::new(2006, 4, 3));
        // Two days a week: the count of weeks becomes an end, here none.
        let rule = Recurrence::parse_vcal_at("W4294967295 MO TU #4294967295", Some(start)).unwrap();
        assert_eq!((rule.until, rule.count), (None, None));
        // One a month: the count stays a count.
        let rule =
            Recurrence::parse_vcal_at("MP4294967295 1+ MO #4294967295", Some(start)).unwrap();
        assert_eq!((rule.until, rule.count), (None, Some(u32::MAX)));
        assert_eq!(rule.nth_occurrence(start.date(), u32::MAX), None);
        let rule = Recurrence::parse_vcal_at("W2 MO TU #3", Some(start)).unwrap();
        // Three fortnights from Monday 3 April: the last ends on Sunday 7 May.
        assert_eq!(rule.until.unwrap().date(), Date::new(2006, 5, 7));
        for text in [
            "MP1 2147483647- MO #1",
            "MD1 40 #1",
            "YM1 13 #1",
            "YD1 400 #1",
            "MP1 0+ MO",
        ] {
            assert!(
                Recurrence::parse_vcal_at(text, Some(start)).is_err(),
                "{text}"
            );
        }
        for text in [
            "FREQ=MONTHLY;BYDAY=-2147483648MO",
            "FREQ=YEARLY;BYMONTH=0",
            "FREQ=MONTHLY;BYMONTHDAY=-32",
        ] {
            assert!(Recurrence::parse_ical(text).is_err(), "{text}");
        }
    }

    #[test]
    fn daily_forever_and_counted() {
        both_ways("D1 #0", "FREQ=DAILY");
        both_ways("D2 #5", "FREQ=DAILY;INTERVAL=2;COUNT=5");
    }

    #[test]
    fn weekly_with_days_and_end() {
        both_ways(
            "W2 MO TU 20101231T000000Z",
            "FREQ=WEEKLY;INTERVAL=2;UNTIL=20101231T000000Z;BYDAY=MO,TU",
        );
        both_ways("W1 FR #9", "FREQ=WEEKLY;COUNT=9;BYDAY=FR");
    }

    #[test]
    fn monthly_by_day_number() {
        both_ways("MD1 10 #5", "FREQ=MONTHLY;COUNT=5;BYMONTHDAY=10");
        both_ways("MD1 1 10 #0", "FREQ=MONTHLY;BYMONTHDAY=1,10");
        both_ways("MD1 1- #0", "FREQ=MONTHLY;BYMONTHDAY=-1");
        let last_day = Recurrence::parse_vcal("MD1 LD #0", None).unwrap();
        assert_eq!(last_day.by_month_day, [-1]);
    }

    #[test]
    fn monthly_by_position() {
        both_ways(
            "MP1 1+ TH 21001231T000000",
            "FREQ=MONTHLY;UNTIL=21001231T000000;BYDAY=1TH",
        );
        both_ways(
            "MP2 1+ SU #10",
            "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU",
        );
        both_ways(
            "MP2 1+ SU 1- SU #0",
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=1SU,-1SU",
        );
        both_ways("MP1 2+ MO WE #0", "FREQ=MONTHLY;BYDAY=2MO,2WE");
        // No position: the start's (2006-04-06 is the first Thursday).
        let implied = Recurrence::parse_vcal("MP1 #0", Some(Date::new(2006, 4, 6))).unwrap();
        assert_eq!(implied.to_ical(), "FREQ=MONTHLY;BYDAY=1TH");
    }

    #[test]
    fn yearly_by_month_and_by_day() {
        both_ways("YM1 4 #2", "FREQ=YEARLY;COUNT=2;BYMONTH=4");
        both_ways("YM1 #0", "FREQ=YEARLY");
        both_ways("YD1 1 100 #0", "FREQ=YEARLY;BYYEARDAY=1,100");
    }

    #[test]
    fn yearly_on_a_weekday_position_through_mp12() {
        // First Monday of August, from 2002-08-05.
        let start = Some(Date::new(2002, 8, 5));
        let rule = Recurrence::parse_ical("FREQ=YEARLY;INTERVAL=1;BYMONTH=8;BYDAY=1MO").unwrap();
        assert!(rule.to_vcal().is_err());
        let vcal = rule.to_vcal_from(start).unwrap();
        assert_eq!(vcal, "MP12 1+ MO #0");
        assert_eq!(Recurrence::parse_vcal(&vcal, start).unwrap(), rule);
        let christmas = Recurrence::parse_ical("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25").unwrap();
        let vcal = christmas
            .to_vcal_from(Some(Date::new(2006, 12, 25)))
            .unwrap();
        assert_eq!(vcal, "MD12 25 #0");
        assert_eq!(
            Recurrence::parse_vcal(&vcal, Some(Date::new(2006, 12, 25))).unwrap(),
            christmas
        );
        // Another month than the start's cannot be written that way.
        assert!(rule.to_vcal_from(Some(Date::new(2002, 7, 1))).is_err());
    }

    #[test]
    fn a_vcal_count_counts_intervals() {
        let start = CalTime::parse("20060406T100000").unwrap();
        // Days 1 and 10 for five months: until the end of August.
        let rule = Recurrence::parse_vcal_at("MD1 1 10 #5", Some(start)).unwrap();
        assert_eq!(
            rule.to_ical(),
            "FREQ=MONTHLY;UNTIL=20060831T100000;BYMONTHDAY=1,10"
        );
        // First and last Sunday every other month, ten times: 18 months on.
        let rule = Recurrence::parse_vcal_at("MP2 1+ SU 1- SU #10", Some(start)).unwrap();
        assert_eq!(rule.until, CalTime::parse("20071031T100000"));
        // Monday and Tuesday for two weeks (2006-04-06 is a Thursday).
        let rule = Recurrence::parse_vcal_at("W1 MO TU #2", Some(start)).unwrap();
        assert_eq!(rule.until, CalTime::parse("20060416T100000"));
        let all_day =
            Recurrence::parse_vcal_at("YM1 6 7 #3", Some(CalTime::parse("20060601").unwrap()))
                .unwrap();
        assert_eq!(all_day.until, CalTime::parse("20081231"));
    }

    #[test]
    fn an_ical_count_of_occurrences_becomes_an_end() {
        let rule = Recurrence::parse_ical("FREQ=WEEKLY;COUNT=4;BYDAY=MO,TU").unwrap();
        assert!(rule.to_vcal().is_err());
        let start = CalTime::parse("20060403T100000Z").unwrap();
        let ended = rule.with_count_as_end(start).unwrap();
        assert_eq!(ended.to_vcal().unwrap(), "W1 MO TU 20060411T100000Z");
        let monthly = Recurrence::parse_ical("FREQ=MONTHLY;COUNT=3;BYMONTHDAY=1,-1").unwrap();
        let ended = monthly
            .with_count_as_end(CalTime::parse("20060430").unwrap())
            .unwrap();
        // April 30 (the start), May 1, May 31.
        assert_eq!(ended.until, CalTime::parse("20060531"));
        let positions = Recurrence::parse_ical("FREQ=MONTHLY;COUNT=3;BYDAY=1SU,-1SU").unwrap();
        let ended = positions
            .with_count_as_end(CalTime::parse("20060402").unwrap())
            .unwrap();
        assert_eq!(ended.until, CalTime::parse("20060507"));
        let yearly = Recurrence::parse_ical("FREQ=YEARLY;COUNT=3;BYYEARDAY=1,-1").unwrap();
        let ended = yearly
            .with_count_as_end(CalTime::parse("20060101").unwrap())
            .unwrap();
        assert_eq!(ended.until, CalTime::parse("20070101"));
        // One occurrence per interval: the count stays a count.
        let single = Recurrence::parse_ical("FREQ=WEEKLY;COUNT=4;BYDAY=MO").unwrap();
        assert_eq!(single.with_count_as_end(start).unwrap(), single);
    }

    #[test]
    fn missing_duration_defaults_to_two() {
        let rule = Recurrence::parse_vcal("W1 MO", None).unwrap();
        assert_eq!(rule.count, Some(2));
    }

    #[test]
    fn unrepresentable_rules_are_refused() {
        let set_position = Recurrence::parse_ical("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1").unwrap();
        assert!(set_position.to_vcal().is_err());
        let dst = Recurrence::parse_ical("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10").unwrap();
        assert!(dst.to_vcal().is_err());
        assert!(Recurrence::parse_vcal("X1 #0", None).is_err());
        assert!(Recurrence::parse_ical("COUNT=2").is_err());
    }

    #[test]
    fn ical_parse_is_case_insensitive_and_keeps_unknown_parts() {
        let rule = Recurrence::parse_ical("FREQ=Weekly;COUNT=10;WKST=SU").unwrap();
        assert_eq!(rule.frequency, Frequency::Weekly);
        assert_eq!(rule.to_ical(), "FREQ=WEEKLY;COUNT=10;WKST=SU");
        assert_eq!(rule.to_vcal().unwrap(), "W1 #10");
    }
}

mod property_tests {
    use super::super::*;
    use proptest::prelude::*;

    /// The first occurrences of a rule from `start`, honouring COUNT and
    /// UNTIL (by date), at most `limit` of them within ten years.
    fn occurrences(rule: &Recurrence, start: Date, limit: usize) -> Vec<Date> {
        let mut found = Vec::new();
        for offset in 0..(10 * 366) {
            let day = start.add_days(offset);
            if rule.until.is_some_and(|u| day > u.date()) {
                break;
            }
            if offset == 0 || rule.occurs_on(start, day) {
                found.push(day);
                if Some(found.len()) == rule.count.map(|c| c as usize) || found.len() == limit {
                    break;
                }
            }
        }
        found
    }

    fn weekdays() -> impl Strategy<Value = Vec<WeekdayNum>> {
        proptest::collection::btree_set(0u8..7, 0..3).prop_map(|days| {
            days.into_iter()
                .map(|weekday| WeekdayNum {
                    ordinal: None,
                    weekday,
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever numbers a phone writes, reading, writing and expanding a rule never
        /// panics (overflow included), and an end it reads lies within the years 1-9999.
        #[test]
        fn any_numbers_in_a_rule_are_read_without_panic(
            kind in prop_oneof![Just("D"), Just("W"), Just("MD"), Just("MP"), Just("YM"), Just("YD")],
            interval in prop_oneof![any::<u32>(), Just(u32::MAX)],
            position in any::<i64>(),
            count in prop_oneof![any::<u32>(), Just(u32::MAX)],
            year in 1i32..9999,
        ) {
            let start = CalTime::Date(Date::new(year, 6, 15));
            let position = format!("{}{}", position.unsigned_abs(), if position < 0 { "-" } else { "+" });
            let argument = match kind { "W" | "D" => "MO".to_string(), "MP" => format!("{position} MO"), _ => position.clone() };
            let text = format!("{kind}{interval} {argument} #{count}");
            if let Ok(rule) = Recurrence::parse_vcal_at(&text, Some(start)) {
                if let Some(until) = rule.until {
                    prop_assert!((1..=9999).contains(&until.date().year), "{text}: {until:?}");
                }
                let _ = rule.to_ical();
                let _ = rule.to_vcal_from(Some(start.date()));
                let _ = rule.nth_occurrence(start.date(), count);
                let _ = rule.with_count_as_end(start);
            }
            let ical = format!("FREQ=MONTHLY;INTERVAL={interval};COUNT={count};BYDAY={}MO;BYMONTHDAY={}", position.trim_end_matches(['+', '-']), -(position.len() as i64));
            if let Ok(rule) = Recurrence::parse_ical(&ical) {
                let _ = rule.nth_occurrence(start.date(), count);
                let _ = rule.to_vcal_from(Some(start.date()));
            }
        }

        /// A rule taken to vCalendar 1.0 and back has the same occurrences.
        #[test]
        fn vcal_round_trip_keeps_occurrences(
            frequency in prop_oneof![
                Just(Frequency::Daily),
                Just(Frequency::Weekly),
                Just(Frequency::Monthly),
                Just(Frequency::Yearly)
            ],
            interval in 1u32..4,
            weekly_days in weekdays(),
            month_days in proptest::collection::btree_set(prop_oneof![1i32..29, -3i32..0], 0..3),
            position in prop_oneof![Just(None), (1i32..5).prop_map(Some), Just(Some(-1))],
            count in prop_oneof![Just(None), (1u32..25).prop_map(Some)],
            year in 2000i32..2030,
            month in 1u32..13,
            day in 1u32..29,
        ) {
            let start = Date::new(year, month, day);
            let mut rule = Recurrence::new(frequency);
            rule.interval = interval;
            rule.count = count;
            match frequency {
                Frequency::Weekly => rule.by_day = weekly_days,
                Frequency::Monthly => match position {
                    Some(ordinal) => {
                        rule.by_day = vec![WeekdayNum { ordinal: Some(ordinal), weekday: start.weekday() as u8 }]
                    }
                    None => rule.by_month_day = month_days.into_iter().collect(),
                },
                Frequency::Yearly => rule.by_month = vec![month],
                _ => {}
            }
            let start_time = CalTime::Date(start);
            let Ok(text) = rule
                .with_count_as_end(start_time)
                .and_then(|r| r.to_vcal_from(Some(start)))
            else {
                return Ok(());
            };
            let back = Recurrence::parse_vcal_at(&text, Some(start_time)).unwrap();
            prop_assert_eq!(
                occurrences(&back, start, 40),
                occurrences(&rule, start, 40),
                "{} -> {} -> {}", rule.to_ical(), text, back.to_ical()
            );
        }
    }
}
