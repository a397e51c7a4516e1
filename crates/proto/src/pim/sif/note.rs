//! SIF-N (`<note>`) ↔ VJOURNAL: Subject is SUMMARY (else the body's first line, as for
//! vNotes), Body DESCRIPTION; the sticky note's colour and place on the screen are kept in
//! X-FUNAMBOL- properties so that they come back.

use super::{calendar_around, categories_of, categories_property, SifDocument, SifKind, SifWriter};
use crate::pim::calendar::Calendar;
use crate::pim::content::{Component, Property};

/// Colour and geometry fields and where they are kept.
const LOOKS: [(&str, &str); 5] = [
    ("Color", "X-FUNAMBOL-COLOR"),
    ("Height", "X-FUNAMBOL-HEIGHT"),
    ("Width", "X-FUNAMBOL-WIDTH"),
    ("Left", "X-FUNAMBOL-LEFT"),
    ("Top", "X-FUNAMBOL-TOP"),
];

/// A SIF-N document as a VCALENDAR 2.0 holding one VJOURNAL.
pub fn to_calendar(document: &SifDocument) -> Calendar {
    let mut journal = Component::new("VJOURNAL");
    let body = document.get("Body").unwrap_or("");
    let subject = document
        .get("Subject")
        .map(str::trim)
        .map(str::to_string)
        .unwrap_or_else(|| {
            body.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or_default()
                .to_string()
        });
    journal.properties.push(Property::text("SUMMARY", &subject));
    if !body.is_empty() {
        journal.properties.push(Property::text("DESCRIPTION", body));
    }
    if let Some(categories) = document.get("Categories").and_then(categories_property) {
        journal.properties.push(categories);
    }
    for (field, property) in LOOKS {
        // Numbers only: they are Outlook's enumerations and pixels.
        if let Some(number) = document.number(field) {
            journal
                .properties
                .push(Property::raw(property, &number.to_string()));
        }
    }
    Calendar {
        component: calendar_around(journal),
    }
}

/// A stored VJOURNAL as SIF-N.
pub fn from_journal(journal: &Component) -> String {
    let mut sif = SifWriter::new(SifKind::Note);
    let summary = journal.text_of("SUMMARY").unwrap_or_default();
    let body = journal
        .text_of("DESCRIPTION")
        .unwrap_or_else(|| summary.clone());
    sif.field("Subject", &summary);
    sif.field("Body", &body);
    sif.field("Categories", &categories_of(journal));
    for (field, property) in LOOKS {
        if let Some(value) = journal.text_of(property) {
            sif.field(field, value.trim());
        }
    }
    sif.finish()
}
