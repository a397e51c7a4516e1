//! The WBXML pull reader: yields [`Event`]s borrowed from the input.

use super::header::{decode_text, string_at, Cursor, Header};
use super::tokens::{self, global, Found, TAG_HAS_ATTRIBUTES, TAG_HAS_CONTENT, TAG_ID_MASK};
use crate::markup::{
    Attribute, DocumentType, Event, EventReader, MarkupError, Namespace, Position, StartTag,
    Version,
};
use std::borrow::Cow;

/// How deep elements may nest. SyncML needs about 12; the bound keeps hostile input from
/// growing the stack of open elements without limit.
pub const MAX_DEPTH: usize = 128;

/// A pull reader over one WBXML document.
///
/// Element names come from the static token tables or borrow the string table; UTF-8 text and
/// OPAQUE bytes borrow the input. Latin-1 text that is not plain ASCII is converted to UTF-8.
pub struct Reader<'a> {
    input: &'a [u8],
    header: Header,
    string_table: &'a [u8],
    /// The document type from the public id, or inferred from the root element.
    doc: Option<DocumentType>,
    pos: usize,
    tag_page: u8,
    /// Names of the open elements with content, for "input ended inside `<X>`".
    open: Vec<Cow<'a, str>>,
    /// An element without the content bit was just started: its End comes next.
    pending_end: bool,
    root_started: bool,
    root_done: bool,
    event_start: usize,
    /// Where the bytes of the last OPAQUE event start.
    opaque_start: usize,
}

impl<'a> Reader<'a> {
    /// Parses the header; the body is read event by event.
    pub fn new(input: &'a [u8]) -> Result<Reader<'a>, MarkupError> {
        let header = Header::parse(input)?;
        let string_table = &input[header.string_table.clone()];
        let doc = header.document_type();
        if doc.is_none() {
            tracing::debug!(public_id = ?header.public_id, "WBXML public id names no SyncML DTD");
        }
        let pos = header.body_start;
        Ok(Reader {
            input,
            string_table,
            doc,
            pos,
            tag_page: 0,
            open: Vec::new(),
            pending_end: false,
            root_started: false,
            root_done: false,
            event_start: 0,
            opaque_start: pos,
            header,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Offset in the input of the bytes of the OPAQUE event returned last.
    pub(crate) fn opaque_start(&self) -> usize {
        self.opaque_start
    }

    fn cursor(&self) -> Cursor<'a> {
        Cursor::new(self.input, self.pos)
    }

    fn error(at: usize, message: impl Into<String>) -> MarkupError {
        MarkupError::new(Position::Byte(at), message)
    }

    /// "input ended inside <X>" when elements are open, else what was expected.
    fn ended_error(&self, expected: &str) -> MarkupError {
        match self.open.last() {
            Some(name) => Self::error(
                self.pos,
                format!("input ended inside <{name}>: expected {expected}"),
            ),
            None => Self::error(self.pos, format!("input ended: expected {expected}")),
        }
    }

    fn byte(&mut self, expected: &str) -> Result<u8, MarkupError> {
        match self.input.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.ended_error(expected)),
        }
    }

    fn mb_u_int32(&mut self, expected: &str) -> Result<u32, MarkupError> {
        if self.pos >= self.input.len() {
            return Err(self.ended_error(expected));
        }
        let mut c = self.cursor();
        let value = c.mb_u_int32(expected)?;
        self.pos = c.pos;
        Ok(value)
    }

    fn inline_bytes(&mut self, what: &str) -> Result<&'a [u8], MarkupError> {
        let mut c = self.cursor();
        let bytes = c.inline_string(what)?;
        self.pos = c.pos;
        Ok(bytes)
    }

    /// A string-table reference: reads the index and returns the raw string and its offset.
    fn table_bytes(&mut self, what: &str) -> Result<(&'a [u8], usize), MarkupError> {
        let at = self.pos;
        let index = self.mb_u_int32(what)?;
        let bytes = string_at(self.string_table, index, at)?;
        let offset = self.header.string_table.start + index as usize;
        Ok((bytes, offset))
    }

    fn text(&self, bytes: &'a [u8], at: usize) -> Result<Cow<'a, str>, MarkupError> {
        decode_text(bytes, self.header.charset, at)
    }

    /// Content (text, OPAQUE) is only allowed inside the root element.
    fn check_in_content(&self, at: usize, token: u8) -> Result<(), MarkupError> {
        if self.open.is_empty() {
            return Err(Self::error(
                at,
                format!(
                    "expected the root element's start tag, found {}",
                    tokens::global_token_name(token).unwrap_or("a token")
                ),
            ));
        }
        Ok(())
    }

    fn version_label(&self) -> String {
        match self.doc {
            Some(DocumentType::SyncMl(v)) => format!("SyncML {v}"),
            Some(DocumentType::DevInf(v)) => format!("DevInf {v}"),
            Some(DocumentType::MetInf) => "MetInf 1.2".to_string(),
            None => "unidentified".to_string(),
        }
    }

    /// The document type, inferring it from the root element when the public id did not say.
    fn document_for_tag(&mut self, id: u8, at: usize) -> Result<DocumentType, MarkupError> {
        if let Some(doc) = self.doc {
            return Ok(doc);
        }
        let inferred = match (self.tag_page, id) {
            (0, 0x2D) if !self.root_started => DocumentType::SyncMl(Version::V1_2),
            (0, 0x0A) if !self.root_started => DocumentType::DevInf(Version::V1_2),
            _ => {
                return Err(Self::error(
                    at,
                    format!(
                        "tag token 0x{id:02x} on code page {} in a document whose public id \
                         ({:?}) names no SyncML DTD",
                        self.tag_page, self.header.public_id
                    ),
                ))
            }
        };
        tracing::debug!(?inferred, "document type inferred from the root element");
        self.doc = Some(inferred);
        Ok(inferred)
    }

    /// The name and namespace of a tokenized tag.
    fn tag_from_token(
        &mut self,
        token: u8,
        at: usize,
    ) -> Result<(Namespace, &'static str), MarkupError> {
        let id = token & TAG_ID_MASK;
        let doc = self.document_for_tag(id, at)?;
        let page = tokens::code_page(doc, self.tag_page).ok_or_else(|| {
            Self::error(
                at,
                format!(
                    "tag token 0x{token:02x} on code page {}, which a {} document does not have",
                    self.tag_page,
                    self.version_label()
                ),
            )
        })?;
        match page.tag_name(id, doc.version()) {
            Some(Found::InVersion(name)) => Ok((page.namespace, name)),
            Some(Found::InLaterVersion(name, since)) => {
                tracing::debug!(
                    offset = at,
                    token = id,
                    name,
                    since = %since,
                    document = %self.version_label(),
                    "tag token from a later version's table"
                );
                Ok((page.namespace, name))
            }
            None => Err(Self::error(
                at,
                format!(
                    "tag token 0x{token:02x} (identity 0x{id:02x}) is in no table of code page {} \
                     ({:?}) of a {} document",
                    self.tag_page,
                    page.namespace,
                    self.version_label()
                ),
            )),
        }
    }

    /// An attribute value: any run of strings, entities, extensions and OPAQUE.
    fn attribute_value(&mut self) -> Result<Cow<'a, str>, MarkupError> {
        let mut value: Cow<'a, str> = Cow::Borrowed("");
        loop {
            let at = self.pos;
            let Some(&token) = self.input.get(self.pos) else {
                return Err(self.ended_error("an attribute value or END"));
            };
            let piece: Cow<'a, str> = match token {
                global::STR_I | global::EXT_I_0 | global::EXT_I_1 | global::EXT_I_2 => {
                    self.pos += 1;
                    let bytes = self.inline_bytes("an inline string")?;
                    self.text(bytes, at + 1)?
                }
                global::STR_T | global::EXT_T_0 | global::EXT_T_1 | global::EXT_T_2 => {
                    self.pos += 1;
                    let (bytes, offset) = self.table_bytes("a string table index")?;
                    self.text(bytes, offset)?
                }
                global::ENTITY => {
                    self.pos += 1;
                    Cow::Owned(self.entity(at)?.to_string())
                }
                global::OPAQUE => {
                    self.pos += 1;
                    let bytes = self.opaque_bytes()?;
                    self.text(bytes, self.opaque_start)?
                }
                global::EXT_0 | global::EXT_1 | global::EXT_2 => {
                    self.pos += 1;
                    continue;
                }
                global::SWITCH_PAGE => {
                    // Attribute pages are a separate space; SyncML defines none, so the page
                    // only matters if an attribute token followed, which is an error anyway.
                    self.pos += 1;
                    self.byte("the attribute code page after SWITCH_PAGE")?;
                    continue;
                }
                t if t >= 0x80 => {
                    return Err(Self::error(
                        at,
                        format!(
                            "attribute value token 0x{t:02x}: no SyncML table defines attribute \
                             value tokens"
                        ),
                    ))
                }
                // END, LITERAL or an attribute start: the value is complete.
                _ => return Ok(value),
            };
            if value.is_empty() {
                value = piece;
            } else {
                value.to_mut().push_str(&piece);
            }
        }
    }

    /// The attribute list of a start tag, up to its END.
    fn attributes(&mut self) -> Result<Vec<Attribute<'a>>, MarkupError> {
        let mut attributes = Vec::new();
        loop {
            let at = self.pos;
            let token = self.byte("an attribute or END")?;
            match token {
                global::END => return Ok(attributes),
                global::SWITCH_PAGE => {
                    self.byte("the attribute code page after SWITCH_PAGE")?;
                }
                global::LITERAL => {
                    let (bytes, offset) = self.table_bytes("the attribute name's string index")?;
                    let name = self.text(bytes, offset)?;
                    let value = self.attribute_value()?;
                    attributes.push(Attribute { name, value });
                }
                t if t < 0x80 => {
                    return Err(Self::error(
                        at,
                        format!(
                            "attribute start token 0x{t:02x}: no SyncML table defines attribute \
                             tokens (expected LITERAL or END)"
                        ),
                    ))
                }
                t => {
                    return Err(Self::error(
                        at,
                        format!("expected an attribute start or END, found value token 0x{t:02x}"),
                    ))
                }
            }
        }
    }

    fn entity(&mut self, at: usize) -> Result<char, MarkupError> {
        let code = self.mb_u_int32("the ENTITY code point")?;
        match char::from_u32(code) {
            Some(c) if c != '\0' => Ok(c),
            _ => Err(Self::error(
                at,
                format!("ENTITY U+{code:04X} is not a character XML can carry"),
            )),
        }
    }

    fn opaque_bytes(&mut self) -> Result<&'a [u8], MarkupError> {
        let length = self.mb_u_int32("the OPAQUE length")? as usize;
        let mut c = self.cursor();
        let bytes = c.take(length, "OPAQUE")?;
        self.opaque_start = self.pos;
        self.pos = c.pos;
        Ok(bytes)
    }

    /// Skips a processing instruction: its target and value, up to its END. SyncML gives
    /// them no meaning.
    fn skip_processing_instruction(&mut self) -> Result<(), MarkupError> {
        loop {
            let token = self.byte("the rest of a processing instruction")?;
            match token {
                global::END => return Ok(()),
                global::LITERAL
                | global::STR_T
                | global::EXT_T_0
                | global::EXT_T_1
                | global::EXT_T_2 => {
                    self.table_bytes("a string table index")?;
                }
                global::STR_I | global::EXT_I_0 | global::EXT_I_1 | global::EXT_I_2 => {
                    self.inline_bytes("an inline string")?;
                }
                global::ENTITY => {
                    self.mb_u_int32("the ENTITY code point")?;
                }
                global::OPAQUE => {
                    self.opaque_bytes()?;
                }
                global::SWITCH_PAGE => {
                    self.byte("the attribute code page after SWITCH_PAGE")?;
                }
                _ => {} // attribute tokens: nothing follows them
            }
        }
    }

    fn start_element(
        &mut self,
        token: u8,
        at: usize,
        namespace: Namespace,
        name: Cow<'a, str>,
        literal: bool,
    ) -> Result<Event<'a>, MarkupError> {
        let mut attributes = if token & TAG_HAS_ATTRIBUTES != 0 {
            self.attributes()?
        } else {
            Vec::new()
        };
        let mut namespace = namespace;
        let declared = attributes
            .iter()
            .position(|a| a.name == "xmlns")
            .map(|i| (i, Namespace::from_xmlns(&attributes[i].value)));
        match declared {
            Some((index, known)) if known != Namespace::Other => {
                namespace = known;
                attributes.remove(index);
            }
            // A vendor namespace: the element is not SyncML, whatever page it is on.
            Some(_) if literal => namespace = Namespace::Other,
            _ => {}
        }
        self.root_started = true;
        if token & TAG_HAS_CONTENT != 0 {
            if self.open.len() >= MAX_DEPTH {
                return Err(Self::error(
                    at,
                    format!("elements nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            self.open.push(name.clone());
        } else {
            self.pending_end = true;
        }
        self.event_start = at;
        Ok(Event::Start(StartTag {
            namespace,
            name,
            attributes,
        }))
    }

    /// After the root element: only processing instructions may follow.
    fn after_root(&mut self) -> Result<Option<Event<'a>>, MarkupError> {
        while let Some(&token) = self.input.get(self.pos) {
            if token != global::PI {
                return Err(Self::error(
                    self.pos,
                    format!("unexpected byte 0x{token:02x} after the end of the root element"),
                ));
            }
            self.pos += 1;
            self.skip_processing_instruction()?;
        }
        self.event_start = self.pos;
        Ok(None)
    }

    fn read_event(&mut self) -> Result<Option<Event<'a>>, MarkupError> {
        if self.pending_end {
            self.pending_end = false;
            if self.open.is_empty() {
                self.root_done = true;
            }
            return Ok(Some(Event::End));
        }
        loop {
            if self.root_done {
                return self.after_root();
            }
            let at = self.pos;
            let expected = if self.root_started {
                "a token"
            } else {
                "the root element"
            };
            let token = self.byte(expected)?;
            self.event_start = at;
            match token {
                global::SWITCH_PAGE => {
                    self.tag_page = self.byte("the code page after SWITCH_PAGE")?;
                }
                global::END => {
                    if self.open.pop().is_none() {
                        return Err(Self::error(at, "END with no open element"));
                    }
                    if self.open.is_empty() {
                        self.root_done = true;
                    }
                    return Ok(Some(Event::End));
                }
                global::STR_I | global::EXT_I_0 | global::EXT_I_1 | global::EXT_I_2 => {
                    self.check_in_content(at, token)?;
                    let bytes = self.inline_bytes("an inline string")?;
                    if token != global::STR_I {
                        tracing::debug!(offset = at, "extension token read as its string");
                    }
                    if !bytes.is_empty() {
                        return Ok(Some(Event::Text(self.text(bytes, at + 1)?)));
                    }
                }
                global::STR_T | global::EXT_T_0 | global::EXT_T_1 | global::EXT_T_2 => {
                    self.check_in_content(at, token)?;
                    let (bytes, offset) = self.table_bytes("a string table index")?;
                    if token != global::STR_T {
                        tracing::debug!(offset = at, "extension token read as its string");
                    }
                    if !bytes.is_empty() {
                        return Ok(Some(Event::Text(self.text(bytes, offset)?)));
                    }
                }
                global::ENTITY => {
                    self.check_in_content(at, token)?;
                    let c = self.entity(at)?;
                    return Ok(Some(Event::Text(Cow::Owned(c.to_string()))));
                }
                global::OPAQUE => {
                    self.check_in_content(at, token)?;
                    let bytes = self.opaque_bytes()?;
                    return Ok(Some(Event::Opaque(Cow::Borrowed(bytes))));
                }
                global::EXT_0 | global::EXT_1 | global::EXT_2 => {
                    self.check_in_content(at, token)?;
                    tracing::debug!(offset = at, token, "single-byte extension token skipped");
                }
                global::PI => self.skip_processing_instruction()?,
                global::LITERAL | global::LITERAL_A | global::LITERAL_C | global::LITERAL_AC => {
                    let (bytes, offset) = self.table_bytes("the tag name's string index")?;
                    let name = self.text(bytes, offset)?;
                    // A literal tag belongs to the current page's namespace when that page
                    // knows the name (an encoder whose table lacked it); else it is foreign.
                    let namespace = self
                        .doc
                        .and_then(|doc| tokens::code_page(doc, self.tag_page))
                        .filter(|page| page.knows_name(&name))
                        .map_or(Namespace::Other, |page| page.namespace);
                    return self
                        .start_element(token, at, namespace, name, true)
                        .map(Some);
                }
                _ => {
                    let (namespace, name) = self.tag_from_token(token, at)?;
                    return self
                        .start_element(token, at, namespace, Cow::Borrowed(name), false)
                        .map(Some);
                }
            }
        }
    }
}

impl<'a> EventReader<'a> for Reader<'a> {
    fn next_event(&mut self) -> Result<Option<Event<'a>>, MarkupError> {
        self.read_event()
    }

    fn position(&self) -> Position {
        Position::Byte(self.event_start)
    }

    fn document_type(&self) -> Option<DocumentType> {
        self.doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header of a SyncML 1.1 document (public id 0x0FD3, UTF-8, empty string table).
    const SYNCML_1_1: [u8; 5] = [0x02, 0x9F, 0x53, 0x6A, 0x00];
    /// Header of a SyncML 1.2 document (public id 0x1201, UTF-8, empty string table).
    const SYNCML_1_2: [u8; 5] = [0x03, 0xA4, 0x01, 0x6A, 0x00];

    fn document(header: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = header.to_vec();
        out.extend_from_slice(body);
        out
    }

    /// A document with a string table: version 1.3, the given public id and charset.
    fn with_table(public_id: &[u8], charset: u8, table: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = vec![0x03];
        out.extend_from_slice(public_id);
        out.push(charset);
        out.push(table.len() as u8);
        out.extend_from_slice(table);
        out.extend_from_slice(body);
        out
    }

    fn events(bytes: &[u8]) -> Result<Vec<Event<'_>>, MarkupError> {
        let mut reader = Reader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(event) = reader.next_event()? {
            out.push(event);
        }
        Ok(out)
    }

    fn start(namespace: Namespace, name: &str) -> Event<'_> {
        Event::Start(StartTag {
            namespace,
            name: Cow::Borrowed(name),
            attributes: Vec::new(),
        })
    }

    fn text(t: &str) -> Event<'_> {
        Event::Text(Cow::Borrowed(t))
    }

    fn error_of(bytes: &[u8]) -> MarkupError {
        match events(bytes) {
            Ok(events) => panic!("expected an error, got {events:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn tags_text_and_pages() {
        // <SyncML><SyncHdr><VerDTD>1.1</VerDTD><Meta><MaxMsgSize>2700</MaxMsgSize></Meta>
        // </SyncHdr><Final/></SyncML>
        let body = [
            0x6D, 0x6C, 0x71, 0x03, b'1', b'.', b'1', 0x00, 0x01, 0x5A, 0x00, 0x01, 0x4C, 0x03,
            b'2', b'7', b'0', b'0', 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 0x12, 0x01,
        ];
        let bytes = document(&SYNCML_1_1, &body);
        let got = events(&bytes).unwrap();
        use Namespace::{MetInf, SyncMl};
        assert_eq!(
            got,
            vec![
                start(SyncMl, "SyncML"),
                start(SyncMl, "SyncHdr"),
                start(SyncMl, "VerDTD"),
                text("1.1"),
                Event::End,
                start(SyncMl, "Meta"),
                start(MetInf, "MaxMsgSize"),
                text("2700"),
                Event::End,
                Event::End,
                Event::End,
                start(SyncMl, "Final"),
                Event::End,
                Event::End,
            ]
        );
        let reader = Reader::new(&bytes).unwrap();
        assert_eq!(
            reader.document_type(),
            Some(DocumentType::SyncMl(Version::V1_1))
        );
    }

    #[test]
    fn text_tokens_borrow_the_input() {
        // <Data>STR_T "ab" ENTITY U+00E9 EXT_I_0 "x" EXT_T_1 "cd" EXT_0 OPAQUE[1,2]</Data>
        let table = b"ab\0cd\0";
        let body = [
            0x4F, 0x83, 0x00, 0x02, 0x81, 0x69, 0x40, b'x', 0x00, 0x81, 0x03, 0xC0, 0xC3, 0x02,
            0x01, 0x02, 0x01,
        ];
        let bytes = with_table(&[0xA4, 0x01], 0x6A, table, &body);
        let got = events(&bytes).unwrap();
        assert_eq!(
            got,
            vec![
                start(Namespace::SyncMl, "Data"),
                text("ab"),
                Event::Text(Cow::Owned("é".into())),
                text("x"),
                text("cd"),
                Event::Opaque(Cow::Borrowed(&[1, 2])),
                Event::End,
            ]
        );
        assert!(matches!(got[1], Event::Text(Cow::Borrowed(_))));
    }

    #[test]
    fn processing_instructions_are_skipped() {
        // PI before the root, inside it and after it: LITERAL target, STR_I value, END.
        let table = b"xml\0";
        let body = [
            0x43, 0x04, 0x00, 0x03, b'v', 0x00, 0x01, 0x6D, 0x43, 0x04, 0x00, 0x01, 0x12, 0x01,
            0x43, 0x04, 0x00, 0x01,
        ];
        let bytes = with_table(&[0xA4, 0x01], 0x6A, table, &body);
        let got = events(&bytes).unwrap();
        assert_eq!(
            got,
            vec![
                start(Namespace::SyncMl, "SyncML"),
                start(Namespace::SyncMl, "Final"),
                Event::End,
                Event::End,
            ]
        );
    }

    #[test]
    fn text_public_id_and_latin1() {
        let table = b"-//SYNCML//DTD SyncML 1.1//EN\0";
        // public id 0 + index 0, charset 4; <Data>M\xfcller</Data>
        let body = [0x4F, 0x03, b'M', 0xFC, b'l', b'l', b'e', b'r', 0x00, 0x01];
        let bytes = with_table(&[0x00, 0x00], 0x04, table, &body);
        let reader = Reader::new(&bytes).unwrap();
        assert_eq!(
            reader.header().public_id,
            crate::wbxml::PublicId::Text("-//SYNCML//DTD SyncML 1.1//EN".into())
        );
        assert_eq!(reader.header().charset, crate::wbxml::Charset::Latin1);
        let got = events(&bytes).unwrap();
        assert_eq!(got[1], text("Müller"));
    }

    #[test]
    fn nokia_literal_tags_and_xmlns_attributes() {
        // Nokia style: LITERAL_AC "Type" with a LITERAL attribute xmlns="syncml:metinf" on
        // page 0; then a vendor element with a foreign xmlns, and one with none.
        let table = b"Type\0xmlns\0X-Nokia\0";
        let body = [
            0x5A, // <Meta>
            0xC4, 0x00, 0x04, 0x05, 0x03, b's', b'y', b'n', b'c', b'm', b'l', b':', b'm', b'e',
            b't', b'i', b'n', b'f', 0x00, 0x01, // LITERAL_AC Type xmlns=syncml:metinf END
            0x03, b't', 0x00, 0x01, // "t" </Type>
            0xC4, 0x0B, 0x04, 0x05, 0x03, b'u', b'r', b'n', 0x00, 0x01,
            0x01, // <X-Nokia xmlns=urn>
            0x04, 0x0B, // <X-Nokia/> without xmlns, unknown to the page
            0x01, // </Meta>
        ];
        let bytes = with_table(&[0xA4, 0x01], 0x6A, table, &body);
        let got = events(&bytes).unwrap();
        assert_eq!(got[1], start(Namespace::MetInf, "Type"));
        assert_eq!(
            got[4],
            Event::Start(StartTag {
                namespace: Namespace::Other,
                name: Cow::Borrowed("X-Nokia"),
                attributes: vec![Attribute {
                    name: Cow::Borrowed("xmlns"),
                    value: Cow::Borrowed("urn"),
                }],
            })
        );
        assert_eq!(got[6], start(Namespace::Other, "X-Nokia"));
    }

    #[test]
    fn literal_with_attributes_and_no_content() {
        // LITERAL_A "X-Flag" with a="b" + ENTITY 'c' (values concatenate), then END of the list.
        let table = b"X-Flag\0a\0";
        let body = [0x84, 0x00, 0x04, 0x07, 0x03, b'b', 0x00, 0x02, 0x63, 0x01];
        let bytes = with_table(&[0xA4, 0x01], 0x6A, table, &body);
        let got = events(&bytes).unwrap();
        assert_eq!(
            got,
            vec![
                Event::Start(StartTag {
                    namespace: Namespace::Other,
                    name: Cow::Borrowed("X-Flag"),
                    attributes: vec![Attribute {
                        name: Cow::Borrowed("a"),
                        value: Cow::Owned("bc".into()),
                    }],
                }),
                Event::End,
            ]
        );
    }

    #[test]
    fn literal_tag_known_to_the_page_keeps_its_namespace() {
        let table = b"SourceParent\0";
        let body = [0x44, 0x00, 0x03, b'p', 0x00, 0x01];
        let bytes = with_table(&[0x9F, 0x53], 0x6A, table, &body);
        let got = events(&bytes).unwrap();
        assert_eq!(got[0], start(Namespace::SyncMl, "SourceParent"));
    }

    #[test]
    fn tokens_of_later_versions_are_tolerated() {
        // SourceParent (0x39, SyncML 1.2) inside a SyncML 1.1 document, as Nokia sends it.
        let bytes = document(&SYNCML_1_1, &[0x79, 0x03, b'x', 0x00, 0x01]);
        let got = events(&bytes).unwrap();
        assert_eq!(got[0], start(Namespace::SyncMl, "SourceParent"));
    }

    #[test]
    fn wbxml_1_0_document() {
        // Version 0, DevInf 1.0, no charset: <DevInf><Man>N</Man></DevInf>
        let bytes = [
            0x00, 0x9F, 0x52, 0x00, 0x4A, 0x51, 0x03, b'N', 0x00, 0x01, 0x01,
        ];
        let got = events(&bytes).unwrap();
        assert_eq!(got[0], start(Namespace::DevInf, "DevInf"));
        assert_eq!(got[2], text("N"));
    }

    #[test]
    fn unidentified_public_id_is_inferred_from_the_root() {
        // Public id 1 ("unknown"), root token 0x2D = SyncML.
        let bytes = [0x03, 0x01, 0x6A, 0x00, 0x6D, 0x12, 0x01];
        let mut reader = Reader::new(&bytes).unwrap();
        assert_eq!(reader.document_type(), None);
        reader.next_event().unwrap();
        assert_eq!(
            reader.document_type(),
            Some(DocumentType::SyncMl(Version::V1_2))
        );
    }

    #[test]
    fn errors_name_the_offset_and_what_was_expected() {
        // Token 0x3D is in no SyncML table.
        let e = error_of(&document(&SYNCML_1_2, &[0x6D, 0x7D]));
        assert_eq!(e.position, Position::Byte(6));
        assert!(
            e.message.contains("0x7d") && e.message.contains("code page 0"),
            "{e}"
        );

        // Code page 5 does not exist.
        let e = error_of(&document(&SYNCML_1_2, &[0x6D, 0x00, 0x05, 0x45]));
        assert_eq!(e.position, Position::Byte(8));
        assert!(e.message.contains("code page 5"), "{e}");

        // A string table index past the table.
        let e = error_of(&with_table(
            &[0xA4, 0x01],
            0x6A,
            b"ab\0",
            &[0x6D, 0x83, 0x4D],
        ));
        assert_eq!(e.position, Position::Byte(10));
        assert!(
            e.message
                .contains("string table index 77 beyond its 3 bytes"),
            "{e}"
        );

        // OPAQUE longer than the input.
        let e = error_of(&document(&SYNCML_1_2, &[0x6D, 0xC3, 0x9F, 0x20, 1, 2]));
        assert!(
            e.message
                .contains("OPAQUE length 4000 exceeds the 2 bytes left"),
            "{e}"
        );

        // Truncated inside an element.
        let e = error_of(&document(&SYNCML_1_2, &[0x6D, 0x6A, 0x03, b'x', 0x00]));
        assert_eq!(e.position, Position::Byte(10));
        assert!(e.message.contains("input ended inside <Sync>"), "{e}");

        // Attribute tokens that no table defines.
        let e = error_of(&document(&SYNCML_1_2, &[0xED, 0x05, 0x01]));
        assert_eq!(e.position, Position::Byte(6));
        assert!(e.message.contains("attribute start token 0x05"), "{e}");
        let e = error_of(&with_table(
            &[0xA4, 0x01],
            0x6A,
            b"a\0",
            &[0xED, 0x04, 0x00, 0x90, 0x01],
        ));
        assert!(e.message.contains("attribute value token 0x90"), "{e}");

        // Text before the root, END without an element, bytes after the root.
        let e = error_of(&document(&SYNCML_1_2, &[0x03, b'x', 0x00]));
        assert!(e.message.contains("root element's start tag"), "{e}");
        let e = error_of(&document(&SYNCML_1_2, &[0x01]));
        assert!(e.message.contains("END with no open element"), "{e}");
        let e = error_of(&document(&SYNCML_1_2, &[0x2D, 0x2D]));
        assert_eq!(e.position, Position::Byte(6));
        assert!(
            e.message.contains("after the end of the root element"),
            "{e}"
        );

        // An ENTITY that is no character.
        let e = error_of(&document(&SYNCML_1_2, &[0x6D, 0x02, 0x83, 0xB0, 0x00]));
        assert!(e.message.contains("U+D800"), "{e}");
    }

    #[test]
    fn nesting_depth_is_bounded() {
        let mut body = vec![0x6D];
        body.extend(std::iter::repeat_n(0x4F, MAX_DEPTH + 5));
        let e = error_of(&document(&SYNCML_1_2, &body));
        assert_eq!(e.position, Position::Byte(5 + MAX_DEPTH));
        assert!(e.message.contains("deeper than 128"), "{e}");
    }
}
