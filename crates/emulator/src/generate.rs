//! A generated data set: contacts, events, to-dos and notes as a given phone model writes them,
//! the same for the same seed. Names carry accents so that charsets and quoted-printable are
//! exercised the way the profile's phone uses them.

use super::profile::{DeviceProfile, TextStyle};
use super::store::{PhoneItem, PhoneStore};
use handsync_proto::pim::datetime::{Date, DateTime};
use handsync_proto::pim::Datastore;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSetSpec {
    pub contacts: usize,
    pub events: usize,
    /// To-dos: into the task datastore, or the calendar of a phone that holds them there;
    /// none for a phone with neither.
    pub tasks: usize,
    pub notes: usize,
    /// A JPEG-looking photo of this many bytes on the first contact.
    pub photo_bytes: Option<usize>,
    pub seed: u64,
}

impl DataSetSpec {
    /// `contacts` contacts and nothing else.
    pub fn contacts(contacts: usize, seed: u64) -> DataSetSpec {
        DataSetSpec {
            contacts,
            events: 0,
            tasks: 0,
            notes: 0,
            photo_bytes: None,
            seed,
        }
    }
}

/// xorshift64*: deterministic and small; the data only has to look varied.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

const GIVEN: &[&str] = &[
    "Anna",
    "Jörg",
    "Zoë",
    "François",
    "Søren",
    "Åsa",
    "Miguel",
    "Björn",
    "Renée",
    "Tomás",
    "Ingrid",
    "Paul",
    "Chloé",
    "Lars",
    "Inês",
    "Kurt",
    "Maëlle",
    "Oskar",
    "Núria",
    "Heidi",
];
const FAMILY: &[&str] = &[
    "Müller",
    "García",
    "Dubois",
    "Sørensen",
    "Nyström",
    "Rossi",
    "O'Brien",
    "Schäfer",
    "Lefèvre",
    "Jansen",
    "Öztürk",
    "Fernández",
    "Kowalski",
    "Dvořák",
    "Weiß",
    "Martín",
];
const CITIES: &[&str] = &[
    "München",
    "Göteborg",
    "Zürich",
    "Köln",
    "Málaga",
    "Besançon",
    "Århus",
];
const COMPANIES: &[&str] = &[
    "Acme GmbH",
    "Société Générale",
    "Nordisk Ltd",
    "Café Müller",
    "Widgets Inc",
];
const SUBJECTS: &[&str] = &[
    "Team meeting",
    "Dentist",
    "Zahnarzt",
    "Réunion projet",
    "Lunch with Åsa",
    "Flight to Köln",
    "Budget review",
    "Football",
    "Birthday party",
    "Code review",
];
const TODOS: &[&str] = &[
    "Buy milk",
    "Call Jörg",
    "Pay rent",
    "Renew passport",
    "Écrire rapport",
];

/// Text in the phone's charset, as a property line: ASCII values as they are, others with the
/// CHARSET (and quoted-printable) parameters the model uses.
fn text_line(out: &mut Vec<u8>, name: &str, value: &str, style: TextStyle) {
    out.extend_from_slice(name.as_bytes());
    if value.is_ascii() {
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
    } else {
        match style {
            TextStyle::QuotedPrintableUtf8 => {
                out.extend_from_slice(b";CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:");
                out.extend_from_slice(quoted_printable(value.as_bytes()).as_bytes());
            }
            TextStyle::Latin1EightBit => {
                out.extend_from_slice(b";CHARSET=ISO-8859-1:");
                out.extend(latin1(value));
            }
            TextStyle::QuotedPrintableWindows1252 => {
                out.extend_from_slice(b";CHARSET=WINDOWS-1252;ENCODING=QUOTED-PRINTABLE:");
                let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(value);
                out.extend_from_slice(quoted_printable(&bytes).as_bytes());
            }
            TextStyle::Utf8EightBit => {
                out.extend_from_slice(b";CHARSET=UTF-8:");
                out.extend_from_slice(value.as_bytes());
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Quoted-printable on one line: these phones write short values without soft breaks.
fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &byte in bytes {
        if (byte.is_ascii_graphic() && byte != b'=') || byte == b' ' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("={byte:02X}"));
        }
    }
    out
}

/// ISO-8859-1 bytes; characters outside it become `?`, as the phones do.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Names that fit the phone's charset (a Latin-1 phone cannot store `ř`).
fn fits(style: TextStyle, text: &str) -> String {
    match style {
        TextStyle::Latin1EightBit | TextStyle::QuotedPrintableWindows1252 => text
            .chars()
            .map(|c| if u32::from(c) < 0x100 { c } else { 'r' })
            .collect(),
        _ => text.to_string(),
    }
}

/// Bytes that start like a JPEG file, then vary.
pub fn photo(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ 0x0050_484f_544f);
    let header = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    let mut bytes: Vec<u8> = header.iter().copied().take(size).collect();
    while bytes.len() < size {
        bytes.push(rng.next_u64() as u8);
    }
    bytes
}

/// Contact `index` of the data set.
pub fn contact(
    profile: &DeviceProfile,
    index: usize,
    seed: u64,
    photo_bytes: Option<usize>,
) -> PhoneItem {
    let mut rng = Rng::new(seed.wrapping_add(index as u64 * 7919));
    let style = profile.text_style;
    let given = fits(style, rng.pick(GIVEN));
    let family = fits(style, &format!("{}{}", rng.pick(FAMILY), index));
    let mut card = Vec::new();
    card.extend_from_slice(b"BEGIN:VCARD\r\nVERSION:2.1\r\n");
    text_line(&mut card, "N", &format!("{family};{given}"), style);
    text_line(&mut card, "FN", &format!("{given} {family}"), style);
    let number = 1_000_000 + index * 37 + rng.below(30);
    card.extend_from_slice(format!("TEL;CELL:+49170{number:07}\r\n").as_bytes());
    if rng.below(2) == 0 {
        card.extend_from_slice(format!("TEL;HOME:+4930{:07}\r\n", rng.below(9_999_999)).as_bytes());
    }
    if rng.below(3) != 0 {
        let user = given
            .chars()
            .filter(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_lowercase();
        card.extend_from_slice(format!("EMAIL;INTERNET:{user}.{index}@example.org\r\n").as_bytes());
    }
    if rng.below(2) == 0 {
        let city = fits(style, rng.pick(CITIES));
        text_line(
            &mut card,
            "ADR;HOME",
            &format!(
                ";;Hauptstraße {};{city};;{};Germany",
                1 + rng.below(120),
                10_000 + rng.below(89_999)
            ),
            style,
        );
    }
    if rng.below(3) == 0 {
        text_line(&mut card, "ORG", &fits(style, rng.pick(COMPANIES)), style);
    }
    if rng.below(4) == 0 {
        card.extend_from_slice(
            format!(
                "BDAY:{}{:02}{:02}\r\n",
                1950 + rng.below(50),
                1 + rng.below(12),
                1 + rng.below(28)
            )
            .as_bytes(),
        );
    }
    if let Some(size) = photo_bytes {
        card.extend_from_slice(b"PHOTO;ENCODING=BASE64;TYPE=JPEG:");
        let encoded = handsync_proto::pim::codec::encode_base64(&photo(
            size,
            seed.wrapping_add(index as u64),
        ));
        // Folded at 76 with a leading space, ended by an empty line (vCard 2.1 style).
        for (line_index, chunk) in encoded.as_bytes().chunks(72).enumerate() {
            if line_index > 0 {
                card.extend_from_slice(b" ");
            }
            card.extend_from_slice(chunk);
            card.extend_from_slice(b"\r\n");
        }
        card.extend_from_slice(b"\r\n");
    }
    card.extend_from_slice(b"END:VCARD\r\n");
    PhoneItem::new("text/x-vcard", card)
}

fn symbian(profile: &DeviceProfile) -> bool {
    profile.model.starts_with('E') || profile.model.starts_with('N')
}

/// Event `index`: a one- or two-hour appointment in autumn 2006, some with an alarm.
pub fn event(profile: &DeviceProfile, index: usize, seed: u64) -> PhoneItem {
    let mut rng = Rng::new(seed.wrapping_add(index as u64 * 104_729) ^ 0xE7E7);
    let style = profile.text_style;
    let day = Date {
        year: 2006,
        month: 10,
        day: 1,
    }
    .add_days((index * 2 + rng.below(2)) as i64);
    let hour = 8 + rng.below(10) as i64;
    let start = DateTime::from_timestamp(day.days_since_epoch() * 86_400 + hour * 3600, true);
    let end = start.add_seconds(3600 * (1 + rng.below(2) as i64));
    let mut cal = Vec::new();
    cal.extend_from_slice(b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\n");
    text_line(
        &mut cal,
        "SUMMARY",
        &format!("{} {index}", fits(style, rng.pick(SUBJECTS))),
        style,
    );
    cal.extend_from_slice(
        format!("DTSTART:{}\r\nDTEND:{}\r\n", start.basic(), end.basic()).as_bytes(),
    );
    if rng.below(2) == 0 {
        text_line(&mut cal, "LOCATION", &fits(style, rng.pick(CITIES)), style);
    }
    if rng.below(2) == 0 {
        cal.extend_from_slice(format!("AALARM:{}\r\n", start.add_seconds(-900).basic()).as_bytes());
    }
    if symbian(profile) {
        cal.extend_from_slice(b"X-EPOCAGENDAENTRYTYPE:APPOINTMENT\r\n");
    }
    cal.extend_from_slice(b"END:VEVENT\r\nEND:VCALENDAR\r\n");
    PhoneItem::new("text/x-vcalendar", cal)
}

/// To-do `index`.
pub fn todo(profile: &DeviceProfile, index: usize, seed: u64) -> PhoneItem {
    let mut rng = Rng::new(seed.wrapping_add(index as u64 * 15_485_863) ^ 0x7070);
    let style = profile.text_style;
    let due = Date {
        year: 2006,
        month: 11,
        day: 1,
    }
    .add_days(index as i64);
    let mut cal = Vec::new();
    cal.extend_from_slice(b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\n");
    text_line(
        &mut cal,
        "SUMMARY",
        &format!("{} {index}", fits(style, rng.pick(TODOS))),
        style,
    );
    cal.extend_from_slice(
        format!(
            "DUE:{}T170000Z\r\nPRIORITY:{}\r\nSTATUS:NEEDS ACTION\r\n",
            due.basic(),
            1 + rng.below(3)
        )
        .as_bytes(),
    );
    if symbian(profile) {
        cal.extend_from_slice(b"X-EPOCAGENDAENTRYTYPE:TODO\r\n");
    }
    cal.extend_from_slice(b"END:VTODO\r\nEND:VCALENDAR\r\n");
    PhoneItem::new("text/x-vcalendar", cal)
}

/// Note `index`, as text/plain or a vNote, whichever the phone's notes datastore takes.
pub fn note(profile: &DeviceProfile, index: usize, seed: u64) -> PhoneItem {
    let mut rng = Rng::new(seed.wrapping_add(index as u64 * 31_337) ^ 0x0707);
    let body = format!(
        "Note {index}: {}\r\n{} and {}",
        rng.pick(TODOS),
        rng.pick(SUBJECTS),
        rng.pick(CITIES)
    );
    let body = fits(profile.text_style, &body);
    let vnote = profile
        .datastore(Datastore::Notes)
        .is_some_and(|d| d.content_type.eq_ignore_ascii_case("text/x-vnote"));
    if vnote {
        let mut out = b"BEGIN:VNOTE\r\nVERSION:1.1\r\n".to_vec();
        text_line(
            &mut out,
            "BODY",
            &body.replace("\r\n", "\\n"),
            profile.text_style,
        );
        out.extend_from_slice(b"END:VNOTE\r\n");
        PhoneItem::new("text/x-vnote", out)
    } else {
        let bytes = match profile.text_style {
            TextStyle::Latin1EightBit => latin1(&body),
            TextStyle::QuotedPrintableWindows1252 => {
                encoding_rs::WINDOWS_1252.encode(&body).0.into_owned()
            }
            _ => body.into_bytes(),
        };
        PhoneItem::new("text/plain", bytes)
    }
}

/// A phone store filled as `spec` says, for `profile`'s datastores (items it has no
/// datastore for are left out). Every item is new to the phone: its first sync sends them all.
pub fn generate(profile: &DeviceProfile, spec: &DataSetSpec) -> PhoneStore {
    let mut store = PhoneStore::new();
    if profile.datastore(Datastore::Contacts).is_some() {
        for index in 0..spec.contacts {
            let photo = if index == 0 { spec.photo_bytes } else { None };
            store.add(
                Datastore::Contacts,
                contact(profile, index, spec.seed, photo),
            );
        }
    }
    if let Some(calendar) = profile.datastore(Datastore::Calendar) {
        for index in 0..spec.events {
            store.add(calendar.kind, event(profile, index, spec.seed));
        }
    }
    if let Some(tasks) = profile.datastore(Datastore::Tasks) {
        for index in 0..spec.tasks {
            store.add(tasks.kind, todo(profile, index, spec.seed));
        }
    }
    if profile.datastore(Datastore::Notes).is_some() {
        for index in 0..spec.notes {
            store.add(Datastore::Notes, note(profile, index, spec.seed));
        }
    }
    store
}
