//! The WBXML encoder: a [`Sink`] that builds one document (and the documents nested in it).

use super::header::{Charset, MAX_WBXML_VERSION};
use super::tokens::{self, global, TAG_HAS_ATTRIBUTES, TAG_HAS_CONTENT};
use crate::markup::{Attribute, DocumentType, MarkupError, Namespace, Position, Sink};
use std::collections::HashMap;

/// How the encoder writes the header and text.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// The WBXML version byte: 0x00 (1.0) to 0x03 (1.3). Default 0x02, what phones send.
    pub wbxml_version: u8,
    /// Write the public id as text in the string table instead of the registered number.
    pub public_id_as_text: bool,
    /// The charset of strings and the string table.
    pub charset: Charset,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            wbxml_version: 0x02,
            public_id_as_text: false,
            charset: Charset::Utf8,
        }
    }
}

/// Encodes a document given as [`Sink`] calls; [`Writer::finish`] returns its bytes.
///
/// Elements take the token of the document version's table (switching code page as needed);
/// elements the table lacks are written as LITERAL with their name in the string table. The
/// header is assembled last, once the string table is complete.
pub struct Writer {
    options: WriterOptions,
    /// The document being written and, above it, the documents nested in it.
    documents: Vec<Encoder>,
}

impl Writer {
    pub fn new(doc: DocumentType, options: WriterOptions) -> Writer {
        let encoder = Encoder::new(doc, options.public_id_as_text);
        Writer {
            options,
            documents: vec![encoder],
        }
    }

    /// The encoded document; an error if elements or nested documents are still open.
    pub fn finish(mut self) -> Result<Vec<u8>, MarkupError> {
        if self.documents.len() != 1 {
            return Err(MarkupError::new(
                Position::Byte(0),
                format!(
                    "{} nested document(s) begun but not ended",
                    self.documents.len().saturating_sub(1)
                ),
            ));
        }
        let options = self.options.clone();
        match self.documents.pop() {
            Some(encoder) => encoder.finish(&options),
            None => Err(MarkupError::new(Position::Byte(0), "no document")),
        }
    }

    fn current(&mut self) -> Result<&mut Encoder, MarkupError> {
        self.documents
            .last_mut()
            .ok_or_else(|| MarkupError::new(Position::Byte(0), "the writer has no document"))
    }
}

impl Sink for Writer {
    fn start(
        &mut self,
        namespace: Namespace,
        name: &str,
        attributes: &[Attribute<'_>],
    ) -> Result<(), MarkupError> {
        let charset = self.options.charset;
        self.current()?.start(namespace, name, attributes, charset)
    }

    fn text(&mut self, text: &str) -> Result<(), MarkupError> {
        let charset = self.options.charset;
        self.current()?.text(text, charset)
    }

    fn opaque(&mut self, bytes: &[u8]) -> Result<(), MarkupError> {
        self.current()?.opaque(bytes)
    }

    fn end(&mut self) -> Result<(), MarkupError> {
        self.current()?.end()
    }

    fn begin_embedded(&mut self, doc: DocumentType) -> Result<(), MarkupError> {
        let outer = self.current()?;
        if outer.open.is_empty() {
            return Err(outer.error("a nested document must be inside an element"));
        }
        // Nested documents always carry the registered number: that is how they are spotted.
        self.documents.push(Encoder::new(doc, false));
        Ok(())
    }

    fn end_embedded(&mut self) -> Result<(), MarkupError> {
        if self.documents.len() < 2 {
            return Err(MarkupError::new(
                Position::Byte(0),
                "end_embedded without begin_embedded",
            ));
        }
        let options = WriterOptions {
            public_id_as_text: false,
            ..self.options.clone()
        };
        let nested = match self.documents.pop() {
            Some(encoder) => encoder.finish(&options)?,
            None => return Err(MarkupError::new(Position::Byte(0), "no nested document")),
        };
        self.current()?.opaque(&nested)
    }
}

struct OpenElement {
    /// Offset of the tag token in the body, to clear its content bit if nothing follows.
    tag_at: usize,
    /// Body length right after the start tag (and its attributes).
    content_start: usize,
}

/// The state of one document being encoded.
struct Encoder {
    doc: DocumentType,
    body: Vec<u8>,
    string_table: Vec<u8>,
    string_offsets: HashMap<Vec<u8>, u32>,
    /// String table offset of the text public id, when it is written as text.
    text_public_id: Option<u32>,
    page: u8,
    open: Vec<OpenElement>,
    root_done: bool,
}

impl Encoder {
    fn new(doc: DocumentType, public_id_as_text: bool) -> Encoder {
        let mut encoder = Encoder {
            doc,
            body: Vec::new(),
            string_table: Vec::new(),
            string_offsets: HashMap::new(),
            text_public_id: None,
            page: 0,
            open: Vec::new(),
            root_done: false,
        };
        if public_id_as_text {
            // The formal public id is ASCII, the same bytes in every supported charset.
            let id = tokens::text_public_id(doc).as_bytes().to_vec();
            encoder.text_public_id = Some(encoder.intern(id));
        }
        encoder
    }

    fn error(&self, message: impl Into<String>) -> MarkupError {
        MarkupError::new(Position::Byte(self.body.len()), message)
    }

    /// The string table offset of `bytes`, adding them (NUL-terminated) if new.
    fn intern(&mut self, bytes: Vec<u8>) -> u32 {
        if let Some(&offset) = self.string_offsets.get(&bytes) {
            return offset;
        }
        let offset = self.string_table.len() as u32;
        self.string_table.extend_from_slice(&bytes);
        self.string_table.push(0);
        self.string_offsets.insert(bytes, offset);
        offset
    }

    fn encode(&self, text: &str, charset: Charset) -> Result<Vec<u8>, MarkupError> {
        let mut out = Vec::with_capacity(text.len());
        encode_text(text, charset, &mut out).map_err(|e| self.error(e))?;
        Ok(out)
    }

    fn switch_page(&mut self, page: u8) {
        if self.page != page {
            self.body.push(global::SWITCH_PAGE);
            self.body.push(page);
            self.page = page;
        }
    }

    fn start(
        &mut self,
        namespace: Namespace,
        name: &str,
        attributes: &[Attribute<'_>],
        charset: Charset,
    ) -> Result<(), MarkupError> {
        if self.root_done {
            return Err(self.error(format!("<{name}> would be a second root element")));
        }
        let page = tokens::page_of_namespace(self.doc, namespace);
        let token = page.and_then(|p| p.tag_token(name, self.doc.version()).map(|t| (p, t)));
        // A LITERAL element keeps its namespace through `xmlns` unless its page knows the name.
        let implied_xmlns = match (token, page) {
            (Some(_), _) => None,
            (None, Some(p)) if p.knows_name(name) => None,
            (None, _) => namespace.xmlns(self.doc.version()),
        };
        let written: Vec<(&str, &str)> = attributes
            .iter()
            .filter(|a| !(a.name == "xmlns" && Namespace::from_xmlns(&a.value) != Namespace::Other))
            .map(|a| (a.name.as_ref(), a.value.as_ref()))
            .chain(implied_xmlns.map(|value| ("xmlns", value)))
            .collect();
        let attribute_bit = if written.is_empty() {
            0
        } else {
            TAG_HAS_ATTRIBUTES
        };
        let tag_at;
        match token {
            Some((p, t)) => {
                self.switch_page(p.number);
                tag_at = self.body.len();
                self.body.push(t | TAG_HAS_CONTENT | attribute_bit);
            }
            None => {
                if let Some(p) = page {
                    self.switch_page(p.number);
                }
                let index = self.intern(self.encode(name, charset)?);
                tag_at = self.body.len();
                self.body
                    .push(global::LITERAL | TAG_HAS_CONTENT | attribute_bit);
                push_mb_u_int32(&mut self.body, index);
            }
        }
        if !written.is_empty() {
            for (attribute, value) in written {
                let index = self.intern(self.encode(attribute, charset)?);
                self.body.push(global::LITERAL);
                push_mb_u_int32(&mut self.body, index);
                if value.contains('\0') {
                    return Err(
                        self.error(format!("attribute {attribute} of <{name}> contains U+0000"))
                    );
                }
                self.body.push(global::STR_I);
                let at = self.body.len();
                encode_text(value, charset, &mut self.body)
                    .map_err(|e| MarkupError::new(Position::Byte(at), e))?;
                self.body.push(0);
            }
            self.body.push(global::END);
        }
        self.open.push(OpenElement {
            tag_at,
            content_start: self.body.len(),
        });
        Ok(())
    }

    fn text(&mut self, text: &str, charset: Charset) -> Result<(), MarkupError> {
        if self.open.is_empty() {
            return Err(self.error("text outside the root element"));
        }
        if text.is_empty() {
            return Ok(());
        }
        if text.contains('\0') {
            // An inline string ends at NUL; OPAQUE carries any bytes.
            return self.opaque(text.as_bytes());
        }
        let start = self.body.len();
        self.body.push(global::STR_I);
        if let Err(e) = encode_text(text, charset, &mut self.body) {
            self.body.truncate(start);
            return Err(MarkupError::new(Position::Byte(start), e));
        }
        self.body.push(0);
        Ok(())
    }

    fn opaque(&mut self, bytes: &[u8]) -> Result<(), MarkupError> {
        if self.open.is_empty() {
            return Err(self.error("OPAQUE data outside the root element"));
        }
        let length =
            u32::try_from(bytes.len()).map_err(|_| self.error("OPAQUE data longer than 4 GiB"))?;
        self.body.push(global::OPAQUE);
        push_mb_u_int32(&mut self.body, length);
        self.body.extend_from_slice(bytes);
        Ok(())
    }

    fn end(&mut self) -> Result<(), MarkupError> {
        let Some(element) = self.open.pop() else {
            return Err(self.error("end without an open element"));
        };
        if self.body.len() == element.content_start {
            // Nothing inside: an empty element has no content bit and no END.
            self.body[element.tag_at] &= !TAG_HAS_CONTENT;
        } else {
            self.body.push(global::END);
        }
        if self.open.is_empty() {
            self.root_done = true;
        }
        Ok(())
    }

    fn finish(self, options: &WriterOptions) -> Result<Vec<u8>, MarkupError> {
        if !self.open.is_empty() {
            return Err(self.error(format!("{} element(s) left open", self.open.len())));
        }
        if !self.root_done {
            return Err(self.error("no root element was written"));
        }
        let version = options.wbxml_version;
        if version > MAX_WBXML_VERSION {
            return Err(MarkupError::new(
                Position::Byte(0),
                format!("WBXML version byte 0x{version:02x} is not 0x00..0x03"),
            ));
        }
        if version == 0 && options.charset != Charset::Utf8 {
            return Err(MarkupError::new(
                Position::Byte(0),
                "WBXML 1.0 has no charset field: only UTF-8 can be written",
            ));
        }
        let mut out = Vec::with_capacity(self.body.len() + self.string_table.len() + 16);
        out.push(version);
        match self.text_public_id {
            Some(index) => {
                out.push(0);
                push_mb_u_int32(&mut out, index);
            }
            None => push_mb_u_int32(&mut out, tokens::numeric_public_id(self.doc)),
        }
        if version > 0 {
            push_mb_u_int32(&mut out, options.charset.mib_enum());
        }
        let table_length = u32::try_from(self.string_table.len())
            .map_err(|_| MarkupError::new(Position::Byte(0), "string table longer than 4 GiB"))?;
        push_mb_u_int32(&mut out, table_length);
        out.extend_from_slice(&self.string_table);
        out.extend_from_slice(&self.body);
        Ok(out)
    }
}

/// Appends `text` in the document charset; the error names a character Latin-1 cannot carry.
fn encode_text(text: &str, charset: Charset, out: &mut Vec<u8>) -> Result<(), String> {
    match charset {
        Charset::Utf8 => out.extend_from_slice(text.as_bytes()),
        Charset::Latin1 => {
            for c in text.chars() {
                let code = u32::from(c);
                let byte = u8::try_from(code).map_err(|_| {
                    format!("character U+{code:04X} '{c}' cannot be written in a Latin-1 document")
                })?;
                out.push(byte);
            }
        }
    }
    Ok(())
}

/// Appends a WBXML multi-byte integer.
pub(crate) fn push_mb_u_int32(out: &mut Vec<u8>, value: u32) {
    let mut groups = [0u8; 5];
    let mut count = 0;
    let mut rest = value;
    loop {
        groups[count] = (rest & 0x7F) as u8;
        count += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..count).rev() {
        let continuation = if i > 0 { 0x80 } else { 0 };
        out.push(groups[i] | continuation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::{Element, Node, Version};
    use crate::wbxml::{decode_tree, encode_tree};

    fn syncml(version: Version, root: &Element, options: &WriterOptions) -> Vec<u8> {
        encode_tree(DocumentType::SyncMl(version), root, options).unwrap()
    }

    #[test]
    fn tokens_pages_and_empty_elements() {
        let root = Element::new(Namespace::SyncMl, "SyncML")
            .with_child(Element::new(Namespace::SyncMl, "VerDTD").with_text("1.2"))
            .with_child(
                Element::new(Namespace::SyncMl, "Meta")
                    .with_child(Element::new(Namespace::MetInf, "Type").with_text("t")),
            )
            .with_child(Element::new(Namespace::SyncMl, "Final"));
        let bytes = syncml(Version::V1_2, &root, &WriterOptions::default());
        assert_eq!(
            bytes,
            vec![
                0x02, 0xA4, 0x01, 0x6A, 0x00, // header: 1.2, 0x1201, UTF-8, no strings
                0x6D, // <SyncML>
                0x71, 0x03, b'1', b'.', b'2', 0x00, 0x01, // <VerDTD>1.2</VerDTD>
                0x5A, 0x00, 0x01, 0x53, 0x03, b't', 0x00, 0x01,
                0x01, // <Meta><Type>t</Type></Meta>
                0x00, 0x00, 0x12, // SWITCH_PAGE 0, <Final/>
                0x01, // </SyncML>
            ]
        );
    }

    #[test]
    fn elements_missing_from_the_version_table_are_literals() {
        let root = Element::new(Namespace::SyncMl, "SyncML")
            .with_child(Element::new(Namespace::SyncMl, "SourceParent").with_text("p"))
            .with_child(Element::new(Namespace::Other, "X-Vendor"))
            .with_child(Element::new(Namespace::DevInf, "Man").with_text("Nokia"));
        let bytes = syncml(Version::V1_1, &root, &WriterOptions::default());
        // The string table holds the literal names (and the xmlns attribute of the DevInf one).
        let table = b"SourceParent\0X-Vendor\0Man\0xmlns\0";
        assert_eq!(bytes[4] as usize, table.len());
        assert_eq!(&bytes[5..5 + table.len()], table);
        let back = decode_tree(&bytes).unwrap();
        assert_eq!(back, root);
        // In SyncML 1.2 the same element has a token.
        let bytes = syncml(Version::V1_2, &root, &WriterOptions::default());
        assert!(bytes.windows(2).any(|w| w == [0x79, 0x03]));
    }

    #[test]
    fn attributes_are_literal_and_known_xmlns_is_implied() {
        let mut meta = Element::new(Namespace::MetInf, "Type");
        meta.attributes = vec![
            ("xmlns".into(), "syncml:metinf".into()),
            ("x-id".into(), "7".into()),
        ];
        let root = Element::new(Namespace::SyncMl, "SyncML").with_child(meta);
        let bytes = syncml(Version::V1_2, &root, &WriterOptions::default());
        let back = decode_tree(&bytes).unwrap();
        let child = back.child("Type").unwrap();
        assert_eq!(child.namespace, Namespace::MetInf);
        assert_eq!(child.attributes, vec![("x-id".into(), "7".into())]);
        assert!(!bytes.windows(5).any(|w| w == b"xmlns"));
    }

    #[test]
    fn latin1_text_and_its_limits() {
        let options = WriterOptions {
            charset: Charset::Latin1,
            ..WriterOptions::default()
        };
        let root = Element::new(Namespace::SyncMl, "Data").with_text("Müller");
        let bytes = syncml(Version::V1_1, &root, &options);
        assert_eq!(bytes[3], 0x04);
        assert!(bytes.windows(3).any(|w| w == [b'M', 0xFC, b'l']));
        assert_eq!(decode_tree(&bytes).unwrap(), root);

        let euro = Element::new(Namespace::SyncMl, "Data").with_text("5 €");
        let e = encode_tree(DocumentType::SyncMl(Version::V1_1), &euro, &options).unwrap_err();
        assert!(e.message.contains("U+20AC '€'"), "{e}");
    }

    #[test]
    fn text_with_nul_is_written_as_opaque() {
        let root = Element::new(Namespace::SyncMl, "Data").with_text("a\0b");
        let bytes = syncml(Version::V1_2, &root, &WriterOptions::default());
        assert!(bytes.ends_with(&[0x4F, 0xC3, 0x03, b'a', 0x00, b'b', 0x01]));
        let back = decode_tree(&bytes).unwrap();
        assert_eq!(back.children, vec![Node::Opaque(b"a\0b".to_vec())]);
        assert_eq!(back.normalized(), root.normalized());
    }

    #[test]
    fn text_public_id_and_wbxml_versions() {
        let root = Element::new(Namespace::SyncMl, "SyncML");
        let options = WriterOptions {
            wbxml_version: 0x01,
            public_id_as_text: true,
            charset: Charset::Utf8,
        };
        let bytes = syncml(Version::V1_1, &root, &options);
        let id = b"-//SYNCML//DTD SyncML 1.1//EN\0";
        assert_eq!(&bytes[..5], &[0x01, 0x00, 0x00, 0x6A, id.len() as u8]);
        assert_eq!(&bytes[5..5 + id.len()], id);
        assert_eq!(bytes[5 + id.len()..], [0x2D]);

        let options = WriterOptions {
            wbxml_version: 0x00,
            ..WriterOptions::default()
        };
        let bytes = encode_tree(DocumentType::DevInf(Version::V1_0), &root, &options);
        assert!(bytes.is_ok());
        let options = WriterOptions {
            wbxml_version: 0x00,
            charset: Charset::Latin1,
            ..WriterOptions::default()
        };
        assert!(encode_tree(DocumentType::SyncMl(Version::V1_0), &root, &options).is_err());
    }

    #[test]
    fn embedded_devinf_is_a_nested_document() {
        let devinf = Element::new(Namespace::DevInf, "DevInf")
            .with_child(Element::new(Namespace::DevInf, "Man").with_text("Nokia"));
        let mut data = Element::new(Namespace::SyncMl, "Data");
        data.children
            .push(Node::Embedded(DocumentType::DevInf(Version::V1_1), devinf));
        let root = Element::new(Namespace::SyncMl, "Item").with_child(data);
        let options = WriterOptions {
            public_id_as_text: true,
            ..WriterOptions::default()
        };
        let bytes = syncml(Version::V1_1, &root, &options);
        // <Data> OPAQUE [02 9F 54 6A 00 4A 51 03 Nokia 00 01 01] </Data>
        let nested = [
            0x02, 0x9F, 0x54, 0x6A, 0x00, 0x4A, 0x51, 0x03, b'N', b'o', b'k', b'i', b'a', 0x00,
            0x01, 0x01,
        ];
        let mut expected_tail = vec![0x4F, 0xC3, nested.len() as u8];
        expected_tail.extend_from_slice(&nested);
        expected_tail.extend_from_slice(&[0x01, 0x01]);
        assert!(bytes.ends_with(&expected_tail), "{bytes:02x?}");
        assert_eq!(decode_tree(&bytes).unwrap(), root);
    }

    #[test]
    fn misuse_is_an_error() {
        let mut w = Writer::new(
            DocumentType::SyncMl(Version::V1_2),
            WriterOptions::default(),
        );
        assert!(w.text("x").is_err());
        assert!(w
            .begin_embedded(DocumentType::DevInf(Version::V1_2))
            .is_err());
        w.start(Namespace::SyncMl, "SyncML", &[]).unwrap();
        assert!(w.end_embedded().is_err());
        w.end().unwrap();
        assert!(w.start(Namespace::SyncMl, "SyncML", &[]).is_err());
        assert!(w.end().is_err());

        let mut w = Writer::new(
            DocumentType::SyncMl(Version::V1_2),
            WriterOptions::default(),
        );
        w.start(Namespace::SyncMl, "SyncML", &[]).unwrap();
        let e = w.finish().unwrap_err();
        assert!(e.message.contains("left open"), "{e}");

        let w = Writer::new(
            DocumentType::SyncMl(Version::V1_2),
            WriterOptions::default(),
        );
        assert!(w.finish().is_err());
    }

    #[test]
    fn multi_byte_integers() {
        for (value, bytes) in [
            (0u32, vec![0x00]),
            (0x7F, vec![0x7F]),
            (0x80, vec![0x81, 0x00]),
            (0x1201, vec![0xA4, 0x01]),
            (u32::MAX, vec![0x8F, 0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            push_mb_u_int32(&mut out, value);
            assert_eq!(out, bytes, "{value:#x}");
        }
    }
}
