//! Element events and trees: the currency between the two SyncML encodings and the typed model.
//!
//! Both the XML parser and the WBXML decoder are *pull readers* that yield [`Event`]s; both the
//! XML writer and the WBXML encoder are [`Sink`]s. The SyncML model is read from any
//! [`EventReader`] and written to any [`Sink`], so there is one mapping between the model and
//! markup, not one per encoding, and no intermediate tree on the hot path.
//!
//! [`Element`] is a small owned tree used where a subtree must be kept as it is: vendor
//! extensions the model does not know, test oracles and the `decode --raw` view.

mod tree;

pub use tree::{Element, Node, TreeBuilder, TreeReader};

use std::borrow::Cow;
use std::fmt;

/// The vocabulary an element belongs to. It decides the WBXML code page and the XML `xmlns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// SyncML representation protocol: WBXML code page 0 of a SyncML document.
    SyncMl,
    /// Meta information (`syncml:metinf`): WBXML code page 1 of a SyncML document.
    MetInf,
    /// Device information (`syncml:devinf`): its own WBXML document type.
    DevInf,
    /// Anything else (vendor extensions). The element keeps its `xmlns` attribute, if it had one,
    /// among its attributes.
    Other,
}

impl Namespace {
    /// The `xmlns` value written in XML for an element of this namespace, when it differs from
    /// its parent's. SyncML's own namespace depends on the version (`SYNCML:SYNCML1.1`).
    pub fn xmlns(self, version: Version) -> Option<&'static str> {
        match self {
            Namespace::SyncMl => Some(version.syncml_xmlns()),
            Namespace::MetInf => Some("syncml:metinf"),
            Namespace::DevInf => Some("syncml:devinf"),
            Namespace::Other => None,
        }
    }

    /// Classifies an `xmlns` value, case-insensitively as phones vary the spelling.
    pub fn from_xmlns(value: &str) -> Namespace {
        let v = value.trim();
        if v.eq_ignore_ascii_case("syncml:metinf") {
            Namespace::MetInf
        } else if v.eq_ignore_ascii_case("syncml:devinf") {
            Namespace::DevInf
        } else if v
            .get(..13)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("SYNCML:SYNCML"))
        {
            // `get`: a multi-byte character across byte 13 is no prefix (slicing panicked:
            // found by the engine_session fuzz target).
            Namespace::SyncMl
        } else {
            Namespace::Other
        }
    }
}

/// A SyncML / DevInf / MetInf specification version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
}

impl Version {
    pub const ALL: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    /// "1.0", "1.1", "1.2": the text of `VerDTD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    pub fn parse(s: &str) -> Option<Version> {
        match s.trim() {
            "1.0" => Some(Version::V1_0),
            "1.1" => Some(Version::V1_1),
            "1.2" => Some(Version::V1_2),
            _ => None,
        }
    }

    /// The `xmlns` of a SyncML root element of this version.
    pub fn syncml_xmlns(self) -> &'static str {
        match self {
            Version::V1_0 => "SYNCML:SYNCML1.0",
            Version::V1_1 => "SYNCML:SYNCML1.1",
            Version::V1_2 => "SYNCML:SYNCML1.2",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of document a byte stream holds: decides WBXML public ids and code pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentType {
    SyncMl(Version),
    DevInf(Version),
    /// A standalone MetInf document (public id 0x1202, SyncML 1.2 only).
    MetInf,
}

impl DocumentType {
    /// The namespace of the document's root element.
    pub fn root_namespace(self) -> Namespace {
        match self {
            DocumentType::SyncMl(_) => Namespace::SyncMl,
            DocumentType::DevInf(_) => Namespace::DevInf,
            DocumentType::MetInf => Namespace::MetInf,
        }
    }

    pub fn version(self) -> Version {
        match self {
            DocumentType::SyncMl(v) | DocumentType::DevInf(v) => v,
            DocumentType::MetInf => Version::V1_2,
        }
    }
}

/// One attribute of a start tag. SyncML itself uses none; phones add `xmlns` (Nokia sends it as a
/// WBXML LITERAL attribute) and vendor extensions may carry others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

impl Attribute<'_> {
    pub fn into_owned(self) -> Attribute<'static> {
        Attribute {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
        }
    }
}

/// A start tag. Readers resolve the namespace (XML `xmlns` scoping, WBXML code pages), so the
/// model never looks at `xmlns` attributes; readers leave them out of `attributes` when they
/// named one of the three SyncML namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartTag<'a> {
    pub namespace: Namespace,
    pub name: Cow<'a, str>,
    pub attributes: Vec<Attribute<'a>>,
}

/// One step of a document, as a pull reader yields it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Start(StartTag<'a>),
    /// Character data: XML text or CDATA (entities resolved), WBXML STR_I / STR_T / ENTITY,
    /// already converted to UTF-8. Adjacent pieces may arrive as separate events.
    Text(Cow<'a, str>),
    /// WBXML OPAQUE bytes: binary data, text some phones send as opaque (Sony Ericsson), or a
    /// whole nested WBXML document (DevInf inside `<Data>`). XML never yields it.
    Opaque(Cow<'a, [u8]>),
    End,
}

/// Where in the input something happened, for error messages a user can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Offset of the byte in a binary (WBXML) input, from 0.
    Byte(usize),
    /// A place in a text (XML) input: line and column from 1, and the byte offset.
    Text {
        line: usize,
        column: usize,
        offset: usize,
    },
    /// Inside a nested document (DevInf in `<Data>`): where the nested document starts in the
    /// outer input, and the position inside it.
    Nested { outer: usize, inner: usize },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Position::Byte(b) => write!(f, "byte {b} (0x{b:x})"),
            Position::Text {
                line,
                column,
                offset,
            } => write!(f, "line {line}, column {column} (byte {offset})"),
            Position::Nested { outer, inner } => {
                write!(
                    f,
                    "byte {} (0x{:x}): byte {inner} of the document nested at byte {outer}",
                    outer + inner,
                    outer + inner
                )
            }
        }
    }
}

/// A markup-level error: the input is not well-formed XML or WBXML, or the structure does not
/// fit what the reader expected. Always says where and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkupError {
    pub position: Position,
    pub message: String,
}

impl MarkupError {
    pub fn new(position: Position, message: impl Into<String>) -> MarkupError {
        MarkupError {
            position,
            message: message.into(),
        }
    }
}

impl fmt::Display for MarkupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.position, self.message)
    }
}

impl std::error::Error for MarkupError {}

/// A pull reader over one document. `next` returns `Ok(None)` once the root element has ended
/// and nothing but trailing whitespace (XML) or nothing at all (WBXML) follows.
pub trait EventReader<'a> {
    fn next_event(&mut self) -> Result<Option<Event<'a>>, MarkupError>;

    /// Position of the start of the event returned last (or of the input, before the first).
    fn position(&self) -> Position;

    /// The document type the reader found in the header (WBXML public id, XML DOCTYPE or root
    /// `xmlns`), if it could tell.
    fn document_type(&self) -> Option<DocumentType>;
}

/// Where a writer sends a document: the XML writer and the WBXML encoder implement it.
///
/// Calls must nest: every `start` is closed by an `end`, every `begin_embedded` by an
/// `end_embedded`. Sinks may fail on calls their encoding cannot express (binary data in XML,
/// a character the WBXML charset cannot carry) or on a write error.
pub trait Sink {
    fn start(
        &mut self,
        namespace: Namespace,
        name: &str,
        attributes: &[Attribute<'_>],
    ) -> Result<(), MarkupError>;
    fn text(&mut self, text: &str) -> Result<(), MarkupError>;
    fn opaque(&mut self, bytes: &[u8]) -> Result<(), MarkupError>;
    fn end(&mut self) -> Result<(), MarkupError>;

    /// Starts a document nested in the current element (DevInf inside `<Data>`). WBXML encodes
    /// it as a complete document carried as OPAQUE; XML writes its elements inline.
    fn begin_embedded(&mut self, doc: DocumentType) -> Result<(), MarkupError>;
    fn end_embedded(&mut self) -> Result<(), MarkupError>;

    /// Convenience: `<name>text</name>`.
    fn text_element(
        &mut self,
        namespace: Namespace,
        name: &str,
        text: &str,
    ) -> Result<(), MarkupError> {
        self.start(namespace, name, &[])?;
        self.text(text)?;
        self.end()
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn start(
        &mut self,
        namespace: Namespace,
        name: &str,
        attributes: &[Attribute<'_>],
    ) -> Result<(), MarkupError> {
        (**self).start(namespace, name, attributes)
    }
    fn text(&mut self, text: &str) -> Result<(), MarkupError> {
        (**self).text(text)
    }
    fn opaque(&mut self, bytes: &[u8]) -> Result<(), MarkupError> {
        (**self).opaque(bytes)
    }
    fn end(&mut self) -> Result<(), MarkupError> {
        (**self).end()
    }
    fn begin_embedded(&mut self, doc: DocumentType) -> Result<(), MarkupError> {
        (**self).begin_embedded(doc)
    }
    fn end_embedded(&mut self) -> Result<(), MarkupError> {
        (**self).end_embedded()
    }
}

impl<'a, R: EventReader<'a> + ?Sized> EventReader<'a> for &mut R {
    fn next_event(&mut self) -> Result<Option<Event<'a>>, MarkupError> {
        (**self).next_event()
    }
    fn position(&self) -> Position {
        (**self).position()
    }
    fn document_type(&self) -> Option<DocumentType> {
        (**self).document_type()
    }
}

#[cfg(test)]
mod namespace_tests {
    use super::Namespace;

    /// An `xmlns` with a multi-byte character across byte 13 (an ISO-8859-1 message full of
    /// 0xFF, found by fuzzing) is another namespace, not a panic.
    #[test]
    fn any_xmlns_value_is_classified_without_panic() {
        assert_eq!(Namespace::from_xmlns("syncml:metÿÿÿÿÿÿ"), Namespace::Other);
        assert_eq!(Namespace::from_xmlns("syncml:metinÿ"), Namespace::Other);
        assert_eq!(Namespace::from_xmlns("SYNCML:SYNCML1.2"), Namespace::SyncMl);
        assert_eq!(Namespace::from_xmlns(" syncml:MetInf "), Namespace::MetInf);
    }
}
