//! Any bytes as a phone's or a desktop's vCard, vCalendar, iCalendar or vNote file, and any
//! text as a recurrence rule: parse errors are fine, panics and hangs are not.
#![no_main]
use handsync_proto::pim::datetime::CalTime;
use handsync_proto::pim::recurrence::Recurrence;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(objects) = handsync_proto::pim::content::parse_objects(data) {
        for object in objects {
            let _ = handsync_proto::pim::content::write_component(
                &object.component,
                &handsync_proto::pim::content::WriteOptions::modern(),
            );
        }
    }
    let _ = handsync_proto::pim::vcard::VCard::parse(data);
    // A rule is one property value: the first KiB is plenty, and the whole-file seeds would
    // otherwise spend each run splitting 100 KB of calendar as one rule.
    let text = String::from_utf8_lossy(&data[..data.len().min(1024)]);
    let start = CalTime::parse("20060403T090000Z");
    if let Ok(rule) = Recurrence::parse_vcal_at(&text, start) {
        let _ = rule.to_ical();
        if let Some(start) = start {
            let _ = rule.with_count_as_end(start);
            let _ = rule.nth_occurrence(start.date(), 100);
        }
    }
    if let Ok(rule) = Recurrence::parse_ical(&text) {
        let _ = rule.to_vcal_from(start.map(|s| s.date()));
    }
});
