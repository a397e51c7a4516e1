//! Personal information: vCard, vCalendar, iCalendar and vNote.

pub mod calendar;
pub mod codec;
pub mod content;
pub mod datetime;
pub mod error;
pub mod identity;
pub mod merge;
pub mod note;
pub mod phone;
pub mod profile;
pub mod recurrence;
pub mod timezone;
pub mod vcard;
pub mod vdir;

pub use content::{Component, Dialect, Family, Param, ParsedObject, Property, Value, WriteOptions};
pub use error::{ParseError, ParseErrorKind};
