//! The reader: markup events to the model.
//!
//! One recursive-descent reader over [`EventReader`] events serves XML and WBXML. Each
//! `read_*` method is called after the start tag of its element was taken, reads up to and
//! including the matching end, and keeps the element path for error messages. Nesting is
//! bounded by [`MAX_DEPTH`]; subtrees kept verbatim are read by the iterative
//! [`Element::read_after_start`].
//!
//! Here the plumbing and the message's frame; by element family: `elements` (those the header,
//! commands and items share, and MetInf), `data`, `commands` and `devinf`.

use super::devinf::DevInf;
use super::error::SyncMlError;
use super::metinf::MetInf;
use super::model::{Extensions, Message, SyncBody, SyncHdr};
use crate::markup::{
    DocumentType, Element, Event, EventReader, MarkupError, Namespace, Node, Position, StartTag,
    Version,
};
use compact_str::CompactString;
use std::borrow::Cow;
use std::marker::PhantomData;

mod commands;
mod data;
mod devinf;
mod elements;

/// How deep elements may nest before the reader gives up (commands in `Atomic`, `Sequence` and
/// `Sync`, filters in targets in items...). Real messages stay below 12.
pub const MAX_DEPTH: usize = 48;

/// How deep commands may nest (`Atomic`, `Sequence` and `Sync` inside each other). Real
/// messages nest three deep at most; each level costs the reader a few kilobytes of stack
/// (tens in debug builds), so the bound keeps a hostile message far from overflowing a
/// thread's stack.
pub const MAX_COMMAND_NESTING: usize = 8;

type Result<T> = std::result::Result<T, SyncMlError>;

impl Message {
    /// Reads a whole SyncML message from a pull reader (XML or WBXML).
    ///
    /// The version comes from `VerDTD`, else from the reader's document type. Unknown elements
    /// are kept; a missing required element, a malformed number, text that is not UTF-8 or an
    /// input that ends early is an error naming the element path and the position.
    pub fn read<'a>(
        reader: &mut impl EventReader<'a>,
    ) -> std::result::Result<Message, SyncMlError> {
        Ctx::new(reader).read_message()
    }
}

impl DevInf {
    /// Reads a standalone DevInf document (the root element is `<DevInf>`).
    ///
    /// Without a `VerDTD`, the version comes from the reader's document type.
    pub fn read<'a>(reader: &mut impl EventReader<'a>) -> std::result::Result<DevInf, SyncMlError> {
        Ctx::new(reader).read_devinf_document()
    }
}

/// One piece of a `<Data>` element's content, in order.
pub(crate) enum DataPart {
    Text(String),
    Opaque(Vec<u8>),
    DevInf(DevInf),
    MetInf(MetInf),
    Element(Element),
}

struct Ctx<'r, 'a, R: EventReader<'a>> {
    reader: &'r mut R,
    /// Names of the open elements. Borrowed from the input or the token tables, so keeping
    /// the path costs no allocation per element.
    path: Vec<Cow<'a, str>>,
    /// The `VerDTD` of the enclosing message (or the nested document's type): what a DevInf
    /// without `VerDTD` is taken to be. See [`Ctx::context_version`].
    version: Option<Version>,
    /// For a document nested in OPAQUE: where it starts in the outer input.
    nested_at: Option<usize>,
    /// Commands open around the element being read.
    command_depth: usize,
    _input: PhantomData<&'a ()>,
}

impl<'r, 'a, R: EventReader<'a>> Ctx<'r, 'a, R> {
    fn new(reader: &'r mut R) -> Self {
        Ctx {
            reader,
            path: Vec::new(),
            version: None,
            nested_at: None,
            command_depth: 0,
            _input: PhantomData,
        }
    }

    // ----- plumbing -----

    fn position(&self) -> Position {
        self.outer_position(self.reader.position())
    }

    fn outer_position(&self, position: Position) -> Position {
        match (self.nested_at, position) {
            (Some(outer), Position::Byte(inner)) => Position::Nested { outer, inner },
            _ => position,
        }
    }

    fn error(&self, message: impl Into<String>) -> SyncMlError {
        SyncMlError::new(self.path.join("/"), Some(self.position()), message)
    }

    fn markup_error(&self, mut error: MarkupError) -> SyncMlError {
        error.position = self.outer_position(error.position);
        SyncMlError::from_markup(self.path.join("/"), error)
    }

    /// The version of what is being read: the message's `VerDTD`, else the document type the
    /// reader found (asked late, as readers may learn it from the root element).
    fn context_version(&self) -> Option<Version> {
        self.version.or_else(|| match self.reader.document_type() {
            Some(DocumentType::SyncMl(v)) | Some(DocumentType::DevInf(v)) => Some(v),
            _ => None,
        })
    }

    fn current(&self) -> &str {
        self.path
            .last()
            .map(|name| name.as_ref())
            .unwrap_or("document")
    }

    /// The next event; the end of the input is an error, as the current element is open.
    fn next(&mut self) -> Result<Event<'a>> {
        match self.reader.next_event() {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err(self.error(format!("unexpected end inside <{}>", self.current()))),
            Err(e) => Err(self.markup_error(e)),
        }
    }

    fn enter(&mut self, name: impl Into<Cow<'a, str>>) -> Result<()> {
        self.path.push(name.into());
        if self.path.len() > MAX_DEPTH {
            return Err(self.error(format!("elements nested more than {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    /// Reads the child elements of the current element up to its end. `handle` reads a child
    /// it knows (and returns true) or leaves it (false): then it is kept verbatim in
    /// `extensions`. Whitespace between elements is ignored; other text is an error.
    fn children(
        &mut self,
        extensions: &mut Extensions,
        handle: impl FnMut(&mut Self, &StartTag<'a>) -> Result<bool>,
    ) -> Result<()> {
        self.children_of_any_namespace(extensions, false, handle)
    }

    /// [`Ctx::children`], where `foreign_too` also hands elements of a foreign namespace to
    /// `handle` (for a place that must decide itself where they are kept).
    fn children_of_any_namespace(
        &mut self,
        extensions: &mut Extensions,
        foreign_too: bool,
        mut handle: impl FnMut(&mut Self, &StartTag<'a>) -> Result<bool>,
    ) -> Result<()> {
        loop {
            match self.next()? {
                Event::Start(tag) => {
                    self.enter(tag.name.clone())?;
                    let offer = foreign_too || tag.namespace != Namespace::Other;
                    let handled = offer && handle(self, &tag)?;
                    if !handled {
                        let element = self.keep_raw(tag)?;
                        extensions.push(element);
                    }
                    self.path.pop();
                }
                Event::Text(text) => {
                    if !text.trim().is_empty() {
                        return Err(self.error(format!(
                            "unexpected text {:?} in <{}>: expected elements",
                            excerpt(&text),
                            self.current()
                        )));
                    }
                }
                Event::Opaque(bytes) => {
                    if !bytes.iter().all(u8::is_ascii_whitespace) {
                        return Err(self.error(format!(
                            "unexpected opaque data ({} bytes) in <{}>: expected elements",
                            bytes.len(),
                            self.current()
                        )));
                    }
                }
                Event::End => return Ok(()),
            }
        }
    }

    /// Reads an element the model has no place for, to keep it as it is (but for the
    /// indentation between its child elements, which depends on how it was written).
    fn keep_raw(&mut self, tag: StartTag<'_>) -> Result<Element> {
        tracing::debug!(path = %self.path.join("/"), "element not in the model, kept as it is");
        match Element::read_after_start(tag, &mut *self.reader) {
            Ok(mut element) => {
                drop_indentation(&mut element);
                Ok(element)
            }
            Err(e) => Err(self.markup_error(e)),
        }
    }

    /// The text of the current element up to its end: text and opaque pieces joined, opaque
    /// bytes checked to be UTF-8. Not trimmed. Collected into a `String`, or into a
    /// `CompactString` for short scalars.
    fn text<S: Default + for<'s> Extend<&'s str>>(&mut self) -> Result<S> {
        let mut out = S::default();
        loop {
            match self.next()? {
                Event::Text(text) => out.extend([text.as_ref()]),
                Event::Opaque(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) => out.extend([text]),
                    Err(e) => return Err(self.not_utf8(&bytes, e)),
                },
                Event::Start(tag) => return Err(self.expected_text(&tag)),
                Event::End => return Ok(out),
            }
        }
    }

    #[cold]
    fn not_utf8(&self, bytes: &[u8], e: std::str::Utf8Error) -> SyncMlError {
        let at = e.valid_up_to();
        self.error(format!(
            "<{}>: opaque text is not UTF-8 (byte 0x{:02x} at offset {at})",
            self.current(),
            bytes.get(at).copied().unwrap_or(0)
        ))
    }

    #[cold]
    fn expected_text(&self, tag: &StartTag<'_>) -> SyncMlError {
        self.error(format!(
            "unexpected <{}> in <{}>: expected text",
            tag.name,
            self.current()
        ))
    }

    /// The trimmed text of the current element.
    fn scalar(&mut self) -> Result<String> {
        let text: String = self.text()?;
        let trimmed = text.trim();
        Ok(if trimmed.len() == text.len() {
            text
        } else {
            trimmed.to_string()
        })
    }

    /// The trimmed text of the current element, for short scalars (`CmdID`, `LocURI`...):
    /// up to 24 bytes it is kept inline, with no heap allocation.
    fn short(&mut self) -> Result<CompactString> {
        let text: CompactString = self.text()?;
        let trimmed = text.trim();
        Ok(if trimmed.len() == text.len() {
            text
        } else {
            CompactString::from(trimmed)
        })
    }

    fn number<T: std::str::FromStr>(&mut self) -> Result<T> {
        let text = self.short()?;
        text.parse().map_err(|_| {
            self.error(format!(
                "{}: {:?} is not a number",
                self.current(),
                excerpt(&text)
            ))
        })
    }

    /// An empty element used as a flag (`<Final/>`, `<NoResp/>`...): whatever it holds is
    /// skipped.
    fn flag(&mut self) -> Result<bool> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Event::Start(_) => depth += 1,
                Event::End if depth == 0 => return Ok(true),
                Event::End => depth -= 1,
                Event::Text(text) if !text.trim().is_empty() => {
                    tracing::debug!(path = %self.path.join("/"), "text in an empty element ignored");
                }
                _ => {}
            }
        }
    }

    /// A required child that did not come: called once the parent's end was read.
    fn required<T>(&self, value: Option<T>, name: &str) -> Result<T> {
        value.ok_or_else(|| self.error(format!("expected <{name}> in <{}>", self.current())))
    }

    // ----- message -----

    /// Reads the start tag of the root element, which must be `<name>`.
    fn expect_root(&mut self, name: &str) -> Result<()> {
        let root = match self.reader.next_event() {
            Ok(Some(Event::Start(tag))) => tag,
            Ok(Some(_)) => return Err(self.error("expected the root element's start tag")),
            Ok(None) => return Err(self.error("empty document: expected a root element")),
            Err(e) => return Err(self.markup_error(e)),
        };
        if root.name != name {
            return Err(self.error(format!(
                "expected <{name}> as the root element, found <{}>",
                root.name
            )));
        }
        Ok(())
    }

    fn read_message(&mut self) -> Result<Message> {
        self.expect_root("SyncML")?;
        self.read_message_after_root()
    }

    fn read_message_after_root(&mut self) -> Result<Message> {
        self.enter("SyncML")?;
        // A header that lacks required elements is reported after the structure of the
        // whole message is known: a missing or second SyncBody says more.
        let mut header: Option<Result<SyncHdr>> = None;
        let mut body = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "SyncHdr" if header.is_none() => header = Some(ctx.read_header()?),
                "SyncBody" if body.is_none() => body = Some(ctx.read_body()?),
                "SyncHdr" | "SyncBody" => {
                    return Err(ctx.error(format!("a second <{}> in <SyncML>", tag.name)))
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let Some(body) = body else {
            return Err(self.error(if header.is_none() {
                "expected <SyncHdr> and <SyncBody> in <SyncML>"
            } else {
                "expected <SyncBody> in <SyncML>"
            }));
        };
        let header = header.transpose()?;
        let version = self.context_version().ok_or_else(|| {
            self.error(
                "cannot tell the SyncML version: no <SyncHdr> with a <VerDTD>, and no document type",
            )
        })?;
        self.path.pop();
        self.expect_document_end("SyncML")?;
        Ok(Message {
            version,
            header,
            body,
            extensions,
        })
    }

    /// A `VerDTD`: the version of the SyncML or DevInf (`document`) DTD.
    fn ver_dtd(&mut self, document: &str) -> Result<Version> {
        let text = self.scalar()?;
        Version::parse(&text).ok_or_else(|| {
            self.error(format!(
                "VerDTD: {:?} is not a {document} version (1.0, 1.1 or 1.2)",
                excerpt(&text)
            ))
        })
    }

    fn expect_document_end(&mut self, root: &str) -> Result<()> {
        match self.reader.next_event() {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(self.error(format!("content after </{root}>"))),
            Err(e) => Err(self.markup_error(e)),
        }
    }

    /// Reads a header. The outer error is the input's (the reader cannot go on); the inner
    /// one, a required element that is missing, which the caller may report later.
    fn read_header(&mut self) -> Result<Result<SyncHdr>> {
        let (mut ver_dtd, mut ver_proto, mut session_id, mut msg_id) = (None, None, None, None);
        let (mut target, mut source, mut resp_uri) = (None, None, None);
        let (mut no_resp, mut cred, mut meta) = (false, None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "VerDTD" if ver_dtd.is_none() => ver_dtd = Some(ctx.ver_dtd("SyncML")?),
                "VerProto" if ver_proto.is_none() => ver_proto = Some(ctx.short()?),
                "SessionID" if session_id.is_none() => session_id = Some(ctx.short()?),
                "MsgID" if msg_id.is_none() => msg_id = Some(ctx.number()?),
                "Target" if target.is_none() => target = Some(ctx.read_target()?),
                "Source" if source.is_none() => source = Some(ctx.read_source()?),
                "RespURI" if resp_uri.is_none() => resp_uri = Some(ctx.short()?),
                "NoResp" if !no_resp => no_resp = ctx.flag()?,
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Meta" if meta.is_none() => meta = Some(Box::new(ctx.read_metinf()?)),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        if ver_dtd.is_some() {
            self.version = ver_dtd;
        }
        let header = || {
            Ok(SyncHdr {
                ver_proto: self.required(ver_proto, "VerProto")?,
                session_id: self.required(session_id, "SessionID")?,
                msg_id: self.required(msg_id, "MsgID")?,
                target: self.required(target, "Target")?,
                source: self.required(source, "Source")?,
                resp_uri,
                no_resp,
                cred,
                meta,
                extensions,
            })
        };
        Ok(header())
    }

    fn read_body(&mut self) -> Result<SyncBody> {
        let mut body = SyncBody::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "Final" && !body.final_ {
                body.final_ = ctx.flag()?;
                return Ok(true);
            }
            Ok(match ctx.read_command(tag)? {
                Some(command) => {
                    body.commands.push(command);
                    true
                }
                None => false,
            })
        })?;
        body.extensions = extensions;
        Ok(body)
    }
}

/// Drops whitespace-only text from elements that also hold elements: pretty-printing adds it,
/// and it means nothing there. Iterative, as kept subtrees may be deep.
fn drop_indentation(root: &mut Element) {
    let mut pending: Vec<&mut Element> = vec![root];
    while let Some(element) = pending.pop() {
        let has_elements = element
            .children
            .iter()
            .any(|n| matches!(n, Node::Element(_)));
        if has_elements {
            element
                .children
                .retain(|n| !matches!(n, Node::Text(t) if t.trim().is_empty()));
        }
        for child in &mut element.children {
            if let Node::Element(e) = child {
                pending.push(e);
            }
        }
    }
}

/// Enough of a text to recognise it in an error message.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
