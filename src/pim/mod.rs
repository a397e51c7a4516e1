//! Personal information: vCard, vCalendar, iCalendar and vNote.
