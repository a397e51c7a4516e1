//! Whole messages in and out: encoding detection, and the model read from or written to bytes.
//!
//! Meta `Type` values are written as the model holds them: a phone's
//! `application/vnd.syncml-devinf+wbxml` stays so when its message is shown as XML (libwbxml
//! rewrites it to `+xml`). What handsync itself sends sets the type that fits the encoding.

use super::xml::{xml_text, XmlOptions, XmlReader, XmlWriter};
use super::{Command, Data, DevInf, Message, SyncMlError};
use crate::markup::{DocumentType, Position, Version};
use crate::wbxml;

/// The two encodings of SyncML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/vnd.syncml+xml`
    Xml,
    /// `application/vnd.syncml+wbxml`
    Wbxml,
}

impl Encoding {
    /// The MIME type of a SyncML message in this encoding.
    pub fn syncml_content_type(self) -> &'static str {
        match self {
            Encoding::Xml => "application/vnd.syncml+xml",
            Encoding::Wbxml => "application/vnd.syncml+wbxml",
        }
    }

    /// The MIME type of a DevInf document in this encoding.
    pub fn devinf_content_type(self) -> &'static str {
        match self {
            Encoding::Xml => "application/vnd.syncml-devinf+xml",
            Encoding::Wbxml => "application/vnd.syncml-devinf+wbxml",
        }
    }
}

/// What a SyncML byte stream holds: a message, or a standalone device information document.
// One per decoded input, never in bulk: boxing would only add an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    Message(Message),
    DevInf(DevInf),
}

impl Document {
    /// The specification version of the document (VerDTD).
    pub fn version(&self) -> Version {
        match self {
            Document::Message(m) => m.version,
            Document::DevInf(d) => d.ver_dtd,
        }
    }
}

/// XML starts with `<` (after a byte-order mark or whitespace); everything else is taken as
/// WBXML, whose first byte is its version (0x00..0x03).
pub fn sniff_encoding(bytes: &[u8]) -> Encoding {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Encoding::Xml,
        _ => Encoding::Wbxml,
    }
}

fn not_syncml(bytes: &[u8]) -> Option<SyncMlError> {
    let first = *bytes.first()?;
    if first <= 0x03 {
        return None;
    }
    // Neither '<' nor a WBXML version byte: say what it does start with, so a user who fed
    // an HTTP request or a vCard sees it at once.
    let shown: String = bytes
        .iter()
        .take(24)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    Some(SyncMlError::new(
        String::new(),
        Some(Position::Byte(0)),
        format!(
            "not a SyncML message: it starts with '{shown}' (0x{first:02x}); expected '<' for \
             XML or a WBXML version byte 0x00..0x03"
        ),
    ))
}

/// Reads a message or a DevInf document, in whichever encoding it is.
pub fn decode_document(bytes: &[u8]) -> Result<(Document, Encoding), SyncMlError> {
    let markup = |e| SyncMlError::from_markup(String::new(), e);
    match sniff_encoding(bytes) {
        Encoding::Xml => {
            let text = xml_text(bytes).map_err(markup)?;
            let mut reader = XmlReader::new(&text);
            let devinf = xml_root_is_devinf(&text);
            let document = if devinf {
                Document::DevInf(DevInf::read(&mut reader)?)
            } else {
                Document::Message(Message::read(&mut reader)?)
            };
            Ok((document, Encoding::Xml))
        }
        Encoding::Wbxml => {
            if let Some(error) = not_syncml(bytes) {
                return Err(error);
            }
            let mut reader = wbxml::Reader::new(bytes).map_err(markup)?;
            let document = match wbxml::sniff_document(bytes) {
                Some(DocumentType::DevInf(_)) => Document::DevInf(DevInf::read(&mut reader)?),
                _ => Document::Message(Message::read(&mut reader)?),
            };
            Ok((document, Encoding::Wbxml))
        }
    }
}

/// Reads a SyncML message (not a standalone DevInf), in whichever encoding it is.
pub fn decode(bytes: &[u8]) -> Result<Message, SyncMlError> {
    match decode_document(bytes)? {
        (Document::Message(message), _) => Ok(message),
        (Document::DevInf(_), _) => Err(SyncMlError::new(
            "DevInf".into(),
            Some(Position::Byte(0)),
            "a device information document, not a SyncML message",
        )),
    }
}

/// Whether the first element of an XML text is `<DevInf>` (with or without a prefix).
fn xml_root_is_devinf(text: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        return name.rsplit(':').next() == Some("DevInf");
    }
    false
}

/// Writes a message as XML.
pub fn to_xml(message: &Message, options: XmlOptions) -> Result<String, SyncMlError> {
    let mut writer = XmlWriter::new(message.version, options);
    message.write(&mut writer)?;
    writer
        .finish()
        .map_err(|e| SyncMlError::from_markup(String::new(), e))
}

/// Writes a message as WBXML with the code pages of its version.
pub fn to_wbxml(message: &Message, options: &wbxml::WriterOptions) -> Result<Vec<u8>, SyncMlError> {
    let mut writer = wbxml::Writer::new(DocumentType::SyncMl(message.version), options.clone());
    message.write(&mut writer)?;
    writer
        .finish()
        .map_err(|e| SyncMlError::from_markup(String::new(), e))
}

/// Writes a message or DevInf document as XML.
pub fn document_to_xml(document: &Document, options: XmlOptions) -> Result<String, SyncMlError> {
    document_to_xml_sized(document, options, 0)
}

/// As [`document_to_xml`], with room for `size_hint` bytes made at once (the size of the
/// input it was decoded from is a good guess).
pub fn document_to_xml_sized(
    document: &Document,
    options: XmlOptions,
    size_hint: usize,
) -> Result<String, SyncMlError> {
    let mut writer = XmlWriter::new(document.version(), options);
    writer.reserve(size_hint);
    match document {
        Document::Message(message) => message.write(&mut writer)?,
        Document::DevInf(devinf) => devinf.write(&mut writer)?,
    }
    writer
        .finish()
        .map_err(|e| SyncMlError::from_markup(String::new(), e))
}

/// Writes a message or DevInf document as WBXML.
pub fn document_to_wbxml(
    document: &Document,
    options: &wbxml::WriterOptions,
) -> Result<Vec<u8>, SyncMlError> {
    match document {
        Document::Message(message) => to_wbxml(message, options),
        Document::DevInf(devinf) => {
            let mut writer =
                wbxml::Writer::new(DocumentType::DevInf(devinf.ver_dtd), options.clone());
            devinf.write(&mut writer)?;
            writer
                .finish()
                .map_err(|e| SyncMlError::from_markup(String::new(), e))
        }
    }
}

impl Message {
    /// The DevInf documents this message carries (in `Put` or `Results` items).
    pub fn devinfs(&self) -> impl Iterator<Item = &DevInf> {
        self.body.commands.iter().flat_map(|command| {
            let items = match command {
                Command::Put(put) => put.items.as_slice(),
                Command::Results(results) => results.items.as_slice(),
                _ => &[],
            };
            items.iter().filter_map(|item| match &item.data {
                Some(Data::DevInf(devinf)) => Some(devinf.as_ref()),
                _ => None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_tells_xml_from_wbxml() {
        assert_eq!(sniff_encoding(b"  <SyncML/>"), Encoding::Xml);
        assert_eq!(sniff_encoding(b"\xEF\xBB\xBF<SyncML/>"), Encoding::Xml);
        assert_eq!(sniff_encoding(b"\x02\x00\x00\x6a"), Encoding::Wbxml);
    }

    #[test]
    fn something_else_is_named_for_what_it_starts_with() {
        let error = decode(b"POST /sync HTTP/1.1\r\n").unwrap_err();
        assert!(error.to_string().contains("POST /sync"), "{error}");
        let error = decode(b"BEGIN:VCARD\r\n").unwrap_err();
        assert!(error.to_string().contains("BEGIN:VCARD"), "{error}");
    }

    #[test]
    fn a_devinf_document_is_not_a_message() {
        let xml = br#"<DevInf xmlns="syncml:devinf"><VerDTD>1.1</VerDTD><Man>Nokia</Man></DevInf>"#;
        let (document, encoding) = decode_document(xml).unwrap();
        assert_eq!(encoding, Encoding::Xml);
        assert!(matches!(&document, Document::DevInf(d) if d.man.as_deref() == Some("Nokia")));
        assert!(decode(xml).is_err());
        let bytes = document_to_wbxml(&document, &wbxml::WriterOptions::default()).unwrap();
        let (again, encoding) = decode_document(&bytes).unwrap();
        assert_eq!(encoding, Encoding::Wbxml);
        assert_eq!(again, document);
    }
}
