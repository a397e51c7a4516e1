//! The `CTCap` of our DevInf: for each content type we take, the properties (and their
//! parameters) the PC keeps. We store every item whole, so this lists what the formats define
//! and the PC reads back; a client that narrows what it sends to the server's CTCap
//! (SyncEvolution, Funambol, phones that honour field-level capabilities) then sends all of
//! it, and one that merges by CTCap knows nothing of it is dropped here.

use handsync_proto::syncml::{CtCap, PropParam, Property};

/// A property: its name, the values it is limited to (none: any) and its parameters with
/// theirs.
type Prop = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static [&'static str])],
);

const TEL_TYPES: &[&str] = &[
    "HOME", "WORK", "CELL", "VOICE", "FAX", "PAGER", "MSG", "CAR", "VIDEO", "PREF",
];
const EMAIL_TYPES: &[&str] = &["INTERNET", "HOME", "WORK", "PREF", "X400"];
const ADR_TYPES: &[&str] = &["HOME", "WORK", "DOM", "INTL", "POSTAL", "PARCEL", "PREF"];
const CLASSES: &[&str] = &["PUBLIC", "PRIVATE", "CONFIDENTIAL"];

/// vCard 2.1 and 3.0 (`VERSION` differs). 2.1 writes types bare (`TEL;CELL`), which DevInf
/// 1.1 phones list as values of `TYPE` too.
fn vcard(version: &'static [&'static str]) -> Vec<Prop> {
    vec![
        ("BEGIN", &["VCARD"], &[]),
        ("END", &["VCARD"], &[]),
        ("VERSION", version, &[]),
        ("N", &[], &[]),
        ("FN", &[], &[]),
        ("NICKNAME", &[], &[]),
        ("TEL", &[], &[("TYPE", TEL_TYPES)]),
        ("EMAIL", &[], &[("TYPE", EMAIL_TYPES)]),
        ("ADR", &[], &[("TYPE", ADR_TYPES)]),
        ("LABEL", &[], &[("TYPE", ADR_TYPES)]),
        ("ORG", &[], &[]),
        ("TITLE", &[], &[]),
        ("ROLE", &[], &[]),
        ("URL", &[], &[("TYPE", &["HOME", "WORK"])]),
        ("BDAY", &[], &[]),
        ("NOTE", &[], &[]),
        ("PHOTO", &[], &[("TYPE", &["JPEG", "GIF", "PNG", "BMP"])]),
        ("CATEGORIES", &[], &[]),
        ("GEO", &[], &[]),
        ("TZ", &[], &[]),
        ("UID", &[], &[]),
        ("REV", &[], &[]),
        ("X-ANNIVERSARY", &[], &[]),
        ("X-SPOUSE", &[], &[]),
        ("X-MANAGER", &[], &[]),
        ("X-ASSISTANT", &[], &[]),
    ]
}

/// Properties vCalendar 1.0 and iCalendar 2.0 share, for events and to-dos.
const CALENDAR_COMMON: &[Prop] = &[
    ("UID", &[], &[]),
    ("SUMMARY", &[], &[]),
    ("DESCRIPTION", &[], &[]),
    ("LOCATION", &[], &[]),
    ("DTSTART", &[], &[]),
    ("DTEND", &[], &[]),
    ("DUE", &[], &[]),
    ("COMPLETED", &[], &[]),
    ("PRIORITY", &[], &[]),
    ("CLASS", CLASSES, &[]),
    ("CATEGORIES", &[], &[]),
    ("RRULE", &[], &[]),
    ("EXDATE", &[], &[]),
    ("RDATE", &[], &[]),
    ("ATTENDEE", &[], &[]),
    ("LAST-MODIFIED", &[], &[]),
];

fn vcalendar10() -> Vec<Prop> {
    let mut props: Vec<Prop> = vec![
        ("BEGIN", &["VCALENDAR", "VEVENT", "VTODO"], &[]),
        ("END", &["VCALENDAR", "VEVENT", "VTODO"], &[]),
        ("VERSION", &["1.0"], &[]),
        ("TZ", &[], &[]),
        ("DAYLIGHT", &[], &[]),
        (
            "STATUS",
            &["NEEDS ACTION", "COMPLETED", "ACCEPTED", "DECLINED"],
            &[],
        ),
        ("AALARM", &[], &[]),
        ("DALARM", &[], &[]),
        ("DCREATED", &[], &[]),
    ];
    props.extend_from_slice(CALENDAR_COMMON);
    props
}

fn icalendar20() -> Vec<Prop> {
    const PARTS: &[&str] = &[
        "VCALENDAR",
        "VEVENT",
        "VTODO",
        "VJOURNAL",
        "VALARM",
        "VTIMEZONE",
        "STANDARD",
        "DAYLIGHT",
    ];
    const TIME_PARAMS: &[(&str, &[&str])] = &[("TZID", &[]), ("VALUE", &["DATE", "DATE-TIME"])];
    let mut props: Vec<Prop> = vec![
        ("BEGIN", PARTS, &[]),
        ("END", PARTS, &[]),
        ("VERSION", &["2.0"], &[]),
        ("PRODID", &[], &[]),
        ("DTSTAMP", &[], &[]),
        ("CREATED", &[], &[]),
        ("SEQUENCE", &[], &[]),
        ("DURATION", &[], &[]),
        ("RECURRENCE-ID", &[], TIME_PARAMS),
        ("TRANSP", &["OPAQUE", "TRANSPARENT"], &[]),
        ("STATUS", &[], &[]),
        ("PERCENT-COMPLETE", &[], &[]),
        ("ORGANIZER", &[], &[]),
        ("URL", &[], &[]),
        ("ACTION", &["AUDIO", "DISPLAY", "EMAIL"], &[]),
        ("TRIGGER", &[], &[("VALUE", &["DURATION", "DATE-TIME"])]),
        ("TZID", &[], &[]),
        ("TZOFFSETFROM", &[], &[]),
        ("TZOFFSETTO", &[], &[]),
        ("TZNAME", &[], &[]),
    ];
    props.extend_from_slice(CALENDAR_COMMON);
    // Times name their zone.
    for prop in props.iter_mut() {
        if matches!(prop.0, "DTSTART" | "DTEND" | "DUE" | "EXDATE" | "RDATE") {
            prop.2 = TIME_PARAMS;
        }
    }
    props
}

fn vnote11() -> Vec<Prop> {
    vec![
        ("BEGIN", &["VNOTE"], &[]),
        ("END", &["VNOTE"], &[]),
        ("VERSION", &["1.1"], &[]),
        ("BODY", &[], &[]),
        ("SUMMARY", &[], &[]),
        ("CATEGORIES", &[], &[]),
        ("CLASS", CLASSES, &[]),
        ("DCREATED", &[], &[]),
        ("LAST-MODIFIED", &[], &[]),
    ]
}

/// Our CTCaps, one per content type we take (text/plain has no properties to list).
pub fn server_ct_caps() -> Vec<CtCap> {
    [
        ("text/x-vcard", "2.1", vcard(&["2.1"])),
        ("text/vcard", "3.0", vcard(&["3.0"])),
        ("text/x-vcalendar", "1.0", vcalendar10()),
        ("text/calendar", "2.0", icalendar20()),
        ("text/x-vnote", "1.1", vnote11()),
    ]
    .into_iter()
    .map(|(ct_type, ver_ct, props)| CtCap {
        ct_type: ct_type.into(),
        ver_ct: Some(ver_ct.into()),
        properties: props.into_iter().map(property).collect(),
        ..CtCap::default()
    })
    .collect()
}

fn property((name, values, params): Prop) -> Property {
    Property {
        name: name.into(),
        val_enums: values.iter().map(|v| v.to_string()).collect(),
        params: params
            .iter()
            .map(|(param, values)| PropParam {
                name: param.to_string(),
                val_enums: values.iter().map(|v| v.to_string()).collect(),
                ..PropParam::default()
            })
            .collect(),
        ..Property::default()
    }
}
