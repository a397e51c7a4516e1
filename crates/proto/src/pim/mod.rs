//! Personal information: vCard, vCalendar, iCalendar and vNote.
//!
//! The phone data layer, bottom up:
//! - [`codec`]: quoted-printable, base64, charsets, text escaping;
//! - [`content`]: content lines and components shared by every format
//!   (unfolding, parameters, value decoding; legacy and modern writers);
//! - [`datetime`], [`recurrence`], [`timezone`]: dates, RRULE in both
//!   grammars, VTIMEZONE and TZ/DAYLIGHT;
//! - [`vcard`], [`calendar`], [`note`]: typed access and the conversions
//!   between the phone's format and the canonical one stored on the PC
//!   (vCard 3.0, iCalendar 2.0);
//! - [`identity`]: keys for slow-sync matching; [`merge`]: field-by-field
//!   merge that keeps what a phone cannot hold;
//! - [`profile`]: phone quirk profiles (data files in `phones/`);
//!   [`phone`]: the per-phone pipeline built on them;
//! - [`stored`]: the one stored shape of an item, whether a phone sent it or a file held
//!   it; [`stored_merge`]: a phone's version merged into that stored shape;
//! - [`vdir`]: the file name of each item in a vdir.

pub mod calendar;
pub mod codec;
pub mod content;
mod datastore;
pub mod datetime;
pub mod error;
pub mod identity;
pub mod merge;
pub mod note;
pub mod phone;
pub mod profile;
pub mod recurrence;
pub mod sif;
pub mod stored;
pub mod stored_merge;
pub mod timezone;
pub mod vcard;
pub mod vdir;

pub use content::{Component, Dialect, Family, Param, ParsedObject, Property, Value, WriteOptions};
pub use datastore::{Datastore, UnknownDatastore};
pub use error::{ParseError, ParseErrorKind};
