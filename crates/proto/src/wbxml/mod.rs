//! WBXML (WAP Binary XML 1.1/1.2/1.3) codec with the SyncML, MetInf and DevInf code pages.
//!
//! - [`Reader`] is a pull reader ([`EventReader`]) over one document; [`Writer`] is a [`Sink`](crate::markup::Sink)
//!   that encodes one.
//! - [`decode_tree`] / [`encode_tree`] work on whole [`Element`] trees and expand / build the
//!   DevInf documents phones nest in `<Data>` as OPAQUE.
//! - [`tokens`] holds the code pages, version by version.
//!
//! Choices where the specifications leave room:
//! - WBXML 1.0 (version byte 0x00) has no charset field; such documents are read as UTF-8.
//! - A LITERAL tag takes the namespace named by its `xmlns` attribute; without one, the
//!   namespace of the current code page when that page knows the name (an encoder whose table
//!   lacked the tag), else [`Namespace::Other`](crate::markup::Namespace::Other). A LITERAL tag with a foreign `xmlns` is
//!   `Other` and keeps the attribute.
//! - EXT_I / EXT_T tokens are read as the text they carry; EXT_0..2 are skipped; processing
//!   instructions are skipped. None has a meaning in SyncML.
//! - A tag token that the document version's table lacks but a later version of the same page
//!   defines is read with the later name (logged at debug): Nokia sends SourceParent in 1.1.
//! - A public id that names no SyncML DTD is tolerated: the root tag (SyncML 0x2D or DevInf
//!   0x0A on page 0) decides, with the 1.2 tables.
//! - A string-table string without its NUL ends at the table's end (Horde writes them so).
//! - Text that contains U+0000, which an inline string cannot carry, is written as OPAQUE
//!   (its UTF-8 bytes); readers of the tree see it again as text after `normalized()`. The
//!   reader rejects ENTITY U+0000 for the same reason.
//! - The writer never writes an `xmlns` naming a SyncML namespace when the code page implies
//!   it. It does write one on a LITERAL element of a known namespace that the document has no
//!   page for, or whose page does not know the name (a DevInf element inline in a SyncML
//!   document), so that the namespace survives the round trip.
//! - OPAQUE is never reinterpreted by [`Reader`]; only [`decode_tree`] looks inside it for
//!   nested documents (header sniffing, at most [`MAX_EMBEDDING_DEPTH`] levels).

mod header;
mod reader;
pub mod tokens;
mod writer;

pub use header::{Charset, Header, PublicId};
pub use reader::{Reader, MAX_DEPTH};
pub use writer::{Writer, WriterOptions};

use crate::markup::{DocumentType, Element, Event, EventReader, MarkupError, Node, Position};

/// How deep WBXML documents may nest inside each other's OPAQUE (DevInf in SyncML is 1).
pub const MAX_EMBEDDING_DEPTH: usize = 4;

/// Whether `bytes` start with a WBXML header naming a SyncML, DevInf or MetInf document, and
/// which. Reads the header only; used to spot DevInf nested in OPAQUE.
pub fn sniff_document(bytes: &[u8]) -> Option<DocumentType> {
    let header = Header::parse(bytes).ok()?;
    // A header with no body after it is not a document, whatever it names.
    if header.body_start >= bytes.len() {
        return None;
    }
    header.document_type()
}

/// Decodes a whole document. OPAQUE content that is itself a WBXML SyncML/DevInf/MetInf
/// document becomes [`Node::Embedded`]; errors inside it are reported as [`Position::Nested`].
pub fn decode_tree(bytes: &[u8]) -> Result<Element, MarkupError> {
    decode_tree_at_depth(bytes, 0)
}

fn decode_tree_at_depth(bytes: &[u8], depth: usize) -> Result<Element, MarkupError> {
    let mut reader = Reader::new(bytes)?;
    let root_tag = match reader.next_event()? {
        Some(Event::Start(tag)) => tag,
        _ => {
            return Err(MarkupError::new(
                reader.position(),
                "expected the root element's start tag",
            ))
        }
    };
    // An explicit stack, not recursion: hostile input must not overflow ours.
    let mut stack = vec![Element::from_tag(root_tag)];
    loop {
        let Some(event) = reader.next_event()? else {
            return Err(MarkupError::new(
                reader.position(),
                "input ended before the root element's END",
            ));
        };
        let Some(top) = stack.last_mut() else {
            return Err(MarkupError::new(reader.position(), "event after the root"));
        };
        match event {
            Event::Start(tag) => stack.push(Element::from_tag(tag)),
            Event::Text(text) => match top.children.last_mut() {
                Some(Node::Text(previous)) => previous.push_str(&text),
                _ => top.children.push(Node::Text(text.into_owned())),
            },
            Event::Opaque(data) => {
                let nested = if depth < MAX_EMBEDDING_DEPTH {
                    sniff_document(&data)
                } else {
                    None
                };
                match nested {
                    Some(doc) => {
                        let outer = reader.opaque_start();
                        let root = decode_tree_at_depth(&data, depth + 1)
                            .map_err(|e| nested_error(e, outer))?;
                        top.children.push(Node::Embedded(doc, root));
                    }
                    None => top.children.push(Node::Opaque(data.into_owned())),
                }
            }
            Event::End => {
                let Some(done) = stack.pop() else {
                    return Err(MarkupError::new(
                        reader.position(),
                        "END without an element",
                    ));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None => {
                        return match reader.next_event()? {
                            None => Ok(done),
                            Some(_) => Err(MarkupError::new(
                                reader.position(),
                                "content after the end of the root element",
                            )),
                        }
                    }
                }
            }
        }
    }
}

/// Re-anchors an error from a document nested at `outer` in the enclosing input.
fn nested_error(error: MarkupError, outer: usize) -> MarkupError {
    let position = match error.position {
        Position::Byte(inner) => Position::Nested { outer, inner },
        Position::Nested {
            outer: deeper,
            inner,
        } => Position::Nested {
            outer: outer + deeper,
            inner,
        },
        text @ Position::Text { .. } => text,
    };
    MarkupError {
        position,
        message: format!("in the nested WBXML document: {}", error.message),
    }
}

/// Encodes a whole tree as a document of type `doc`; [`Node::Embedded`] children become nested
/// WBXML documents carried as OPAQUE.
pub fn encode_tree(
    doc: DocumentType,
    root: &Element,
    options: &WriterOptions,
) -> Result<Vec<u8>, MarkupError> {
    let mut writer = Writer::new(doc, options.clone());
    root.write(&mut writer)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::{Namespace, Version};

    /// `<Data>` holding `nested` as OPAQUE, in a SyncML 1.1 document.
    fn data_holding(nested: &[u8]) -> Vec<u8> {
        let mut out = vec![0x02, 0x9F, 0x53, 0x6A, 0x00, 0x4F, 0xC3, nested.len() as u8];
        out.extend_from_slice(nested);
        out.push(0x01);
        out
    }

    const DEVINF: [u8; 11] = [
        0x02, 0x9F, 0x54, 0x6A, 0x00, 0x4A, 0x51, 0x03, b'N', 0x00, 0x01,
    ];

    #[test]
    fn sniffing_reads_only_the_header() {
        assert_eq!(
            sniff_document(&DEVINF),
            Some(DocumentType::DevInf(Version::V1_1))
        );
        assert_eq!(sniff_document(&DEVINF[..5]), None); // header alone
        assert_eq!(sniff_document(b"BEGIN:VCARD"), None);
        assert_eq!(sniff_document(&[0x02, 0x04, 0x6A, 0x00, 0x45]), None); // WML 1.1
        assert_eq!(sniff_document(&[]), None);
    }

    #[test]
    fn nested_devinf_becomes_embedded() {
        let mut devinf = DEVINF.to_vec();
        devinf.push(0x01);
        let tree = decode_tree(&data_holding(&devinf)).unwrap();
        match &tree.children[..] {
            [Node::Embedded(DocumentType::DevInf(Version::V1_1), root)] => {
                assert_eq!(root.namespace, Namespace::DevInf);
                assert_eq!(root.child("Man").map(Element::text), Some("N".into()));
            }
            other => panic!("expected an embedded DevInf, got {other:?}"),
        }
    }

    #[test]
    fn errors_inside_a_nested_document_say_so() {
        // The nested DevInf lacks its last END: it ends inside <DevInf>.
        let bytes = data_holding(&DEVINF);
        let e = decode_tree(&bytes).unwrap_err();
        assert_eq!(
            e.position,
            Position::Nested {
                outer: 8,
                inner: 11
            }
        );
        assert!(e.message.contains("input ended inside <DevInf>"), "{e}");
    }

    #[test]
    fn opaque_that_is_no_document_stays_opaque() {
        let tree = decode_tree(&data_holding(&[0xFF, 0x00, 0x01])).unwrap();
        assert_eq!(tree.children, vec![Node::Opaque(vec![0xFF, 0x00, 0x01])]);
    }

    #[test]
    fn embedding_depth_is_bounded() {
        // SyncML documents nested in each other's <Data> deeper than the bound stay OPAQUE.
        let mut document = {
            let mut d = DEVINF.to_vec();
            d.push(0x01);
            d
        };
        for _ in 0..MAX_EMBEDDING_DEPTH + 2 {
            let mut outer = vec![0x02, 0x9F, 0x53, 0x6A, 0x00, 0x4F, 0xC3];
            writer::push_mb_u_int32(&mut outer, document.len() as u32);
            outer.extend_from_slice(&document);
            outer.push(0x01);
            document = outer;
        }
        let mut element = decode_tree(&document).unwrap();
        let mut depth = 0;
        while let Some(Node::Embedded(_, inner)) = element.children.first() {
            element = inner.clone();
            depth += 1;
        }
        assert_eq!(depth, MAX_EMBEDDING_DEPTH);
        assert!(matches!(element.children.first(), Some(Node::Opaque(_))));
    }
}
