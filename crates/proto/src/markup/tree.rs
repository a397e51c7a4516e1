//! A small owned element tree, for subtrees kept verbatim and for tests.

use super::{
    Attribute, DocumentType, Event, EventReader, MarkupError, Namespace, Position, Sink, StartTag,
};
use std::borrow::Cow;

/// An element with everything it contained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub namespace: Namespace,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
    Opaque(Vec<u8>),
    /// A nested document (DevInf in `<Data>`), decoded.
    Embedded(DocumentType, Element),
}

impl Element {
    pub fn new(namespace: Namespace, name: impl Into<String>) -> Element {
        Element {
            namespace,
            name: name.into(),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Builder helper: appends a child element.
    pub fn with_child(mut self, child: Element) -> Element {
        self.children.push(Node::Element(child));
        self
    }

    /// Builder helper: appends text.
    pub fn with_text(mut self, text: impl Into<String>) -> Element {
        self.children.push(Node::Text(text.into()));
        self
    }

    /// Reads a whole document: the root element and everything in it.
    pub fn read_document<'a>(reader: &mut impl EventReader<'a>) -> Result<Element, MarkupError> {
        match reader.next_event()? {
            Some(Event::Start(tag)) => {
                let root = Element::read_after_start(tag, reader)?;
                match reader.next_event()? {
                    None => Ok(root),
                    Some(_) => Err(MarkupError::new(
                        reader.position(),
                        "content after the end of the root element",
                    )),
                }
            }
            Some(_) => Err(MarkupError::new(
                reader.position(),
                "expected the root element's start tag",
            )),
            None => Err(MarkupError::new(
                reader.position(),
                "empty document: expected a root element",
            )),
        }
    }

    /// Reads the rest of an element whose start tag the caller has already taken.
    pub fn read_after_start<'a>(
        tag: StartTag<'_>,
        reader: &mut impl EventReader<'a>,
    ) -> Result<Element, MarkupError> {
        // An explicit stack, not recursion: a hostile input must not overflow ours.
        let mut stack = vec![Element::from_tag(tag)];
        loop {
            let event = reader.next_event()?.ok_or_else(|| {
                MarkupError::new(
                    reader.position(),
                    format!(
                        "input ended inside <{}>",
                        stack.last().map(|e| e.name.as_str()).unwrap_or("?")
                    ),
                )
            })?;
            let top = stack.last_mut().expect("stack is never empty here");
            match event {
                Event::Start(tag) => stack.push(Element::from_tag(tag)),
                Event::Text(text) => match top.children.last_mut() {
                    Some(Node::Text(previous)) => previous.push_str(&text),
                    _ => top.children.push(Node::Text(text.into_owned())),
                },
                Event::Opaque(bytes) => top.children.push(Node::Opaque(bytes.into_owned())),
                Event::End => {
                    let done = stack.pop().expect("stack is never empty here");
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(done)),
                        None => return Ok(done),
                    }
                }
            }
        }
    }

    /// An element with the start tag's name, namespace and attributes and no children yet.
    pub fn from_tag(tag: StartTag<'_>) -> Element {
        Element {
            namespace: tag.namespace,
            name: tag.name.into_owned(),
            attributes: tag
                .attributes
                .into_iter()
                .map(|a| (a.name.into_owned(), a.value.into_owned()))
                .collect(),
            children: Vec::new(),
        }
    }

    /// Writes this element and its subtree to a sink.
    pub fn write(&self, sink: &mut impl Sink) -> Result<(), MarkupError> {
        let attributes: Vec<Attribute<'_>> = self
            .attributes
            .iter()
            .map(|(n, v)| Attribute {
                name: Cow::Borrowed(n.as_str()),
                value: Cow::Borrowed(v.as_str()),
            })
            .collect();
        sink.start(self.namespace, &self.name, &attributes)?;
        for child in &self.children {
            match child {
                Node::Element(e) => e.write(sink)?,
                Node::Text(t) => sink.text(t)?,
                Node::Opaque(b) => sink.opaque(b)?,
                Node::Embedded(doc, root) => {
                    sink.begin_embedded(*doc)?;
                    root.write(sink)?;
                    sink.end_embedded()?;
                }
            }
        }
        sink.end()
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// All text directly inside this element (OPAQUE included when it is UTF-8), concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            match child {
                Node::Text(t) => out.push_str(t),
                Node::Opaque(b) => out.push_str(&String::from_utf8_lossy(b)),
                _ => {}
            }
        }
        out
    }

    /// A form for comparing two decodings of the same message: text trimmed, whitespace-only
    /// text dropped, OPAQUE that is UTF-8 turned into text, adjacent text merged, nested
    /// documents inlined as their root element. Attributes other than namespaces are kept.
    pub fn normalized(&self) -> Element {
        let mut children = Vec::with_capacity(self.children.len());
        let mut pending = String::new();
        let flush = |pending: &mut String, children: &mut Vec<Node>| {
            let trimmed = pending.trim();
            if !trimmed.is_empty() {
                children.push(Node::Text(trimmed.to_string()));
            }
            pending.clear();
        };
        for child in &self.children {
            match child {
                Node::Text(t) => pending.push_str(t),
                Node::Opaque(b) => match std::str::from_utf8(b) {
                    Ok(t) => pending.push_str(t),
                    Err(_) => {
                        flush(&mut pending, &mut children);
                        children.push(Node::Opaque(b.clone()));
                    }
                },
                Node::Element(e) => {
                    flush(&mut pending, &mut children);
                    children.push(Node::Element(e.normalized()));
                }
                Node::Embedded(_, root) => {
                    flush(&mut pending, &mut children);
                    children.push(Node::Element(root.normalized()));
                }
            }
        }
        flush(&mut pending, &mut children);
        Element {
            namespace: self.namespace,
            name: self.name.clone(),
            attributes: self
                .attributes
                .iter()
                .filter(|(n, _)| n != "xmlns" && !n.starts_with("xmlns:"))
                .cloned()
                .collect(),
            children,
        }
    }

    /// Replays this tree as events, so code that reads from an [`EventReader`] can be fed a
    /// tree built in a test. Nested documents are replayed inline, as XML would yield them.
    pub fn events(&self) -> TreeReader<'_> {
        TreeReader {
            stack: vec![Frame::Pending(self)],
            document_type: None,
            emitted: 0,
        }
    }
}

enum Frame<'t> {
    Pending(&'t Element),
    Open(&'t Element, usize),
}

/// The [`EventReader`] returned by [`Element::events`]. Positions count events from 0.
pub struct TreeReader<'t> {
    stack: Vec<Frame<'t>>,
    document_type: Option<DocumentType>,
    emitted: usize,
}

impl<'t> TreeReader<'t> {
    /// Sets what [`EventReader::document_type`] answers.
    pub fn with_document_type(mut self, doc: DocumentType) -> TreeReader<'t> {
        self.document_type = Some(doc);
        self
    }
}

impl<'t> EventReader<'t> for TreeReader<'t> {
    fn next_event(&mut self) -> Result<Option<Event<'t>>, MarkupError> {
        loop {
            let Some(frame) = self.stack.pop() else {
                return Ok(None);
            };
            match frame {
                Frame::Pending(e) => {
                    self.stack.push(Frame::Open(e, 0));
                    self.emitted += 1;
                    return Ok(Some(Event::Start(StartTag {
                        namespace: e.namespace,
                        name: Cow::Borrowed(e.name.as_str()),
                        attributes: e
                            .attributes
                            .iter()
                            .map(|(n, v)| Attribute {
                                name: Cow::Borrowed(n.as_str()),
                                value: Cow::Borrowed(v.as_str()),
                            })
                            .collect(),
                    })));
                }
                Frame::Open(e, index) => {
                    self.emitted += 1;
                    let Some(child) = e.children.get(index) else {
                        return Ok(Some(Event::End));
                    };
                    self.stack.push(Frame::Open(e, index + 1));
                    match child {
                        Node::Element(c) | Node::Embedded(_, c) => {
                            self.emitted -= 1;
                            self.stack.push(Frame::Pending(c));
                            continue;
                        }
                        Node::Text(t) => return Ok(Some(Event::Text(Cow::Borrowed(t)))),
                        Node::Opaque(b) => return Ok(Some(Event::Opaque(Cow::Borrowed(b)))),
                    }
                }
            }
        }
    }

    fn position(&self) -> Position {
        Position::Byte(self.emitted.saturating_sub(1))
    }

    fn document_type(&self) -> Option<DocumentType> {
        self.document_type
    }
}

/// A [`Sink`] that builds an [`Element`] tree: the model's writer can be tested, and its output
/// compared, without either encoding.
#[derive(Default)]
pub struct TreeBuilder {
    open: Vec<Element>,
    embedded: Vec<(DocumentType, usize)>,
    root: Option<Element>,
}

impl TreeBuilder {
    pub fn new() -> TreeBuilder {
        TreeBuilder::default()
    }

    /// The finished tree; an error if elements are still open or nothing was written.
    pub fn finish(self) -> Result<Element, MarkupError> {
        if !self.open.is_empty() {
            return Err(MarkupError::new(
                Position::Byte(0),
                format!("{} element(s) left open", self.open.len()),
            ));
        }
        self.root
            .ok_or_else(|| MarkupError::new(Position::Byte(0), "no root element was written"))
    }

    fn current(&mut self, what: &str) -> Result<&mut Element, MarkupError> {
        self.open.last_mut().ok_or_else(|| {
            MarkupError::new(Position::Byte(0), format!("{what} outside any element"))
        })
    }
}

impl Sink for TreeBuilder {
    fn start(
        &mut self,
        namespace: Namespace,
        name: &str,
        attributes: &[Attribute<'_>],
    ) -> Result<(), MarkupError> {
        if self.open.is_empty() && self.root.is_some() {
            return Err(MarkupError::new(Position::Byte(0), "a second root element"));
        }
        let mut e = Element::new(namespace, name);
        e.attributes = attributes
            .iter()
            .map(|a| (a.name.to_string(), a.value.to_string()))
            .collect();
        self.open.push(e);
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), MarkupError> {
        let e = self.current("text")?;
        match e.children.last_mut() {
            Some(Node::Text(previous)) => previous.push_str(text),
            _ => e.children.push(Node::Text(text.to_string())),
        }
        Ok(())
    }

    fn opaque(&mut self, bytes: &[u8]) -> Result<(), MarkupError> {
        self.current("opaque data")?
            .children
            .push(Node::Opaque(bytes.to_vec()));
        Ok(())
    }

    fn end(&mut self) -> Result<(), MarkupError> {
        let done = self
            .open
            .pop()
            .ok_or_else(|| MarkupError::new(Position::Byte(0), "end without a start"))?;
        let depth = self.open.len();
        match self.embedded.last() {
            Some(&(doc, at)) if at == depth => {
                // The root of an embedded document: attach it as such to the element holding it.
                let parent = self.current("embedded document")?;
                parent.children.push(Node::Embedded(doc, done));
            }
            _ => match self.open.last_mut() {
                Some(parent) => parent.children.push(Node::Element(done)),
                None => self.root = Some(done),
            },
        }
        Ok(())
    }

    fn begin_embedded(&mut self, doc: DocumentType) -> Result<(), MarkupError> {
        self.current("embedded document")?;
        self.embedded.push((doc, self.open.len()));
        Ok(())
    }

    fn end_embedded(&mut self) -> Result<(), MarkupError> {
        self.embedded
            .pop()
            .map(|_| ())
            .ok_or_else(|| MarkupError::new(Position::Byte(0), "end_embedded without begin"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_and_reread_give_the_same_tree() {
        let tree =
            Element::new(Namespace::SyncMl, "SyncML").with_child(
                Element::new(Namespace::SyncMl, "SyncHdr")
                    .with_child(Element::new(Namespace::SyncMl, "VerDTD").with_text("1.2"))
                    .with_child(Element::new(Namespace::SyncMl, "Meta").with_child(
                        Element::new(Namespace::MetInf, "MaxMsgSize").with_text("10000"),
                    )),
            );
        let mut reader = tree.events();
        let again = Element::read_document(&mut reader).unwrap();
        assert_eq!(tree, again);
    }

    #[test]
    fn tree_builder_rebuilds_what_it_is_given() {
        let devinf = Element::new(Namespace::DevInf, "DevInf")
            .with_child(Element::new(Namespace::DevInf, "Man").with_text("Nokia"));
        let mut data = Element::new(Namespace::SyncMl, "Data");
        data.children.push(Node::Embedded(
            DocumentType::DevInf(crate::markup::Version::V1_1),
            devinf,
        ));
        let tree = Element::new(Namespace::SyncMl, "Item").with_child(data);
        let mut builder = TreeBuilder::new();
        tree.write(&mut builder).unwrap();
        assert_eq!(builder.finish().unwrap(), tree);
    }

    #[test]
    fn normalized_trims_and_merges_text() {
        let mut e = Element::new(Namespace::SyncMl, "Data");
        e.children.push(Node::Text("  12".into()));
        e.children.push(Node::Opaque(b"3 ".to_vec()));
        let n = e.normalized();
        assert_eq!(n.children, vec![Node::Text("123".into())]);
    }

    #[test]
    fn truncated_event_stream_is_an_error() {
        struct Cut<'t>(TreeReader<'t>, usize);
        impl<'t> EventReader<'t> for Cut<'t> {
            fn next_event(&mut self) -> Result<Option<Event<'t>>, MarkupError> {
                if self.1 == 0 {
                    return Ok(None);
                }
                self.1 -= 1;
                self.0.next_event()
            }
            fn position(&self) -> Position {
                self.0.position()
            }
            fn document_type(&self) -> Option<DocumentType> {
                None
            }
        }
        let tree = Element::new(Namespace::SyncMl, "A")
            .with_child(Element::new(Namespace::SyncMl, "B").with_text("x"));
        let err = Element::read_document(&mut Cut(tree.events(), 3)).unwrap_err();
        assert!(err.message.contains("ended inside <B>"), "{err}");
    }
}
