//! The typed SyncML model (SyncHdr, SyncBody, commands, MetInf, DevInf) and its XML and WBXML
//! mappings.
//!
//! [`Message::read`] reads a message from any [`EventReader`](crate::markup::EventReader)
//! (XML or WBXML), [`Message::write`] writes one to any [`Sink`](crate::markup::Sink): one
//! mapping serves both encodings. [`DevInf::read`] and [`DevInf::write`] do the same for a
//! standalone device information document. [`decode_document`], [`document_to_xml`] and
//! [`document_to_wbxml`] do the same from and to bytes.
//!
//! Choices, in short (details where the types are defined):
//! - `CmdID`/`CmdRef` stay the strings the phone sent (the engine echoes them); `MsgID` and
//!   `MsgRef` are numbers. `cmd_id` and [`Message::header`] are `Option`s because real
//!   fragments (libwbxml's test messages) omit them; everything else the specification
//!   requires is required, with an error naming the path.
//! - Children are accepted in any order; scalars are trimmed, payloads kept exactly. Elements
//!   the model does not know, and second copies of single elements, are kept verbatim in the
//!   enclosing struct's `extensions` and written back after its known children.
//! - Text may come as text or OPAQUE: scalars must be UTF-8, payloads that are not become
//!   [`Data::Binary`]. A WBXML DevInf in OPAQUE becomes [`Data::DevInf`].
//! - The writer writes the element set of the version being written (see `write.rs`), and
//!   `CTCap` in the layout of the DevInf version (see `devinf.rs`).
pub mod san;
pub mod xml;

mod codec;
mod devinf;
mod error;
mod metinf;
mod model;
mod read;
mod status;
mod write;

pub use codec::{
    decode, decode_document, document_to_wbxml, document_to_xml, document_to_xml_sized,
    sniff_encoding, to_wbxml, to_xml, Document, Encoding,
};
pub use devinf::*;
pub use error::SyncMlError;
pub use metinf::{Anchor, Mem, MetInf, Meta};
pub use model::*;
pub use read::{MAX_COMMAND_NESTING, MAX_DEPTH};
pub use status::{AlertCode, StatusCode};

#[cfg(test)]
mod tests;
