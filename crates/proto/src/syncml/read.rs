//! The reader: markup events to the model.
//!
//! One recursive-descent reader over [`EventReader`] events serves XML and WBXML. Each
//! `read_*` method is called after the start tag of its element was taken, reads up to and
//! including the matching end, and keeps the element path for error messages. Nesting is
//! bounded by [`MAX_DEPTH`]; subtrees kept verbatim are read by the iterative
//! [`Element::read_after_start`].

use super::devinf::{
    ContentType, CtCap, DataStore, DevInf, DsMem, Ext, FilterCap, PropParam, Property, SyncCap,
};
use super::error::SyncMlError;
use super::metinf::{Anchor, Mem, MetInf, METINF_NAMES};
use super::model::{
    Alert, Chal, Command, Container, Cred, Data, Delete, Exec, Extensions, Filter, GetPut, Item,
    ItemCommand, Map, MapItem, Message, Results, Search, Source, Status, Sync, SyncBody, SyncHdr,
    Target,
};
use super::status::{AlertCode, StatusCode};
use super::write::markup_of_data_parts;
use crate::markup::{
    DocumentType, Element, Event, EventReader, MarkupError, Namespace, Node, Position, StartTag,
    Version,
};
use compact_str::CompactString;
use std::borrow::Cow;
use std::marker::PhantomData;

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

/// Which part of a flat (1.0/1.1) `CTCap` the following `ValEnum`, `DataType`, `Size` and
/// `DisplayName` describe.
enum CapSlot<'c> {
    Property(&'c mut Property),
    Param(&'c mut PropParam),
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
    /// bytes checked to be UTF-8. Not trimmed.
    fn text(&mut self) -> Result<String> {
        let mut out = String::new();
        loop {
            match self.next()? {
                Event::Text(text) => out.push_str(&text),
                Event::Opaque(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) => out.push_str(text),
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
        let text = self.text()?;
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
        let mut out = CompactString::const_new("");
        loop {
            match self.next()? {
                Event::Text(text) => out.push_str(&text),
                Event::Opaque(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) => out.push_str(text),
                    Err(e) => return Err(self.not_utf8(&bytes, e)),
                },
                Event::Start(tag) => return Err(self.expected_text(&tag)),
                Event::End => break,
            }
        }
        let trimmed = out.trim();
        Ok(if trimmed.len() == out.len() {
            out
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

    /// The start tag of the root element.
    fn root_tag(&mut self) -> Result<StartTag<'a>> {
        match self.reader.next_event() {
            Ok(Some(Event::Start(tag))) => Ok(tag),
            Ok(Some(_)) => Err(self.error("expected the root element's start tag")),
            Ok(None) => Err(self.error("empty document: expected a root element")),
            Err(e) => Err(self.markup_error(e)),
        }
    }

    fn read_message(&mut self) -> Result<Message> {
        let root = self.root_tag()?;
        if root.name != "SyncML" {
            return Err(self.error(format!(
                "expected <SyncML> as the root element, found <{}>",
                root.name
            )));
        }
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
                "VerDTD" if ver_dtd.is_none() => {
                    let text = ctx.scalar()?;
                    let version = Version::parse(&text).ok_or_else(|| {
                        ctx.error(format!(
                            "VerDTD: {:?} is not a SyncML version (1.0, 1.1 or 1.2)",
                            excerpt(&text)
                        ))
                    })?;
                    ver_dtd = Some(version);
                }
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

    // ----- common elements -----

    fn read_target(&mut self) -> Result<Target> {
        let (mut loc_uri, mut loc_name, mut filter) = (None, None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "LocURI" if loc_uri.is_none() => loc_uri = Some(ctx.short()?),
                "LocName" if loc_name.is_none() => loc_name = Some(ctx.short()?),
                "Filter" if filter.is_none() => filter = Some(Box::new(ctx.read_filter()?)),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Target {
            loc_uri: self.required(loc_uri, "LocURI")?,
            loc_name,
            filter,
            extensions,
        })
    }

    fn read_source(&mut self) -> Result<Source> {
        let (mut loc_uri, mut loc_name) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "LocURI" if loc_uri.is_none() => loc_uri = Some(ctx.short()?),
                "LocName" if loc_name.is_none() => loc_name = Some(ctx.short()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Source {
            loc_uri: self.required(loc_uri, "LocURI")?,
            loc_name,
            extensions,
        })
    }

    fn read_filter(&mut self) -> Result<Filter> {
        let (mut meta, mut field, mut record, mut filter_type) = (None, None, None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Meta" if meta.is_none() => meta = Some(ctx.read_metinf()?),
                "Field" if field.is_none() => field = Some(ctx.read_single_item()?),
                "Record" if record.is_none() => record = Some(ctx.read_single_item()?),
                "FilterType" if filter_type.is_none() => filter_type = Some(ctx.short()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Filter {
            meta: self.required(meta, "Meta")?,
            field,
            record,
            filter_type,
            extensions,
        })
    }

    /// `Field (Item)` and `Record (Item)`. Anything besides the one item is an error, as
    /// these wrappers have no place to keep it.
    fn read_single_item(&mut self) -> Result<Item> {
        let mut item = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "Item" && item.is_none() {
                item = Some(ctx.read_item()?);
                return Ok(true);
            }
            Ok(false)
        })?;
        if let Some(extra) = extensions.first() {
            return Err(self.error(format!(
                "unexpected <{}> in <{}>: expected one <Item>",
                extra.name,
                self.current()
            )));
        }
        self.required(item, "Item")
    }

    fn read_cred(&mut self) -> Result<Box<Cred>> {
        let (mut meta, mut data) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Meta" if meta.is_none() => meta = Some(Box::new(ctx.read_metinf()?)),
                "Data" if data.is_none() => data = Some(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Box::new(Cred {
            meta,
            data: self.required(data, "Data")?,
            extensions,
        }))
    }

    fn read_chal(&mut self) -> Result<Box<Chal>> {
        let mut meta = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "Meta" && meta.is_none() {
                meta = Some(ctx.read_metinf()?);
                return Ok(true);
            }
            Ok(false)
        })?;
        Ok(Box::new(Chal {
            meta: self.required(meta, "Meta")?,
            extensions,
        }))
    }

    fn read_item(&mut self) -> Result<Item> {
        let mut item = Item::default();
        let mut extensions = Extensions::new();
        // Unknown children of SourceParent/TargetParent, which only keep their LocURI.
        let mut from_parents = Vec::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Target" if item.target.is_none() => item.target = Some(ctx.read_target()?),
                "Source" if item.source.is_none() => item.source = Some(ctx.read_source()?),
                "SourceParent" if item.source_parent.is_none() => {
                    item.source_parent = Some(ctx.read_parent(tag, &mut from_parents)?);
                }
                "TargetParent" if item.target_parent.is_none() => {
                    item.target_parent = Some(ctx.read_parent(tag, &mut from_parents)?);
                }
                "Meta" if item.meta.is_none() => item.meta = Some(Box::new(ctx.read_metinf()?)),
                "Data" if item.data.is_none() => item.data = Some(ctx.read_data()?),
                "MoreData" if !item.more_data => item.more_data = ctx.flag()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        extensions.extend(from_parents);
        item.extensions = extensions;
        Ok(item)
    }

    /// `SourceParent (LocURI)` or `TargetParent (LocURI)`: the URI. Anything else a phone put
    /// there (a `LocName`, vendor elements) goes to `leftovers`, to be kept by the item.
    fn read_parent(
        &mut self,
        tag: &StartTag<'_>,
        leftovers: &mut Vec<Element>,
    ) -> Result<CompactString> {
        let parent = self.read_source()?;
        if let Some(name) = parent.loc_name {
            leftovers.push(Element::new(tag.namespace, "LocName").with_text(name));
        }
        leftovers.extend(parent.extensions);
        Ok(parent.loc_uri)
    }

    /// An item's `<Data>`: text kept exactly, bytes, a DevInf (inline, or a WBXML document in
    /// OPAQUE), MetInf elements, or anything else as markup.
    fn read_data(&mut self) -> Result<Data> {
        let mut parts: Vec<DataPart> = Vec::new();
        loop {
            match self.next()? {
                Event::Text(text) => match parts.last_mut() {
                    Some(DataPart::Text(previous)) => previous.push_str(&text),
                    _ => parts.push(DataPart::Text(text.into_owned())),
                },
                Event::Opaque(bytes) => {
                    if let Some(devinf) = self.read_nested_devinf(&bytes)? {
                        parts.push(DataPart::DevInf(devinf));
                    } else {
                        match parts.last_mut() {
                            Some(DataPart::Opaque(previous)) => previous.extend_from_slice(&bytes),
                            _ => parts.push(DataPart::Opaque(bytes.into_owned())),
                        }
                    }
                }
                Event::Start(tag) => {
                    self.enter(tag.name.clone())?;
                    let known = tag.namespace != Namespace::Other;
                    let part = if known && tag.name == "DevInf" {
                        DataPart::DevInf(self.read_devinf_body()?)
                    } else if known && METINF_NAMES.contains(&tag.name.as_ref()) {
                        let mut metinf = MetInf::default();
                        // A fresh MetInf takes any MetInf element.
                        self.read_metinf_field(&tag, &mut metinf)?;
                        DataPart::MetInf(metinf)
                    } else {
                        DataPart::Element(self.keep_raw(tag)?)
                    };
                    self.path.pop();
                    parts.push(part);
                }
                Event::End => break,
            }
        }
        self.assemble_data(parts)
    }

    fn assemble_data(&self, parts: Vec<DataPart>) -> Result<Data> {
        let is_markup = |p: &DataPart| {
            matches!(
                p,
                DataPart::DevInf(_) | DataPart::MetInf(_) | DataPart::Element(_)
            )
        };
        if !parts.iter().any(is_markup) {
            if !parts.iter().any(|p| matches!(p, DataPart::Opaque(_))) {
                let mut text = String::new();
                for part in parts {
                    if let DataPart::Text(t) = part {
                        text.push_str(&t);
                    }
                }
                return Ok(Data::Text(text));
            }
            let mut bytes = Vec::new();
            for part in &parts {
                match part {
                    DataPart::Text(t) => bytes.extend_from_slice(t.as_bytes()),
                    DataPart::Opaque(b) => bytes.extend_from_slice(b),
                    _ => {}
                }
            }
            return Ok(match String::from_utf8(bytes) {
                Ok(text) => Data::Text(text),
                Err(e) => Data::Binary(e.into_bytes()),
            });
        }
        let only_blank_text = parts.iter().all(|p| match p {
            DataPart::Text(t) => t.trim().is_empty(),
            DataPart::Opaque(_) => false,
            _ => true,
        });
        if only_blank_text {
            let mut markup = parts.into_iter().filter(|p| is_markup(p));
            let first = markup.next();
            match first {
                Some(DataPart::DevInf(devinf)) => {
                    let rest: Vec<DataPart> = markup.collect();
                    if rest.is_empty() {
                        return Ok(Data::DevInf(Box::new(devinf)));
                    }
                    let mut all = vec![DataPart::DevInf(devinf)];
                    all.extend(rest);
                    return self.data_as_markup(all);
                }
                Some(DataPart::MetInf(mut metinf)) => {
                    let mut rest = Vec::new();
                    for part in markup {
                        match part {
                            DataPart::MetInf(more) if rest.is_empty() => {
                                if let Some(unmerged) = merge_metinf(&mut metinf, more) {
                                    rest.push(DataPart::MetInf(unmerged));
                                }
                            }
                            other => rest.push(other),
                        }
                    }
                    if rest.is_empty() {
                        return Ok(Data::MetInf(Box::new(metinf)));
                    }
                    let mut all = vec![DataPart::MetInf(metinf)];
                    all.extend(rest);
                    return self.data_as_markup(all);
                }
                Some(other) => {
                    let mut all = vec![other];
                    all.extend(markup);
                    return self.data_as_markup(all);
                }
                None => return Ok(Data::Text(String::new())),
            }
        }
        self.data_as_markup(parts)
    }

    fn data_as_markup(&self, parts: Vec<DataPart>) -> Result<Data> {
        let version = self.context_version().unwrap_or(Version::V1_2);
        markup_of_data_parts(parts, version)
            .map(Data::Markup)
            .map_err(|e| SyncMlError::new(self.path.join("/"), Some(self.position()), e.message))
    }

    /// The one byte-level case: in WBXML a DevInf inside `<Data>` is a whole WBXML document in
    /// OPAQUE. Returns `None` when the bytes are not one.
    fn read_nested_devinf(&mut self, bytes: &[u8]) -> Result<Option<DevInf>> {
        let Some(DocumentType::DevInf(version)) = crate::wbxml::sniff_document(bytes) else {
            return Ok(None);
        };
        // The event position is the OPAQUE token; the document follows its length.
        let outer = match self.reader.position() {
            Position::Byte(at) => at + 1 + multi_byte_length(bytes.len()),
            Position::Nested { outer, inner } => outer + inner,
            Position::Text { offset, .. } => offset,
        };
        let mut nested_reader = match crate::wbxml::Reader::new(bytes) {
            Ok(reader) => reader,
            Err(mut e) => {
                if let Position::Byte(inner) = e.position {
                    e.position = Position::Nested { outer, inner };
                }
                return Err(SyncMlError::from_markup(self.path.join("/"), e));
            }
        };
        let mut nested = Ctx::new(&mut nested_reader);
        nested.path = self
            .path
            .iter()
            .map(|name| Cow::Owned(name.to_string()))
            .collect();
        nested.version = Some(version);
        nested.nested_at = Some(outer);
        nested.read_devinf_document().map(Some)
    }

    // ----- MetInf -----

    fn read_metinf(&mut self) -> Result<MetInf> {
        let mut metinf = MetInf::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            ctx.read_metinf_field(tag, &mut metinf)
        })?;
        metinf.extensions = extensions;
        Ok(metinf)
    }

    fn read_metinf_field(&mut self, tag: &StartTag<'_>, m: &mut MetInf) -> Result<bool> {
        match tag.name.as_ref() {
            "Format" if m.format.is_none() => m.format = Some(self.short()?),
            "Type" if m.type_.is_none() => m.type_ = Some(self.short()?),
            "Mark" if m.mark.is_none() => m.mark = Some(self.short()?),
            "Size" if m.size.is_none() => m.size = Some(self.number()?),
            "Anchor" if m.anchor.is_none() => m.anchor = Some(self.read_anchor()?),
            "Version" if m.version.is_none() => m.version = Some(self.short()?),
            "NextNonce" if m.next_nonce.is_none() => m.next_nonce = Some(self.short()?),
            "MaxMsgSize" if m.max_msg_size.is_none() => m.max_msg_size = Some(self.number()?),
            "MaxObjSize" if m.max_obj_size.is_none() => m.max_obj_size = Some(self.number()?),
            "EMI" => m.emi.push(self.short()?),
            "Mem" if m.mem.is_none() => m.mem = Some(self.read_mem()?),
            "FieldLevel" if !m.field_level => m.field_level = self.flag()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn read_anchor(&mut self) -> Result<Anchor> {
        let (mut last, mut next) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Last" if last.is_none() => last = Some(ctx.short()?),
                "Next" if next.is_none() => next = Some(ctx.short()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Anchor {
            last,
            next: self.required(next, "Next")?,
            extensions,
        })
    }

    fn read_mem(&mut self) -> Result<Mem> {
        let mut mem = Mem::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "SharedMem" if !mem.shared_mem => mem.shared_mem = ctx.flag()?,
                "FreeMem" if mem.free_mem.is_none() => mem.free_mem = Some(ctx.number()?),
                "FreeID" if mem.free_id.is_none() => mem.free_id = Some(ctx.number()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        mem.extensions = extensions;
        Ok(mem)
    }

    // ----- commands -----

    /// Reads a command if `tag` names one; `None` leaves the element to the caller.
    fn read_command(&mut self, tag: &StartTag<'_>) -> Result<Option<Command>> {
        if self.command_depth >= MAX_COMMAND_NESTING && is_command(&tag.name) {
            return Err(self.error(format!(
                "commands nested more than {MAX_COMMAND_NESTING} deep"
            )));
        }
        self.command_depth += 1;
        let command = self.read_command_body(tag);
        self.command_depth -= 1;
        command
    }

    fn read_command_body(&mut self, tag: &StartTag<'_>) -> Result<Option<Command>> {
        Ok(Some(match tag.name.as_ref() {
            "Add" => Command::Add(self.read_item_command()?),
            "Copy" => Command::Copy(self.read_item_command()?),
            "Move" => Command::Move(self.read_item_command()?),
            "Replace" => Command::Replace(self.read_item_command()?),
            "Delete" => Command::Delete(self.read_delete()?),
            "Get" => Command::Get(self.read_get_put()?),
            "Put" => Command::Put(self.read_get_put()?),
            "Alert" => Command::Alert(self.read_alert()?),
            "Atomic" => Command::Atomic(self.read_container()?),
            "Sequence" => Command::Sequence(self.read_container()?),
            "Exec" => Command::Exec(Box::new(self.read_exec()?)),
            "Map" => Command::Map(Box::new(self.read_map()?)),
            "Results" => Command::Results(Box::new(self.read_results()?)),
            "Search" => Command::Search(Box::new(self.read_search()?)),
            "Status" => Command::Status(self.read_status()?),
            "Sync" => Command::Sync(Box::new(self.read_sync()?)),
            _ => return Ok(None),
        }))
    }

    fn read_item_command(&mut self) -> Result<ItemCommand> {
        let mut c = ItemCommand::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_delete(&mut self) -> Result<Delete> {
        let mut c = Delete::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Archive" if !c.archive => c.archive = ctx.flag()?,
                "SftDel" if !c.sft_del => c.sft_del = ctx.flag()?,
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_get_put(&mut self) -> Result<GetPut> {
        let mut c = GetPut::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Lang" if c.lang.is_none() => c.lang = Some(ctx.short()?),
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_alert(&mut self) -> Result<Alert> {
        let mut c = Alert::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Data" if c.data.is_none() => c.data = Some(AlertCode::from_code(ctx.number()?)),
                "Correlator" if c.correlator.is_none() => c.correlator = Some(ctx.short()?),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_container(&mut self) -> Result<Container> {
        let mut c = Container::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                _ => match ctx.read_command(tag)? {
                    Some(command) => c.commands.push(command),
                    None => return Ok(false),
                },
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_exec(&mut self) -> Result<Exec> {
        let (mut cmd_id, mut no_resp, mut cred, mut meta) = (None, false, None, None);
        let (mut correlator, mut item) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "NoResp" if !no_resp => no_resp = ctx.flag()?,
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Meta" if meta.is_none() => meta = Some(Box::new(ctx.read_metinf()?)),
                "Correlator" if correlator.is_none() => correlator = Some(ctx.short()?),
                "Item" if item.is_none() => item = Some(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Exec {
            cmd_id,
            no_resp,
            cred,
            meta,
            correlator,
            item: self.required(item, "Item")?,
            extensions,
        })
    }

    fn read_map(&mut self) -> Result<Map> {
        let (mut cmd_id, mut target, mut source, mut cred, mut meta) =
            (None, None, None, None, None);
        let mut map_items = Vec::new();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "Target" if target.is_none() => target = Some(ctx.read_target()?),
                "Source" if source.is_none() => source = Some(ctx.read_source()?),
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Meta" if meta.is_none() => meta = Some(Box::new(ctx.read_metinf()?)),
                "MapItem" => map_items.push(ctx.read_map_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Map {
            cmd_id,
            target: self.required(target, "Target")?,
            source: self.required(source, "Source")?,
            cred,
            meta,
            map_items,
            extensions,
        })
    }

    fn read_map_item(&mut self) -> Result<MapItem> {
        let (mut target, mut source) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "Target" if target.is_none() => target = Some(ctx.read_target()?),
                "Source" if source.is_none() => source = Some(ctx.read_source()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(MapItem {
            target: self.required(target, "Target")?,
            source: self.required(source, "Source")?,
            extensions,
        })
    }

    fn read_results(&mut self) -> Result<Results> {
        let mut c = Results::default();
        let mut cmd_ref = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "MsgRef" if c.msg_ref.is_none() => c.msg_ref = Some(ctx.number()?),
                "CmdRef" if cmd_ref.is_none() => cmd_ref = Some(ctx.short()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "TargetRef" => c.target_refs.push(ctx.short()?),
                "SourceRef" => c.source_refs.push(ctx.short()?),
                "Item" => c.items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.cmd_ref = cmd_ref;
        c.extensions = extensions;
        Ok(c)
    }

    fn read_search(&mut self) -> Result<Search> {
        let (mut cmd_id, mut no_resp, mut no_results, mut cred) = (None, false, false, None);
        let (mut target, mut sources, mut lang, mut meta, mut data) =
            (None, Vec::new(), None, None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "NoResp" if !no_resp => no_resp = ctx.flag()?,
                "NoResults" if !no_results => no_results = ctx.flag()?,
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Target" if target.is_none() => target = Some(ctx.read_target()?),
                "Source" => sources.push(ctx.read_source()?),
                "Lang" if lang.is_none() => lang = Some(ctx.short()?),
                "Meta" if meta.is_none() => meta = Some(ctx.read_metinf()?),
                "Data" if data.is_none() => data = Some(ctx.read_data()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Search {
            cmd_id,
            no_resp,
            no_results,
            cred,
            target,
            sources,
            lang,
            meta: self.required(meta, "Meta")?,
            data: self.required(data, "Data")?,
            extensions,
        })
    }

    fn read_status(&mut self) -> Result<Status> {
        let (mut cmd_id, mut msg_ref, mut cmd_ref, mut cmd) = (None, None, None, None);
        let (mut target_refs, mut source_refs) = (Vec::new(), Vec::new());
        let (mut cred, mut chal, mut data, mut items) = (None, None, None, Vec::new());
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if cmd_id.is_none() => cmd_id = Some(ctx.short()?),
                "MsgRef" if msg_ref.is_none() => msg_ref = Some(ctx.number()?),
                "CmdRef" if cmd_ref.is_none() => cmd_ref = Some(ctx.short()?),
                "Cmd" if cmd.is_none() => cmd = Some(ctx.short()?),
                "TargetRef" => target_refs.push(ctx.short()?),
                "SourceRef" => source_refs.push(ctx.short()?),
                "Cred" if cred.is_none() => cred = Some(ctx.read_cred()?),
                "Chal" if chal.is_none() => chal = Some(ctx.read_chal()?),
                "Data" if data.is_none() => data = Some(StatusCode::from_code(ctx.number()?)),
                "Item" => items.push(ctx.read_item()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Status {
            cmd_id,
            msg_ref: self.required(msg_ref, "MsgRef")?,
            cmd_ref: self.required(cmd_ref, "CmdRef")?,
            cmd: self.required(cmd, "Cmd")?,
            target_refs,
            source_refs,
            cred,
            chal,
            data: self.required(data, "Data")?,
            items,
            extensions,
        })
    }

    fn read_sync(&mut self) -> Result<Sync> {
        let mut c = Sync::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CmdID" if c.cmd_id.is_none() => c.cmd_id = Some(ctx.short()?),
                "NoResp" if !c.no_resp => c.no_resp = ctx.flag()?,
                "Cred" if c.cred.is_none() => c.cred = Some(ctx.read_cred()?),
                "Target" if c.target.is_none() => c.target = Some(ctx.read_target()?),
                "Source" if c.source.is_none() => c.source = Some(ctx.read_source()?),
                "Meta" if c.meta.is_none() => c.meta = Some(Box::new(ctx.read_metinf()?)),
                "NumberOfChanges" if c.number_of_changes.is_none() => {
                    c.number_of_changes = Some(ctx.number()?)
                }
                _ => match ctx.read_command(tag)? {
                    Some(command) => c.commands.push(command),
                    None => return Ok(false),
                },
            }
            Ok(true)
        })?;
        c.extensions = extensions;
        Ok(c)
    }

    // ----- DevInf -----

    fn read_devinf_document(&mut self) -> Result<DevInf> {
        let root = self.root_tag()?;
        if root.name != "DevInf" {
            return Err(self.error(format!(
                "expected <DevInf> as the root element, found <{}>",
                root.name
            )));
        }
        self.read_devinf_after_root()
    }

    fn read_devinf_after_root(&mut self) -> Result<DevInf> {
        self.enter("DevInf")?;
        let devinf = self.read_devinf_body()?;
        self.path.pop();
        self.expect_document_end("DevInf")?;
        Ok(devinf)
    }

    fn read_devinf_body(&mut self) -> Result<DevInf> {
        let mut ver_dtd = None;
        let mut d = DevInf::new(Version::V1_2);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "VerDTD" if ver_dtd.is_none() => {
                    let text = ctx.scalar()?;
                    ver_dtd = Some(Version::parse(&text).ok_or_else(|| {
                        ctx.error(format!(
                            "VerDTD: {:?} is not a DevInf version (1.0, 1.1 or 1.2)",
                            excerpt(&text)
                        ))
                    })?);
                }
                "Man" if d.man.is_none() => d.man = Some(ctx.scalar()?),
                "Mod" if d.model.is_none() => d.model = Some(ctx.scalar()?),
                "OEM" if d.oem.is_none() => d.oem = Some(ctx.scalar()?),
                "FwV" if d.fw_v.is_none() => d.fw_v = Some(ctx.scalar()?),
                "SwV" if d.sw_v.is_none() => d.sw_v = Some(ctx.scalar()?),
                "HwV" if d.hw_v.is_none() => d.hw_v = Some(ctx.scalar()?),
                "DevID" if d.dev_id.is_none() => d.dev_id = Some(ctx.scalar()?),
                "DevTyp" if d.dev_typ.is_none() => d.dev_typ = Some(ctx.scalar()?),
                "UTC" if !d.utc => d.utc = ctx.flag()?,
                "SupportLargeObjs" if !d.support_large_objs => d.support_large_objs = ctx.flag()?,
                "SupportNumberOfChanges" if !d.support_number_of_changes => {
                    d.support_number_of_changes = ctx.flag()?
                }
                "DataStore" => d.data_stores.push(ctx.read_data_store()?),
                "CTCap" => {
                    let caps = ctx.read_ct_cap()?;
                    d.ct_caps.extend(caps);
                }
                "Ext" => d.exts.push(ctx.read_ext()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        d.ver_dtd = match ver_dtd.or_else(|| self.context_version()) {
            Some(version) => version,
            None => return Err(self.error("cannot tell the DevInf version: no <VerDTD>")),
        };
        d.extensions = extensions;
        Ok(d)
    }

    fn read_data_store(&mut self) -> Result<DataStore> {
        let mut s = DataStore::default();
        let mut source_ref = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "SourceRef" if source_ref.is_none() => source_ref = Some(ctx.scalar()?),
                "DisplayName" if s.display_name.is_none() => s.display_name = Some(ctx.scalar()?),
                "MaxGUIDSize" if s.max_guid_size.is_none() => s.max_guid_size = Some(ctx.number()?),
                "Rx-Pref" => s.rx_pref.push(ctx.read_content_type()?),
                "Rx" => s.rx.push(ctx.read_content_type()?),
                "Tx-Pref" => s.tx_pref.push(ctx.read_content_type()?),
                "Tx" => s.tx.push(ctx.read_content_type()?),
                "CTCap" => {
                    let caps = ctx.read_ct_cap()?;
                    s.ct_caps.extend(caps);
                }
                "DSMem" if s.ds_mem.is_none() => s.ds_mem = Some(ctx.read_ds_mem()?),
                "SupportHierarchicalSync" if !s.support_hierarchical_sync => {
                    s.support_hierarchical_sync = ctx.flag()?
                }
                "SyncCap" if s.sync_cap.is_none() => s.sync_cap = Some(ctx.read_sync_cap()?),
                "Filter-Rx" => s.filter_rx.push(ctx.read_content_type()?),
                "FilterCap" => s.filter_caps.push(ctx.read_filter_cap()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.source_ref = self.required(source_ref, "SourceRef")?;
        s.extensions = extensions;
        Ok(s)
    }

    fn read_content_type(&mut self) -> Result<ContentType> {
        let (mut ct_type, mut ver_ct) = (None, None);
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CTType" if ct_type.is_none() => ct_type = Some(ctx.scalar()?),
                "VerCT" if ver_ct.is_none() => ver_ct = Some(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(ContentType {
            ct_type: self.required(ct_type, "CTType")?,
            ver_ct,
            extensions,
        })
    }

    fn read_ds_mem(&mut self) -> Result<DsMem> {
        let mut mem = DsMem::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "SharedMem" if !mem.shared_mem => mem.shared_mem = ctx.flag()?,
                "MaxMem" if mem.max_mem.is_none() => mem.max_mem = Some(ctx.number()?),
                "MaxID" if mem.max_id.is_none() => mem.max_id = Some(ctx.number()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        mem.extensions = extensions;
        Ok(mem)
    }

    fn read_sync_cap(&mut self) -> Result<SyncCap> {
        let mut cap = SyncCap::default();
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            if tag.name == "SyncType" {
                cap.sync_types.push(ctx.number()?);
                return Ok(true);
            }
            Ok(false)
        })?;
        cap.extensions = extensions;
        Ok(cap)
    }

    fn read_filter_cap(&mut self) -> Result<FilterCap> {
        let mut cap = FilterCap::default();
        let mut ct_type = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "CTType" if ct_type.is_none() => ct_type = Some(ctx.scalar()?),
                "VerCT" if cap.ver_ct.is_none() => cap.ver_ct = Some(ctx.scalar()?),
                "FilterKeyword" => cap.filter_keywords.push(ctx.scalar()?),
                "PropName" => cap.prop_names.push(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        cap.ct_type = self.required(ct_type, "CTType")?;
        cap.extensions = extensions;
        Ok(cap)
    }

    fn read_ext(&mut self) -> Result<Ext> {
        let mut ext = Ext::default();
        let mut xnam = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "XNam" if xnam.is_none() => xnam = Some(ctx.scalar()?),
                "XVal" => ext.xvals.push(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        ext.xnam = self.required(xnam, "XNam")?;
        ext.extensions = extensions;
        Ok(ext)
    }

    /// One `CTCap` element, in either layout: 1.2 (`CTType`, `VerCT`, `Property`...) holds one
    /// content type; 1.0/1.1 holds a flat sequence where each `CTType` starts a content type,
    /// each `PropName` a property, each `ParamName` a parameter of the last property, and
    /// `ValEnum`, `DataType`, `Size` and `DisplayName` describe the last of these.
    fn read_ct_cap(&mut self) -> Result<Vec<CtCap>> {
        let mut caps: Vec<CtCap> = Vec::new();
        let mut in_param = false;
        // The last capability was opened by an element before any CTType: the next CTType
        // names it instead of opening another.
        let mut typeless_open = false;
        // Stray elements before any CTType: kept with the first capability.
        let mut leading = Extensions::new();
        self.children_of_any_namespace(&mut leading, true, |ctx, tag| {
            let name = if tag.namespace == Namespace::Other {
                ""
            } else {
                tag.name.as_ref()
            };
            if name == "CTType" {
                let ct_type = ctx.scalar()?;
                in_param = false;
                match caps.last_mut() {
                    Some(cap) if typeless_open => cap.ct_type = ct_type,
                    _ => caps.push(CtCap {
                        ct_type,
                        ..CtCap::default()
                    }),
                }
                typeless_open = false;
                return Ok(true);
            }
            // A capability element before any CTType opens a capability without a type.
            if caps.is_empty() && !name.is_empty() {
                caps.push(CtCap::default());
                typeless_open = true;
            }
            // Vendor elements stay with the capability they follow.
            let Some(cap) = caps.last_mut() else {
                return Ok(false);
            };
            match name {
                "VerCT" if cap.ver_ct.is_none() => cap.ver_ct = Some(ctx.scalar()?),
                "FieldLevel" if !cap.field_level => cap.field_level = ctx.flag()?,
                "Property" => {
                    cap.properties.push(ctx.read_property()?);
                    in_param = false;
                }
                "PropName" => {
                    cap.properties.push(Property {
                        name: ctx.scalar()?,
                        ..Property::default()
                    });
                    in_param = false;
                }
                "ParamName" => {
                    let param = PropParam {
                        name: ctx.scalar()?,
                        ..PropParam::default()
                    };
                    match cap.properties.last_mut() {
                        Some(property) => {
                            property.params.push(param);
                            in_param = true;
                        }
                        None => cap.extensions.push(text_element(tag, param.name)),
                    }
                }
                "ValEnum" | "DataType" | "Size" | "MaxSize" | "MaxOccur" | "NoTruncate"
                | "DisplayName" => {
                    let slot = match cap.properties.last_mut() {
                        Some(property) if in_param && !property.params.is_empty() => {
                            property.params.last_mut().map(CapSlot::Param)
                        }
                        Some(property) => Some(CapSlot::Property(property)),
                        None => None,
                    };
                    let kept = match slot {
                        Some(slot) => ctx.read_cap_detail(tag, slot)?,
                        None => false,
                    };
                    if !kept {
                        let element = ctx.keep_raw(tag.clone())?;
                        cap.extensions.push(element);
                    }
                }
                _ => {
                    let element = ctx.keep_raw(tag.clone())?;
                    cap.extensions.push(element);
                }
            }
            Ok(true)
        })?;
        if let Some(first) = caps.first_mut() {
            first.extensions.prepend(leading);
        } else if !leading.is_empty() {
            caps.push(CtCap {
                extensions: leading,
                ..CtCap::default()
            });
        }
        Ok(caps)
    }

    /// A `ValEnum`, `DataType`, `Size`/`MaxSize`, `MaxOccur`, `NoTruncate` or `DisplayName` of
    /// the flat layout. Returns false, without reading, when the slot has no room for it.
    fn read_cap_detail(&mut self, tag: &StartTag<'_>, slot: CapSlot<'_>) -> Result<bool> {
        match slot {
            CapSlot::Property(p) => match tag.name.as_ref() {
                "ValEnum" => p.val_enums.push(self.scalar()?),
                "DataType" if p.data_type.is_none() => p.data_type = Some(self.scalar()?),
                "Size" | "MaxSize" if p.max_size.is_none() => p.max_size = Some(self.number()?),
                "MaxOccur" if p.max_occur.is_none() => p.max_occur = Some(self.number()?),
                "NoTruncate" if !p.no_truncate => p.no_truncate = self.flag()?,
                "DisplayName" if p.display_name.is_none() => p.display_name = Some(self.scalar()?),
                _ => return Ok(false),
            },
            CapSlot::Param(p) => match tag.name.as_ref() {
                "ValEnum" => p.val_enums.push(self.scalar()?),
                "DataType" if p.data_type.is_none() => p.data_type = Some(self.scalar()?),
                "Size" | "MaxSize" if p.max_size.is_none() => p.max_size = Some(self.number()?),
                "DisplayName" if p.display_name.is_none() => p.display_name = Some(self.scalar()?),
                _ => return Ok(false),
            },
        }
        Ok(true)
    }

    /// A 1.2 `Property`.
    fn read_property(&mut self) -> Result<Property> {
        let mut p = Property::default();
        let mut name = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "PropName" if name.is_none() => name = Some(ctx.scalar()?),
                "DataType" if p.data_type.is_none() => p.data_type = Some(ctx.scalar()?),
                "MaxOccur" if p.max_occur.is_none() => p.max_occur = Some(ctx.number()?),
                "MaxSize" | "Size" if p.max_size.is_none() => p.max_size = Some(ctx.number()?),
                "NoTruncate" if !p.no_truncate => p.no_truncate = ctx.flag()?,
                "ValEnum" => p.val_enums.push(ctx.scalar()?),
                "DisplayName" if p.display_name.is_none() => p.display_name = Some(ctx.scalar()?),
                "PropParam" => p.params.push(ctx.read_prop_param()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        p.name = self.required(name, "PropName")?;
        p.extensions = extensions;
        Ok(p)
    }

    /// A 1.2 `PropParam`.
    fn read_prop_param(&mut self) -> Result<PropParam> {
        let mut p = PropParam::default();
        let mut name = None;
        let mut extensions = Extensions::new();
        self.children(&mut extensions, |ctx, tag| {
            match tag.name.as_ref() {
                "ParamName" if name.is_none() => name = Some(ctx.scalar()?),
                "DataType" if p.data_type.is_none() => p.data_type = Some(ctx.scalar()?),
                "MaxSize" | "Size" if p.max_size.is_none() => p.max_size = Some(ctx.number()?),
                "ValEnum" => p.val_enums.push(ctx.scalar()?),
                "DisplayName" if p.display_name.is_none() => p.display_name = Some(ctx.scalar()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        p.name = self.required(name, "ParamName")?;
        p.extensions = extensions;
        Ok(p)
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

fn is_command(name: &str) -> bool {
    matches!(
        name,
        "Add"
            | "Copy"
            | "Move"
            | "Replace"
            | "Delete"
            | "Get"
            | "Put"
            | "Alert"
            | "Atomic"
            | "Sequence"
            | "Exec"
            | "Map"
            | "Results"
            | "Search"
            | "Status"
            | "Sync"
    )
}

/// Merges the fields of `more` into `into`; returns what did not fit (a field set in both).
fn merge_metinf(into: &mut MetInf, more: MetInf) -> Option<MetInf> {
    fn take<T>(slot: &mut Option<T>, value: &mut Option<T>) -> bool {
        match (slot.is_some(), value.is_some()) {
            (false, true) => {
                *slot = value.take();
                true
            }
            (_, false) => true,
            (true, true) => false,
        }
    }
    let mut more = more;
    let fits = take(&mut into.format, &mut more.format)
        & take(&mut into.type_, &mut more.type_)
        & take(&mut into.mark, &mut more.mark)
        & take(&mut into.size, &mut more.size)
        & take(&mut into.anchor, &mut more.anchor)
        & take(&mut into.version, &mut more.version)
        & take(&mut into.next_nonce, &mut more.next_nonce)
        & take(&mut into.max_msg_size, &mut more.max_msg_size)
        & take(&mut into.max_obj_size, &mut more.max_obj_size)
        & take(&mut into.mem, &mut more.mem)
        & !(into.field_level && more.field_level);
    into.field_level |= std::mem::take(&mut more.field_level);
    into.emi.append(&mut more.emi);
    into.extensions.append(&mut more.extensions);
    if fits {
        None
    } else {
        Some(more)
    }
}

/// An element of text rebuilt from a tag whose text was read already.
fn text_element(tag: &StartTag<'_>, text: String) -> Element {
    Element::new(tag.namespace, tag.name.as_ref()).with_text(text)
}

/// Enough of a text to recognise it in an error message.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// How many bytes WBXML's mb_u_int32 takes for a length.
fn multi_byte_length(mut value: usize) -> usize {
    let mut bytes = 1;
    while value >= 0x80 {
        value >>= 7;
        bytes += 1;
    }
    bytes
}
