//! SIF, the XML formats of Funambol and sync4j clients (Outlook, Windows Mobile):
//! `text/x-s4j-sifc` (contact), `-sife` (appointment), `-sift` (task), `-sifn` (note).
//!
//! A SIF document is one root element (`<contact>`, `<appointment>`, `<task>`, `<note>`)
//! holding flat fields named after Outlook's properties, plus `<Exceptions>` in recurring
//! items. Reading maps the fields onto the stored form (vCard 3.0, iCalendar 2.0 VEVENT,
//! VTODO, VJOURNAL); writing maps the stored form back. Unknown fields are ignored.
//!
//! - [`contact`]: SIF-C ↔ vCard 3.0;
//! - [`calendar`]: SIF-E ↔ VEVENT, SIF-T ↔ VTODO (recurrence in [`recurrence`]);
//! - [`note`]: SIF-N ↔ VJOURNAL.

use std::fmt;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::content::Component;
use super::datastore::Datastore;
use super::merge::PhoneCapabilities;
use super::stored::{self, StoredItem};
use super::vcard::VCard;

pub mod calendar;
pub mod contact;
pub mod note;
mod recurrence;
#[cfg(test)]
mod tests;

/// The four SIF types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SifKind {
    Contact,
    Event,
    Task,
    Note,
}

impl SifKind {
    pub const ALL: [SifKind; 4] = [
        SifKind::Contact,
        SifKind::Event,
        SifKind::Task,
        SifKind::Note,
    ];

    /// The SIF type a content type names (`text/x-s4j-sifc`...), case-insensitive.
    pub fn from_content_type(content_type: &str) -> Option<SifKind> {
        let wanted = content_type.trim();
        SifKind::ALL
            .into_iter()
            .find(|kind| kind.content_type().eq_ignore_ascii_case(wanted))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            SifKind::Contact => "text/x-s4j-sifc",
            SifKind::Event => "text/x-s4j-sife",
            SifKind::Task => "text/x-s4j-sift",
            SifKind::Note => "text/x-s4j-sifn",
        }
    }

    /// The name of the document's root element.
    pub fn root(self) -> &'static str {
        match self {
            SifKind::Contact => "contact",
            SifKind::Event => "appointment",
            SifKind::Task => "task",
            SifKind::Note => "note",
        }
    }

    fn from_root(root: &str) -> Option<SifKind> {
        SifKind::ALL.into_iter().find(|kind| kind.root() == root)
    }

    /// Whether the datastore holds this kind (events and tasks are both calendar items:
    /// clients keep them in either datastore).
    fn fits(self, datastore: Datastore) -> bool {
        match self {
            SifKind::Contact => datastore == Datastore::Contacts,
            SifKind::Event | SifKind::Task => {
                matches!(datastore, Datastore::Calendar | Datastore::Tasks)
            }
            SifKind::Note => datastore == Datastore::Notes,
        }
    }
}

/// Why a SIF document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SifError(pub String);

impl fmt::Display for SifError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SifError {}

/// A SIF document as read: its kind and its fields in document order. A field inside a
/// container (`<Exceptions><ExcludeDate>`) is named `Exceptions/ExcludeDate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SifDocument {
    pub kind: SifKind,
    pub fields: Vec<(String, String)>,
}

impl SifDocument {
    /// The text of the first field of that name, when not empty (SIF writers send empty
    /// elements for fields without a value).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.trim().is_empty())
    }

    /// Every non-empty value of that field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.fields
            .iter()
            .filter(move |(field, value)| field == name && !value.trim().is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// A `0`/`1` flag (Outlook's booleans; `true`/`false` read too).
    pub fn flag(&self, name: &str) -> bool {
        matches!(
            self.get(name)
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref(),
            Some("1" | "true" | "-1")
        )
    }

    /// A number field; text that is not a number reads as absent.
    pub fn number(&self, name: &str) -> Option<i64> {
        self.get(name)?.trim().parse().ok()
    }

    /// Reads a SIF document. `bytes` are UTF-8 (else windows-1252, as some Windows clients
    /// send); the `<?xml?>` prolog is optional. Errors name what is wrong and where.
    pub fn parse(bytes: &[u8]) -> Result<SifDocument, SifError> {
        let text = super::codec::decode_text(bytes, None);
        let mut reader = Reader::from_str(&text);
        let mut kind = None;
        let mut fields: Vec<(String, String)> = Vec::new();
        // Open elements below the root: their names and whether each got a field.
        let mut open: Vec<String> = Vec::new();
        let mut root_closed = false;
        loop {
            let at = reader.buffer_position();
            let event = reader
                .read_event()
                .map_err(|e| SifError(format!("SIF is not well-formed XML (at byte {at}): {e}")))?;
            match event {
                Event::Start(start) if kind.is_none() => {
                    kind = Some(root_kind(start.local_name().as_ref())?);
                }
                Event::Empty(start) if kind.is_none() => {
                    kind = Some(root_kind(start.local_name().as_ref())?);
                    root_closed = true;
                }
                Event::Start(start) => {
                    if root_closed {
                        return Err(SifError("SIF has content after its root element".into()));
                    }
                    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                    open.push(name);
                    if let Some(path) = field_path(&open) {
                        fields.push((path, String::new()));
                    }
                }
                Event::Empty(start) => {
                    if root_closed {
                        return Err(SifError("SIF has content after its root element".into()));
                    }
                    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                    open.push(name);
                    if let Some(path) = field_path(&open) {
                        fields.push((path, String::new()));
                    }
                    open.pop();
                }
                // The root's end: nothing below it is open.
                Event::End(_) if open.is_empty() => root_closed = true,
                Event::End(_) => {
                    open.pop();
                }
                Event::Text(content) => {
                    let value = content.unescape().map_err(|e| {
                        SifError(format!(
                            "SIF has a bad character reference (at byte {at}): {e}"
                        ))
                    })?;
                    add_text(&mut fields, &open, kind.is_some() && !root_closed, &value)?;
                }
                Event::CData(content) => {
                    let value = String::from_utf8_lossy(&content.into_inner()).into_owned();
                    add_text(&mut fields, &open, kind.is_some() && !root_closed, &value)?;
                }
                Event::Eof => break,
                // Prolog, comments, processing instructions, DOCTYPE.
                _ => {}
            }
        }
        let Some(kind) = kind else {
            return Err(SifError("SIF document without a root element".into()));
        };
        if !root_closed {
            return Err(SifError(format!(
                "SIF is not well-formed XML: <{}> is not closed",
                kind.root()
            )));
        }
        for (_, value) in &mut fields {
            // XML readers see Windows line ends as CR LF; the stored form uses LF.
            if value.contains('\r') {
                *value = value.replace("\r\n", "\n").replace('\r', "\n");
            }
        }
        Ok(SifDocument { kind, fields })
    }
}

fn root_kind(name: &[u8]) -> Result<SifKind, SifError> {
    let name = String::from_utf8_lossy(name);
    SifKind::from_root(&name).ok_or_else(|| {
        SifError(format!(
            "SIF root element is <{name}>, not <contact>, <appointment>, <task> or <note>"
        ))
    })
}

/// The field name of the innermost open element: top-level fields by name, fields of a
/// container as `Container/Field`; deeper elements are not fields.
fn field_path(open: &[String]) -> Option<String> {
    match open {
        [field] => Some(field.clone()),
        [container, field] => Some(format!("{container}/{field}")),
        _ => None,
    }
}

fn add_text(
    fields: &mut [(String, String)],
    open: &[String],
    inside_root: bool,
    value: &str,
) -> Result<(), SifError> {
    if !inside_root {
        if value.trim().is_empty() {
            return Ok(());
        }
        return Err(SifError(format!(
            "SIF has text outside its root element: {:?}",
            value.trim().chars().take(40).collect::<String>()
        )));
    }
    if let (Some(path), Some(last)) = (field_path(open), fields.last_mut()) {
        if last.0 == path {
            last.1.push_str(value);
        }
    }
    Ok(())
}

/// Writes a SIF document: the prolog, the root, `SIFVersion` and the fields in order,
/// escaped. Fields are added with [`SifWriter::field`].
#[derive(Debug)]
pub struct SifWriter {
    kind: SifKind,
    out: String,
}

impl SifWriter {
    pub fn new(kind: SifKind) -> SifWriter {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        out.push('<');
        out.push_str(kind.root());
        out.push_str("><SIFVersion>1.1</SIFVersion>");
        SifWriter { kind, out }
    }

    /// `<name>value</name>`; nothing for an empty value.
    pub fn field(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        push_escaped(&mut self.out, value);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// A container of fields (`<Exceptions>`), written even when empty.
    pub fn container(&mut self, name: &str, fields: &[(&str, String)]) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        for (field, value) in fields {
            self.field(field, value);
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</");
        self.out.push_str(self.kind.root());
        self.out.push('>');
        self.out
    }
}

/// XML escaping; line ends become CR LF (`&#13;` keeps the CR through XML line-end
/// normalisation), which Windows clients show as line breaks; characters XML 1.0 cannot
/// hold are dropped.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#13;\n"),
            '\r' => {}
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// A SIF item a client sent, as stored. `expected` is the datastore it came to; the root
/// says which kind it is (a task in a calendar datastore is read as a task). The error says
/// what is wrong.
pub fn from_sif(expected: Datastore, bytes: &[u8]) -> Result<StoredItem, String> {
    let document = SifDocument::parse(bytes).map_err(|e| e.to_string())?;
    if !document.kind.fits(expected) {
        return Err(format!(
            "SIF <{}> where {} was expected",
            document.kind.root(),
            match expected {
                Datastore::Contacts => "a contact",
                Datastore::Calendar | Datastore::Tasks => "an appointment or task",
                Datastore::Notes => "a note",
            }
        ));
    }
    let source_type = document.kind.content_type();
    match document.kind {
        SifKind::Contact => {
            let card = contact::to_vcard(&document);
            Ok(stored::contact_v30(card, source_type, bytes.to_vec()))
        }
        SifKind::Event | SifKind::Task => {
            let calendar = calendar::to_calendar(&document)?;
            stored::phone_calendar(calendar, source_type, bytes)
        }
        SifKind::Note => stored::phone_calendar(note::to_calendar(&document), source_type, bytes),
    }
}

/// A stored item as SIF: its kind and the document. A calendar item goes out as the kind
/// its component is (VEVENT an appointment, VTODO a task); `None` when the stored form
/// cannot be read.
pub fn to_sif(datastore: Datastore, canonical: &str) -> Option<(SifKind, String)> {
    match datastore {
        Datastore::Contacts => {
            let card = VCard::parse(canonical.as_bytes()).ok()?;
            Some((SifKind::Contact, contact::from_vcard(&card)))
        }
        Datastore::Calendar | Datastore::Tasks | Datastore::Notes => {
            let parsed = super::calendar::Calendar::parse(canonical.as_bytes()).ok()?;
            let item = parsed.items().into_iter().find(|item| {
                item.component.property("RECURRENCE-ID").is_none()
                    && matches!(
                        item.component.name.as_str(),
                        "VEVENT" | "VTODO" | "VJOURNAL"
                    )
            })?;
            match item.component.name.as_str() {
                "VEVENT" => Some((SifKind::Event, calendar::event_to_sif(&item))),
                "VTODO" => Some((SifKind::Task, calendar::task_to_sif(&item))),
                _ => Some((SifKind::Note, note::from_journal(&item.component))),
            }
        }
    }
}

/// A VCALENDAR 2.0 around one item, as the stored form begins.
fn calendar_around(item: Component) -> Component {
    let mut calendar = Component::new("VCALENDAR");
    calendar
        .properties
        .push(super::content::Property::raw("VERSION", "2.0"));
    calendar.components.push(item);
    calendar
}

/// Categories as SIF writes them: `A, B`; read split on commas (and semicolons, which
/// some clients use).
fn split_categories(text: &str) -> Vec<String> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn categories_property(text: &str) -> Option<super::content::Property> {
    let items = split_categories(text);
    if items.is_empty() {
        return None;
    }
    let escaped: Vec<String> = items.iter().map(|c| super::codec::escape_text(c)).collect();
    Some(super::content::Property::raw(
        "CATEGORIES",
        &escaped.join(","),
    ))
}

fn categories_of(component: &Component) -> String {
    component
        .properties_named("CATEGORIES")
        .flat_map(super::content::Property::list_items)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a SIF client can hold of a datastore's items, as merge capabilities: the stored
/// properties SIF has fields for. A client's Replace then keeps what SIF cannot carry (UID,
/// REV, X- properties of other programs, numbers beyond SIF's fields) from the stored item.
pub fn capabilities(datastore: Datastore) -> PhoneCapabilities {
    let names: &[&str] = match datastore {
        Datastore::Contacts => &[
            "N",
            "FN",
            "ORG",
            "TITLE",
            "NICKNAME",
            "ROLE",
            "NOTE",
            "EMAIL",
            "TEL",
            "ADR",
            "URL",
            "BDAY",
            "X-ANNIVERSARY",
            "CATEGORIES",
            "PHOTO",
            "X-SPOUSE",
            "X-CHILDREN",
            "X-MANAGER",
            "X-ASSISTANT",
            "X-IM",
        ],
        Datastore::Calendar | Datastore::Tasks => &[
            "SUMMARY",
            "DESCRIPTION",
            "LOCATION",
            "CATEGORIES",
            "CLASS",
            "PRIORITY",
            "DTSTART",
            "DTEND",
            "DUE",
            "RRULE",
            "EXDATE",
            "RDATE",
            "VALARM",
            "TRANSP",
            "X-MICROSOFT-CDO-BUSYSTATUS",
            "STATUS",
            "COMPLETED",
            "PERCENT-COMPLETE",
            "X-OUTLOOK-TASK-STATUS",
        ],
        Datastore::Notes => &[
            "SUMMARY",
            "DESCRIPTION",
            "CATEGORIES",
            "X-FUNAMBOL-COLOR",
            "X-FUNAMBOL-HEIGHT",
            "X-FUNAMBOL-WIDTH",
            "X-FUNAMBOL-LEFT",
            "X-FUNAMBOL-TOP",
        ],
    };
    let mut capabilities = PhoneCapabilities::with_properties(names);
    if datastore == Datastore::Contacts {
        for (name, count) in [("EMAIL", 3), ("TEL", 13), ("ADR", 3), ("URL", 2)] {
            capabilities.set_max_occurrences(name, count);
        }
    }
    capabilities
}
