//! Notes: vNote 1.1 (BODY often quoted-printable) and text/plain, and their
//! conversion to the iCalendar VJOURNAL stored on the PC.

use super::content::{self, Component, Property, WriteOptions};
use super::error::ParseError;

/// A note as the phone sends it, held as a VNOTE component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub component: Component,
}

impl Note {
    /// Parses a vNote, or takes any other bytes as a text/plain note
    /// (UTF-8, else windows-1252).
    pub fn parse(input: &[u8]) -> Result<Note, ParseError> {
        let start = input
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(input.len());
        if input[start..].to_ascii_uppercase().starts_with(b"BEGIN:") {
            return Ok(Note {
                component: content::parse_object(input)?.component,
            });
        }
        Ok(Note::from_text(&super::codec::decode_text(input, None)))
    }

    /// Why `text`, a phone's text/plain note already decoded from its charset, cannot be one:
    /// binary data, a document in another format, or a base64 payload sent without Meta
    /// Format b64. Stored as a note, each would be unreadable on the PC and sent back to
    /// phones as garbage, so the engine refuses it (and keeps the bytes in `rejected`).
    pub fn not_plain_text(text: &str) -> Option<String> {
        if let Some((at, c)) = text
            .chars()
            .enumerate()
            .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
        {
            return Some(format!(
                "binary data, not text: control character U+{:04X} at character {at}",
                c as u32
            ));
        }
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        if let Some(what) = document_kind(trimmed) {
            return Some(format!(
                "{what}, not a text note (SIF notes are text/x-s4j-sifn, vNotes text/x-vnote)"
            ));
        }
        let joined: String = trimmed.split(['\r', '\n']).collect();
        if joined.len() >= 8
            && joined.len() % 4 == 0
            && joined
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            use base64::Engine as _;
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&joined) {
                let decoded = String::from_utf8_lossy(&decoded);
                if let Some(what) = document_kind(decoded.trim()) {
                    return Some(format!(
                        "base64 text that decodes to {what}; an encoded item needs \
                         <Meta><Format>b64</Format>"
                    ));
                }
            }
        }
        None
    }

    /// A vNote 1.1 holding `text`.
    pub fn from_text(text: &str) -> Note {
        let mut component = Component::new("VNOTE");
        component.properties.push(Property::raw("VERSION", "1.1"));
        component.properties.push(Property::text("BODY", text));
        Note { component }
    }

    pub fn body(&self) -> String {
        self.component.text_of("BODY").unwrap_or_default()
    }

    /// The first non-empty line of the body (phones show it as the title).
    pub fn first_line(&self) -> String {
        self.body()
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_string()
    }

    pub fn write_vnote(&self) -> String {
        content::write_component(&self.component, &WriteOptions::legacy())
    }

    /// text/plain form (the body with CRLF line ends, as phones expect).
    pub fn write_plain_text(&self) -> String {
        self.body().replace("\r\n", "\n").replace('\n', "\r\n")
    }

    /// As a VJOURNAL inside an iCalendar 2.0 VCALENDAR: BODY becomes
    /// DESCRIPTION, its first line SUMMARY, DCREATED becomes CREATED; other
    /// properties are kept.
    pub fn to_journal(&self) -> Component {
        let mut journal = Component::new("VJOURNAL");
        journal
            .properties
            .push(Property::text("SUMMARY", &self.first_line()));
        for property in &self.component.properties {
            let mut property = property.clone();
            match property.name.as_str() {
                "VERSION" => continue,
                "BODY" => property.name = "DESCRIPTION".into(),
                "DCREATED" => property.name = "CREATED".into(),
                _ => {}
            }
            journal.properties.push(property);
        }
        let mut calendar = Component::new("VCALENDAR");
        calendar.properties.push(Property::raw("VERSION", "2.0"));
        calendar
            .properties
            .push(Property::text("PRODID", "-//handsync//handsync//EN"));
        calendar.components.push(journal);
        calendar
    }

    /// From a VJOURNAL (or a VCALENDAR holding one). The body is
    /// DESCRIPTION, or SUMMARY when there is none.
    pub fn from_journal(component: &Component) -> Note {
        let journal = if component.name == "VCALENDAR" {
            component
                .children_named("VJOURNAL")
                .next()
                .cloned()
                .unwrap_or_default()
        } else {
            component.clone()
        };
        let mut note = Component::new("VNOTE");
        note.properties.push(Property::raw("VERSION", "1.1"));
        let has_description = journal.property("DESCRIPTION").is_some();
        for property in &journal.properties {
            let mut property = property.clone();
            match property.name.as_str() {
                "DESCRIPTION" => property.name = "BODY".into(),
                "SUMMARY" if has_description => continue,
                "SUMMARY" => property.name = "BODY".into(),
                "CREATED" => property.name = "DCREATED".into(),
                "DTSTAMP" | "UID" | "SEQUENCE" | "DTSTART" => continue,
                _ => {}
            }
            note.properties.push(property);
        }
        Note { component: note }
    }
}

/// The kind of document `text` is, when it is one rather than prose: an XML document or a
/// vCard/vCalendar/vNote object.
fn document_kind(text: &str) -> Option<&'static str> {
    let lower: String = text
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<?xml") || (lower.starts_with("<note") && text.ends_with("</note>")) {
        return Some("an XML document");
    }
    let is_object = lower.starts_with("begin:")
        && text
            .lines()
            .last()
            .is_some_and(|last| last.trim().to_ascii_lowercase().starts_with("end:"));
    is_object.then_some("a vCard/vCalendar/vNote object")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qp_vnote_body_and_first_line() {
        let note = Note::parse(b"BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:=\r\nEink=C3=A4ufe=0D=0AMilch\r\nDCREATED:20060927T202756Z\r\nEND:VNOTE\r\n").unwrap();
        assert_eq!(note.body(), "Einkäufe\r\nMilch".replace("\r\n", "\n"));
        assert_eq!(note.first_line(), "Einkäufe");
        let written = note.write_vnote();
        assert!(written
            .contains("BODY;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Eink=C3=A4ufe=0D=0AMilch"));
        assert_eq!(Note::parse(written.as_bytes()).unwrap(), note);
    }

    #[test]
    fn plain_text_notes() {
        let note = Note::parse(b"Buy milk\nand bread").unwrap();
        assert_eq!(note.body(), "Buy milk\nand bread");
        assert_eq!(note.write_plain_text(), "Buy milk\r\nand bread");
        let latin1 = Note::parse(b"Caf\xe9").unwrap();
        assert_eq!(latin1.body(), "Café");
    }

    #[test]
    fn journal_round_trip() {
        let note = Note::parse(b"BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY:Title\\nmore\r\nDCREATED:20051030T111735Z\r\nX-IRMC-LUID:12\r\nEND:VNOTE\r\n").unwrap();
        let journal = note.to_journal();
        let entry = &journal.components[0];
        assert_eq!(entry.text_of("SUMMARY").unwrap(), "Title");
        assert_eq!(entry.text_of("DESCRIPTION").unwrap(), "Title\nmore");
        assert_eq!(entry.text_of("CREATED").unwrap(), "20051030T111735Z");
        assert_eq!(Note::from_journal(&journal), note);
    }

    #[test]
    fn what_is_not_plain_text() {
        for prose in [
            "Buy milk\r\nand bread\tnow",
            "Passwort",
            "<b>bold</b> is how HTML says it",
            "Einkäufe: 3 × Milch",
            "",
        ] {
            assert_eq!(Note::not_plain_text(prose), None, "{prose:?}");
        }
        let binary = Note::not_plain_text("PK\u{3}\u{4}\u{14}").unwrap();
        assert!(binary.contains("U+0003 at character 2"), "{binary}");
        let sif = "<?xml version=\"1.0\"?><note><SIFVersion>1.1</SIFVersion></note>";
        assert!(Note::not_plain_text(sif)
            .unwrap()
            .starts_with("an XML document"));
        let vnote = "BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY:Hi\r\nEND:VNOTE\r\n";
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(vnote);
        let why = Note::not_plain_text(&encoded).unwrap();
        assert!(
            why.contains("decodes to a vCard/vCalendar/vNote object"),
            "{why}"
        );
        assert!(why.contains("<Format>b64</Format>"), "{why}");
    }
}
