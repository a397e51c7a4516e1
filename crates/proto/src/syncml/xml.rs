//! SyncML's XML encoding: a pull reader on quick-xml and a writer, over [`crate::markup`] events.
//!
//! The reader resolves namespaces (default `xmlns` scoping and prefixes) so the model sees
//! [`Namespace`]s, never `xmlns` attributes. Text keeps every byte (vCards are CRLF-separated
//! and must stay so); entities and CDATA are resolved. The writer puts an `xmlns` only where
//! the namespace changes, writes multi-line or markup-heavy text as CDATA (how phones and
//! servers carry vCards) and can indent for people.

use crate::markup::{
    Attribute, DocumentType, Event, EventReader, MarkupError, Namespace, Position, Sink, StartTag,
    Version,
};
use quick_xml::events::{BytesStart, Event as XmlEvent};
use std::borrow::Cow;

/// Turns the bytes of an XML message into text: UTF-8 (with or without BOM), or ISO-8859-1 /
/// Windows-1252 when the XML declaration says so. Anything else is an error at the first
/// offending byte.
pub fn xml_text(bytes: &[u8]) -> Result<Cow<'_, str>, MarkupError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if declared_latin1(bytes) {
        // Windows-1252 differs from ISO-8859-1 only in 0x80..0x9F, which are control characters
        // in Latin-1 and never appear in real SyncML text, so one mapping serves both.
        return Ok(Cow::Owned(bytes.iter().map(|&b| b as char).collect()));
    }
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        MarkupError::new(
            Position::Byte(e.valid_up_to()),
            "invalid UTF-8 in an XML message (and no ISO-8859-1 encoding declared)",
        )
    })
}

fn declared_latin1(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"<?xml") {
        return false;
    }
    let end = bytes.iter().position(|&b| b == b'>').unwrap_or(bytes.len());
    let decl = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    ["iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252"]
        .iter()
        .any(|name| decl.contains(name))
}

/// Scoped namespace declarations: default namespace and prefixes, per open element.
struct Scope {
    default: Namespace,
    prefixes: Vec<(String, Namespace)>,
}

/// A pull reader over one XML document.
pub struct XmlReader<'a> {
    input: &'a str,
    parser: quick_xml::Reader<&'a [u8]>,
    scopes: Vec<Scope>,
    document_type: Option<DocumentType>,
    root_seen: bool,
    finished: bool,
    event_start: usize,
    // Line counting walks forward from the last answer, so positions cost O(n) in all.
    line_cache: std::cell::Cell<(usize, usize, usize)>,
}

/// Deepest element nesting accepted; SyncML needs about 15, hostile input may send thousands.
const MAX_DEPTH: usize = 256;

impl<'a> XmlReader<'a> {
    pub fn new(input: &'a str) -> XmlReader<'a> {
        let mut parser = quick_xml::Reader::from_str(input);
        let config = parser.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        XmlReader {
            input,
            parser,
            scopes: Vec::new(),
            document_type: None,
            root_seen: false,
            finished: false,
            event_start: 0,
            line_cache: std::cell::Cell::new((0, 1, 1)),
        }
    }

    fn position_at(&self, offset: usize) -> Position {
        let offset = offset.min(self.input.len());
        let (mut at, mut line, mut column) = self.line_cache.get();
        if offset < at {
            (at, line, column) = (0, 1, 1);
        }
        for ch in self.input[at..].chars() {
            if at >= offset {
                break;
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
            at += ch.len_utf8();
        }
        self.line_cache.set((at, line, column));
        Position::Text {
            line,
            column,
            offset,
        }
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> MarkupError {
        MarkupError::new(self.position_at(offset), message)
    }

    /// A slice of the input with the input's lifetime, when `part` points into it.
    fn reborrow(&self, part: &[u8]) -> Option<&'a str> {
        let base = self.input.as_ptr() as usize;
        let start = (part.as_ptr() as usize).checked_sub(base)?;
        self.input.get(start..start.checked_add(part.len())?)
    }

    fn start_tag(&mut self, tag: &BytesStart<'_>) -> Result<StartTag<'a>, MarkupError> {
        if self.scopes.len() >= MAX_DEPTH {
            return Err(self.error(
                self.event_start,
                format!("elements nested deeper than {MAX_DEPTH}"),
            ));
        }
        let parent_default = self.scopes.last().map(|s| s.default);
        let mut scope = Scope {
            default: parent_default.unwrap_or(Namespace::Other),
            prefixes: Vec::new(),
        };
        let mut attributes = Vec::new();
        for attribute in tag.attributes() {
            let attribute = attribute
                .map_err(|e| self.error(self.event_start, format!("malformed attribute: {e}")))?;
            let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let value = attribute
                .unescape_value()
                .map_err(|e| self.error(self.event_start, format!("attribute {key}: {e}")))?
                .into_owned();
            if key == "xmlns" {
                let namespace = Namespace::from_xmlns(&value);
                scope.default = namespace;
                if namespace != Namespace::Other {
                    if namespace == Namespace::SyncMl && self.document_type.is_none() {
                        self.document_type =
                            syncml_version_from_xmlns(&value).map(DocumentType::SyncMl);
                    }
                    continue;
                }
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                let namespace = Namespace::from_xmlns(&value);
                scope.prefixes.push((prefix.to_string(), namespace));
                if namespace != Namespace::Other {
                    continue;
                }
            }
            attributes.push(Attribute {
                name: Cow::Owned(key),
                value: Cow::Owned(value),
            });
        }
        let raw_name = tag.name();
        let raw_name = raw_name.as_ref();
        let (prefix, local) = match raw_name.iter().position(|&b| b == b':') {
            Some(colon) => (Some(&raw_name[..colon]), &raw_name[colon + 1..]),
            None => (None, raw_name),
        };
        let mut namespace = match prefix {
            None => scope.default,
            Some(p) => {
                let p = String::from_utf8_lossy(p);
                std::iter::once(&scope)
                    .chain(self.scopes.iter().rev())
                    .flat_map(|s| s.prefixes.iter())
                    .find(|(name, _)| *name == p)
                    .map(|(_, ns)| *ns)
                    .ok_or_else(|| {
                        self.error(self.event_start, format!("undeclared prefix '{p}'"))
                    })?
            }
        };
        let name: Cow<'a, str> = match self.reborrow(local) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(String::from_utf8_lossy(local).into_owned()),
        };
        if parent_default.is_none() && namespace == Namespace::Other {
            // A root without xmlns (the spec's own examples omit it): known by its name.
            namespace = match name.as_ref() {
                "SyncML" => Namespace::SyncMl,
                "DevInf" => Namespace::DevInf,
                "MetInf" => Namespace::MetInf,
                _ => Namespace::Other,
            };
            if prefix.is_none() {
                scope.default = namespace;
            }
        }
        if !self.root_seen {
            self.root_seen = true;
            if self.document_type.is_none() {
                self.document_type = match namespace {
                    Namespace::DevInf => Some(DocumentType::DevInf(Version::V1_2)),
                    Namespace::MetInf => Some(DocumentType::MetInf),
                    _ => None,
                };
            }
        }
        self.scopes.push(scope);
        Ok(StartTag {
            namespace,
            name,
            attributes,
        })
    }
}

/// The first character XML 1.0 cannot carry (C0 controls but tab, CR and LF; U+FFFE, U+FFFF).
/// Works on bytes: this runs over every payload written.
fn forbidden_in_xml(text: &str) -> Option<char> {
    let bytes = text.as_bytes();
    let forbidden = |b: u8| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r';
    // A branch-free test per 64-byte block vectorises; the exact place is looked for only in
    // the rare text that has one.
    let any_forbidden = bytes
        .chunks(64)
        .any(|block| block.iter().fold(false, |seen, &b| seen | forbidden(b)));
    if any_forbidden {
        if let Some(&b) = bytes.iter().find(|&&b| forbidden(b)) {
            return Some(b as char);
        }
    }
    // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8.
    memchr::memchr_iter(0xEF, bytes).find_map(|at| match bytes.get(at + 1..at + 3) {
        Some([0xBF, 0xBE]) => Some('\u{FFFE}'),
        Some([0xBF, 0xBF]) => Some('\u{FFFF}'),
        _ => None,
    })
}

fn syncml_version_from_xmlns(value: &str) -> Option<Version> {
    Version::parse(value.trim().get(13..)?)
}

/// `-//SYNCML//DTD SyncML 1.1//EN`, `-//SYNCML//DTD DevInf 1.2//EN` -> the document type.
fn document_type_from_doctype(text: &str) -> Option<DocumentType> {
    let upper = text.to_ascii_uppercase();
    let start = upper.find("-//SYNCML//DTD ")? + "-//SYNCML//DTD ".len();
    let rest = &upper[start..];
    let mut words = rest.split_whitespace();
    let kind = words.next()?;
    let version = Version::parse(words.next()?.split("//").next()?)?;
    match kind {
        "SYNCML" => Some(DocumentType::SyncMl(version)),
        "DEVINF" => Some(DocumentType::DevInf(version)),
        "METINF" => Some(DocumentType::MetInf),
        _ => None,
    }
}

impl<'a> EventReader<'a> for XmlReader<'a> {
    fn next_event(&mut self) -> Result<Option<Event<'a>>, MarkupError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            self.event_start = self.parser.buffer_position() as usize;
            let event = self.parser.read_event().map_err(|e| {
                let at = self.parser.error_position() as usize;
                self.error(at, format!("malformed XML: {e}"))
            })?;
            match event {
                XmlEvent::Start(tag) => {
                    if self.root_seen && self.scopes.is_empty() {
                        return Err(self.error(
                            self.event_start,
                            "a second root element after the end of the first",
                        ));
                    }
                    return self.start_tag(&tag).map(|t| Some(Event::Start(t)));
                }
                XmlEvent::Empty(_) => {
                    unreachable!("expand_empty_elements turns <a/> into Start and End")
                }
                XmlEvent::End(_) => {
                    self.scopes.pop();
                    return Ok(Some(Event::End));
                }
                XmlEvent::Text(text) => {
                    if self.scopes.is_empty() {
                        if text.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        return Err(self.error(self.event_start, "text outside the root element"));
                    }
                    let text = text.unescape().map_err(|e| {
                        self.error(self.event_start, format!("bad character reference: {e}"))
                    })?;
                    return Ok(Some(Event::Text(text)));
                }
                XmlEvent::CData(data) => {
                    if self.scopes.is_empty() {
                        return Err(self.error(self.event_start, "CDATA outside the root element"));
                    }
                    let bytes = data.into_inner();
                    let text = match bytes {
                        Cow::Borrowed(b) => match self.reborrow(b) {
                            Some(s) => Cow::Borrowed(s),
                            None => Cow::Owned(String::from_utf8_lossy(b).into_owned()),
                        },
                        Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
                    };
                    return Ok(Some(Event::Text(text)));
                }
                XmlEvent::DocType(text) => {
                    if self.document_type.is_none() {
                        self.document_type =
                            document_type_from_doctype(&String::from_utf8_lossy(&text));
                    }
                }
                XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) => {}
                XmlEvent::Eof => {
                    if !self.root_seen {
                        return Err(self.error(
                            self.input.len(),
                            "no root element: expected <SyncML> or <DevInf>",
                        ));
                    }
                    if !self.scopes.is_empty() {
                        return Err(self.error(self.input.len(), "input ended inside an element"));
                    }
                    self.finished = true;
                    return Ok(None);
                }
            }
        }
    }

    fn position(&self) -> Position {
        self.position_at(self.event_start)
    }

    fn document_type(&self) -> Option<DocumentType> {
        self.document_type
    }
}

/// How the XML writer lays out its output.
#[derive(Clone, Debug)]
pub struct XmlOptions {
    /// Spaces per nesting level; `None` writes everything on one line, as on the wire.
    pub indent: Option<usize>,
    /// Write `<?xml version="1.0" encoding="UTF-8"?>` first.
    pub declaration: bool,
}

impl Default for XmlOptions {
    fn default() -> XmlOptions {
        XmlOptions {
            indent: None,
            declaration: true,
        }
    }
}

impl XmlOptions {
    /// Indented by two spaces: what `handsync decode` prints.
    pub fn pretty() -> XmlOptions {
        XmlOptions {
            indent: Some(2),
            declaration: true,
        }
    }
}

struct OpenElement {
    name: String,
    namespace: Namespace,
    has_text: bool,
    has_children: bool,
    // The start tag's closing '>' is held back so an empty element can become `<a/>`.
    start_pending: bool,
}

/// A [`Sink`] writing XML text.
pub struct XmlWriter {
    out: String,
    options: XmlOptions,
    version: Version,
    open: Vec<OpenElement>,
    embedded_depth: Vec<usize>,
    root_done: bool,
}

impl XmlWriter {
    /// `version` decides the SyncML `xmlns` (`SYNCML:SYNCML1.1`).
    pub fn new(version: Version, options: XmlOptions) -> XmlWriter {
        let mut out = String::new();
        if options.declaration {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            if options.indent.is_some() {
                out.push('\n');
            }
        }
        XmlWriter {
            out,
            options,
            version,
            open: Vec::new(),
            embedded_depth: Vec::new(),
            root_done: false,
        }
    }

    /// Makes room for `additional` more bytes of output at once, so a large message is not
    /// copied again each time the buffer doubles.
    pub fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    /// The document, once every element is closed.
    pub fn finish(mut self) -> Result<String, MarkupError> {
        if !self.open.is_empty() || !self.root_done {
            return Err(MarkupError::new(
                Position::Byte(self.out.len()),
                format!(
                    "XML writer finished with {} element(s) open{}",
                    self.open.len(),
                    if self.root_done { "" } else { " and no root" }
                ),
            ));
        }
        if self.options.indent.is_some() {
            self.out.push('\n');
        }
        Ok(self.out)
    }

    fn close_pending_start(&mut self) {
        if let Some(top) = self.open.last_mut() {
            if top.start_pending {
                top.start_pending = false;
                self.out.push('>');
            }
        }
    }

    fn newline_and_indent(&mut self, depth: usize) {
        const SPACES: &str = "                                                                ";
        if let Some(width) = self.options.indent {
            self.out.push('\n');
            let mut left = width * depth;
            while left > 0 {
                let step = left.min(SPACES.len());
                self.out.push_str(&SPACES[..step]);
                left -= step;
            }
        }
    }

    fn push_escaped(&mut self, text: &str, quote: bool) {
        // Copy the runs between characters that need escaping; they are all ASCII, so every
        // cut falls on a character boundary.
        let mut run_start = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escaped = match byte {
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'&' => "&amp;",
                b'"' if quote => "&quot;",
                b'\r' => "&#13;",
                _ => continue,
            };
            self.out.push_str(&text[run_start..at]);
            self.out.push_str(escaped);
            run_start = at + 1;
        }
        self.out.push_str(&text[run_start..]);
    }

    fn error(&self, message: impl Into<String>) -> MarkupError {
        MarkupError::new(Position::Byte(self.out.len()), message)
    }
}

impl Sink for XmlWriter {
    fn start(
        &mut self,
        namespace: Namespace,
        name: &str,
        attributes: &[Attribute<'_>],
    ) -> Result<(), MarkupError> {
        if self.open.is_empty() && self.root_done {
            return Err(self.error("a second root element"));
        }
        if name.is_empty()
            || name.bytes().any(|b| {
                b.is_ascii_whitespace()
                    || matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'' | b'/' | b'=')
            })
        {
            return Err(self.error(format!("'{name}' is not an XML element name")));
        }
        self.close_pending_start();
        let parent_namespace = self.open.last().map(|e| e.namespace);
        let parent_has_text = self.open.last().is_some_and(|e| e.has_text);
        if let Some(parent) = self.open.last_mut() {
            parent.has_children = true;
        }
        if !self.open.is_empty() && !parent_has_text {
            self.newline_and_indent(self.open.len());
        }
        self.out.push('<');
        self.out.push_str(name);
        let embedded_root = self.embedded_depth.last() == Some(&self.open.len());
        if parent_namespace != Some(namespace) || embedded_root {
            if let Some(xmlns) = namespace.xmlns(self.version) {
                self.out.push_str(" xmlns=\"");
                self.out.push_str(xmlns);
                self.out.push('"');
            }
        }
        for attribute in attributes {
            let known_xmlns =
                attribute.name == "xmlns" && Namespace::from_xmlns(&attribute.value) == namespace;
            if known_xmlns && namespace != Namespace::Other {
                continue;
            }
            self.out.push(' ');
            self.out.push_str(&attribute.name);
            self.out.push_str("=\"");
            self.push_escaped(&attribute.value, true);
            self.out.push('"');
        }
        self.open.push(OpenElement {
            name: name.to_string(),
            namespace,
            has_text: false,
            has_children: false,
            start_pending: true,
        });
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), MarkupError> {
        if self.open.is_empty() {
            return Err(self.error("text outside any element"));
        }
        if text.is_empty() {
            return Ok(());
        }
        self.close_pending_start();
        if let Some(top) = self.open.last_mut() {
            top.has_text = true;
        }
        if let Some(bad) = forbidden_in_xml(text) {
            return Err(self.error(format!(
                "character U+{:04X} cannot be carried in XML; use WBXML or b64",
                bad as u32
            )));
        }
        // Multi-line text (vCards, vCalendars) goes in CDATA, as phones and servers send it.
        // A conforming parser may fold its CRLFs to LF there; vCard readers accept both.
        if memchr::memchr(b'\n', text.as_bytes()).is_some() {
            self.out.push_str("<![CDATA[");
            if memchr::memmem::find(text.as_bytes(), b"]]>").is_some() {
                // "]]>" cannot stand inside one CDATA section: split it across two.
                self.out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
            } else {
                self.out.push_str(text);
            }
            self.out.push_str("]]>");
        } else {
            // A lone CR must survive other parsers' end-of-line normalisation: &#13;.
            self.push_escaped(text, false);
        }
        Ok(())
    }

    fn opaque(&mut self, bytes: &[u8]) -> Result<(), MarkupError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.text(text),
            Err(e) => Err(self.error(format!(
                "binary data (not UTF-8 at its byte {}) cannot be carried in XML; send it b64-encoded",
                e.valid_up_to()
            ))),
        }
    }

    fn end(&mut self) -> Result<(), MarkupError> {
        let element = self
            .open
            .pop()
            .ok_or_else(|| self.error("end of an element that was never started"))?;
        if element.start_pending {
            self.out.push_str("/>");
        } else {
            if element.has_children && !element.has_text {
                self.newline_and_indent(self.open.len());
            }
            self.out.push_str("</");
            self.out.push_str(&element.name);
            self.out.push('>');
        }
        if self.open.is_empty() {
            self.root_done = true;
        }
        Ok(())
    }

    fn begin_embedded(&mut self, _doc: DocumentType) -> Result<(), MarkupError> {
        if self.open.is_empty() {
            return Err(self.error("an embedded document outside any element"));
        }
        self.embedded_depth.push(self.open.len());
        Ok(())
    }

    fn end_embedded(&mut self) -> Result<(), MarkupError> {
        match self.embedded_depth.pop() {
            Some(depth) if depth == self.open.len() => Ok(()),
            Some(_) => Err(self.error("an embedded document ended with elements open")),
            None => Err(self.error("end of an embedded document that was never begun")),
        }
    }
}

/// Parses a whole XML document into a tree.
pub fn decode_tree(input: &str) -> Result<crate::markup::Element, MarkupError> {
    crate::markup::Element::read_document(&mut XmlReader::new(input))
}

/// Writes a tree as an XML document.
pub fn encode_tree(
    version: Version,
    root: &crate::markup::Element,
    options: XmlOptions,
) -> Result<String, MarkupError> {
    let mut writer = XmlWriter::new(version, options);
    root.write(&mut writer)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::{Element, Node};

    const SAMPLE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.1//EN" "http://www.syncml.org/docs/syncml_represent_v11_20020213.dtd">
<SyncML>
  <SyncHdr>
    <VerDTD>1.1</VerDTD>
    <Meta><MaxMsgSize xmlns='syncml:metinf'>10000</MaxMsgSize></Meta>
  </SyncHdr>
  <SyncBody>
    <Add><Item><Data><![CDATA[BEGIN:VCARD
N:Smith;John
END:VCARD]]></Data></Item></Add>
    <Put><Item><Data><DevInf xmlns="syncml:devinf"><Man>Nokia &amp; Co</Man></DevInf></Data></Item></Put>
    <Final/>
  </SyncBody>
</SyncML>
"#;

    #[test]
    fn reads_namespaces_cdata_entities_and_doctype() {
        let mut reader = XmlReader::new(SAMPLE);
        let tree = Element::read_document(&mut reader).unwrap();
        assert_eq!(
            reader.document_type(),
            Some(DocumentType::SyncMl(Version::V1_1))
        );
        assert_eq!(tree.namespace, Namespace::SyncMl);
        let header = tree.child("SyncHdr").unwrap();
        let max = header.child("Meta").unwrap().child("MaxMsgSize").unwrap();
        assert_eq!(max.namespace, Namespace::MetInf);
        assert!(max.attributes.is_empty(), "xmlns is resolved, not kept");
        let body = tree.child("SyncBody").unwrap();
        let data = body.child("Add").unwrap().child("Item").unwrap();
        assert_eq!(
            data.child("Data").unwrap().text(),
            "BEGIN:VCARD\nN:Smith;John\nEND:VCARD"
        );
        let devinf = body
            .child("Put")
            .unwrap()
            .child("Item")
            .unwrap()
            .child("Data")
            .unwrap()
            .child("DevInf")
            .unwrap();
        assert_eq!(devinf.namespace, Namespace::DevInf);
        assert_eq!(devinf.child("Man").unwrap().namespace, Namespace::DevInf);
        assert_eq!(devinf.child("Man").unwrap().text(), "Nokia & Co");
        assert_eq!(body.child("Final").unwrap().children, vec![]);
    }

    #[test]
    fn prefixed_namespaces_resolve() {
        let xml = r#"<SyncML xmlns="SYNCML:SYNCML1.2" xmlns:m="syncml:metinf"><Meta><m:Type>text/x-vcard</m:Type></Meta></SyncML>"#;
        let mut reader = XmlReader::new(xml);
        let tree = Element::read_document(&mut reader).unwrap();
        assert_eq!(
            reader.document_type(),
            Some(DocumentType::SyncMl(Version::V1_2))
        );
        let t = tree.child("Meta").unwrap().child("Type").unwrap();
        assert_eq!(t.namespace, Namespace::MetInf);
        assert_eq!(t.text(), "text/x-vcard");
    }

    #[test]
    fn write_then_read_keeps_the_tree_and_crlf() {
        let tree = decode_tree(SAMPLE).unwrap();
        let mut with_crlf = tree.clone();
        let item = Element::new(Namespace::SyncMl, "Data")
            .with_text("BEGIN:VCARD\r\nNOTE:a]]>b <c> & d\r\nEND:VCARD\r\n");
        with_crlf.children.push(Node::Element(item));
        for options in [XmlOptions::default(), XmlOptions::pretty()] {
            let xml = encode_tree(Version::V1_1, &with_crlf, options).unwrap();
            let again = decode_tree(&xml).unwrap();
            assert_eq!(again.normalized(), with_crlf.normalized(), "{xml}");
            let data = again.elements().last().unwrap().text();
            assert_eq!(data, "BEGIN:VCARD\r\nNOTE:a]]>b <c> & d\r\nEND:VCARD\r\n");
        }
    }

    #[test]
    fn writer_puts_xmlns_only_where_the_namespace_changes() {
        let tree = decode_tree(SAMPLE).unwrap();
        let xml = encode_tree(Version::V1_1, &tree, XmlOptions::default()).unwrap();
        assert!(
            xml.contains(r#"<SyncML xmlns="SYNCML:SYNCML1.1">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<MaxMsgSize xmlns="syncml:metinf">10000</MaxMsgSize>"#));
        assert!(xml.contains(r#"<DevInf xmlns="syncml:devinf"><Man>Nokia &amp; Co</Man>"#));
        assert!(xml.contains("<Final/>"));
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = decode_tree("<SyncML>\n  <SyncHdr>\n  </SyncBody>\n</SyncML>").unwrap_err();
        match err.position {
            Position::Text { line, .. } => assert_eq!(line, 3, "{err}"),
            other => panic!("expected a text position, got {other:?}"),
        }
        let err = decode_tree("<SyncML><a>").unwrap_err();
        assert!(err.message.contains("ended inside"), "{err}");
        let err = decode_tree("").unwrap_err();
        assert!(err.message.contains("no root element"), "{err}");
        let err = decode_tree("<a/><b/>").unwrap_err();
        assert!(err.message.contains("second root"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let xml = "<a>".repeat(10_000);
        let err = decode_tree(&xml).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err}");
    }

    #[test]
    fn latin1_declared_input_is_converted() {
        let bytes =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><SyncML><a>M\xfcller</a></SyncML>";
        let text = xml_text(bytes).unwrap();
        let tree = decode_tree(&text).unwrap();
        assert_eq!(tree.child("a").unwrap().text(), "Müller");
        let err = xml_text(b"<SyncML>\xff</SyncML>").unwrap_err();
        assert_eq!(err.position, Position::Byte(8));
    }

    #[test]
    fn binary_opaque_is_refused_in_xml() {
        let mut writer = XmlWriter::new(Version::V1_2, XmlOptions::default());
        writer.start(Namespace::SyncMl, "Data", &[]).unwrap();
        let err = writer.opaque(&[0xff, 0x00]).unwrap_err();
        assert!(err.message.contains("b64"), "{err}");
    }
}
