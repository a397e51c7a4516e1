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
