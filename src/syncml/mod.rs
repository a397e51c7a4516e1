//! The typed SyncML model (SyncHdr, SyncBody, commands, MetInf, DevInf) and its XML and WBXML
//! mappings.
//!
//! [`Message::read`] reads a message from any [`EventReader`](crate::markup::EventReader)
//! (XML or WBXML), [`Message::write`] writes one to any [`Sink`](crate::markup::Sink): one
//! mapping serves both encodings. [`DevInf::read`] and [`DevInf::write`] do the same for a
//! standalone device information document.
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
    decode, decode_document, document_to_wbxml, document_to_xml, sniff_encoding, to_wbxml, to_xml,
    Document, Encoding,
};
pub use devinf::*;
pub use error::SyncMlError;
pub use metinf::{Anchor, Mem, MetInf, Meta};
pub use model::*;
pub use read::{MAX_COMMAND_NESTING, MAX_DEPTH};
pub use status::{AlertCode, StatusCode};

#[cfg(test)]
mod tests;
