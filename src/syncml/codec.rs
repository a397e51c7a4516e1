//! Bytes in, bytes out: which encoding a message uses, and the model to and from XML or WBXML
//! through the one reader and the one writer.

use super::devinf::DevInf;
use super::error::SyncMlError;
use super::model::Message;
use super::xml::{self, XmlOptions, XmlReader, XmlWriter};
use crate::markup::{DocumentType, MarkupError, Sink};
use crate::wbxml;

/// The two encodings of SyncML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Xml,
    Wbxml,
}

/// A whole document: a SyncML message, or a standalone device information document.
// One per decoded input: not worth a box for the size difference.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    Message(Message),
    DevInf(DevInf),
}

/// XML when the first byte that is not a byte order mark or whitespace is `<`; WBXML
/// otherwise (its first byte is the WBXML version, 0x00..0x03).
pub fn sniff_encoding(bytes: &[u8]) -> Encoding {
    let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match rest.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Encoding::Xml,
        _ => Encoding::Wbxml,
    }
}

fn document_error(error: MarkupError) -> SyncMlError {
    SyncMlError::from_markup(String::new(), error)
}

/// Reads a message or a DevInf document in either encoding.
pub fn decode_document(bytes: &[u8]) -> Result<(Document, Encoding), SyncMlError> {
    match sniff_encoding(bytes) {
        Encoding::Xml => {
            let text = xml::xml_text(bytes).map_err(document_error)?;
            let document = Document::read(&mut XmlReader::new(&text))?;
            Ok((document, Encoding::Xml))
        }
        Encoding::Wbxml => {
            // Not '<' first, and not a WBXML version either: say what it is instead.
            if bytes.first().is_none_or(|&version| version > 0x03) {
                return Err(SyncMlError::new(
                    String::new(),
                    None,
                    format!(
                        "neither XML nor WBXML: the input starts with {:?}",
                        first_line(bytes)
                    ),
                ));
            }
            let mut reader = wbxml::Reader::new(bytes).map_err(document_error)?;
            let document = Document::read(&mut reader)?;
            Ok((document, Encoding::Wbxml))
        }
    }
}

/// Reads a SyncML message in either encoding (a DevInf document is an error).
pub fn decode(bytes: &[u8]) -> Result<Message, SyncMlError> {
    match decode_document(bytes)?.0 {
        Document::Message(message) => Ok(message),
        Document::DevInf(_) => Err(SyncMlError::new(
            "DevInf".to_string(),
            None,
            "expected a SyncML message, found a standalone DevInf document",
        )),
    }
}

impl Document {
    fn document_type(&self) -> DocumentType {
        match self {
            Document::Message(message) => DocumentType::SyncMl(message.version),
            Document::DevInf(devinf) => DocumentType::DevInf(devinf.ver_dtd),
        }
    }

    /// Writes the document to a sink.
    pub fn write(&self, sink: &mut impl Sink) -> Result<(), SyncMlError> {
        match self {
            Document::Message(message) => message.write(sink),
            Document::DevInf(devinf) => devinf.write(sink),
        }
    }
}

/// The document as XML text.
pub fn document_to_xml(document: &Document, options: XmlOptions) -> Result<String, SyncMlError> {
    let mut writer = XmlWriter::new(document.document_type().version(), options);
    document.write(&mut writer)?;
    writer.finish().map_err(document_error)
}

/// The document as WBXML, with the code pages and public id of its version.
pub fn document_to_wbxml(
    document: &Document,
    options: &wbxml::WriterOptions,
) -> Result<Vec<u8>, SyncMlError> {
    let mut writer = wbxml::Writer::new(document.document_type(), options.clone());
    document.write(&mut writer)?;
    writer.finish().map_err(document_error)
}

/// A message as XML text.
pub fn to_xml(message: &Message, options: XmlOptions) -> Result<String, SyncMlError> {
    let mut writer = XmlWriter::new(message.version, options);
    message.write(&mut writer)?;
    writer.finish().map_err(document_error)
}

/// A message as WBXML.
pub fn to_wbxml(message: &Message, options: &wbxml::WriterOptions) -> Result<Vec<u8>, SyncMlError> {
    let mut writer = wbxml::Writer::new(DocumentType::SyncMl(message.version), options.clone());
    message.write(&mut writer)?;
    writer.finish().map_err(document_error)
}

/// The first line of an input that is not SyncML, for the error message.
fn first_line(bytes: &[u8]) -> String {
    let line = bytes
        .split(|&b| b == b'\n' || b == b'\r')
        .next()
        .unwrap_or_default();
    let mut text = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
    if line.len() > 60 {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_looks_past_bom_and_whitespace() {
        assert_eq!(sniff_encoding(b"\xEF\xBB\xBF <SyncML/>"), Encoding::Xml);
        assert_eq!(sniff_encoding(b"\n\t<?xml?>"), Encoding::Xml);
        assert_eq!(sniff_encoding(b"\x02\xa4\x01\x6a"), Encoding::Wbxml);
        assert_eq!(sniff_encoding(b""), Encoding::Wbxml);
    }

    #[test]
    fn neither_xml_nor_wbxml_is_named_by_its_first_line() {
        let error = decode_document(b"POST /sync HTTP/1.1\r\nHost: x\r\n\r\n<SyncML/>")
            .expect_err("HTTP is not SyncML");
        assert!(error.message.contains("\"POST /sync HTTP/1.1\""), "{error}");
        assert!(decode_document(b"").is_err());
    }

    #[test]
    fn a_message_goes_to_xml_and_wbxml_and_back() {
        let text = "<SyncML xmlns='SYNCML:SYNCML1.1'><SyncHdr><VerDTD>1.1</VerDTD>\
            <VerProto>SyncML/1.1</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
            <Target><LocURI>pc</LocURI></Target><Source><LocURI>phone</LocURI></Source>\
            </SyncHdr><SyncBody><Put><CmdID>1</CmdID><Item><Source><LocURI>./devinf11</LocURI>\
            </Source><Data><DevInf xmlns='syncml:devinf'><VerDTD>1.1</VerDTD><Man>Nokia</Man>\
            <DataStore><SourceRef>c</SourceRef></DataStore></DevInf></Data></Item></Put>\
            <Final/></SyncBody></SyncML>";
        let (document, encoding) = decode_document(text.as_bytes()).expect("decode");
        assert_eq!(encoding, Encoding::Xml);
        let Document::Message(message) = &document else {
            panic!("a message")
        };
        assert_eq!(message.devinfs().count(), 1);
        let wbxml_bytes =
            document_to_wbxml(&document, &wbxml::WriterOptions::default()).expect("WBXML");
        let (again, encoding) = decode_document(&wbxml_bytes).expect("decode WBXML");
        assert_eq!(encoding, Encoding::Wbxml);
        assert_eq!(again, document);
        let xml_text = to_xml(message, XmlOptions::default()).expect("XML");
        assert_eq!(decode(xml_text.as_bytes()).expect("decode XML"), *message);
        assert_eq!(
            decode(&to_wbxml(message, &wbxml::WriterOptions::default()).expect("WBXML"))
                .expect("decode"),
            *message
        );
    }
}
