//! The WBXML codec against the shared corpus of real phone and server messages.

use handsync::markup::{DocumentType, Element, EventReader, Node};
use handsync::wbxml::{decode_tree, encode_tree, sniff_document, Charset, Reader, WriterOptions};
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("HANDSYNC_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

/// Every `wbxml/*.wbxml` in the corpus, with its bytes.
fn corpus_files() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir().join("wbxml");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus folder {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wbxml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "expected the corpus's WBXML files in {}",
        dir.display()
    );
    files
}

fn count_embedded(element: &Element) -> usize {
    element
        .children
        .iter()
        .map(|child| match child {
            Node::Element(e) => count_embedded(e),
            Node::Embedded(_, root) => 1 + count_embedded(root),
            _ => 0,
        })
        .sum()
}

#[test]
fn every_corpus_file_decodes() {
    for (name, bytes) in corpus_files() {
        let tree = decode_tree(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!tree.children.is_empty(), "{name}: empty root");
    }
}

#[test]
fn nested_devinf_is_expanded() {
    for (name, bytes) in corpus_files() {
        if name == "horde-z600_client_0.wbxml" || name == "horde-devinf.wbxml" {
            let tree = decode_tree(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                count_embedded(&tree) >= 1 || tree.name == "DevInf",
                "{name}"
            );
        }
    }
}

fn document_type(name: &str, bytes: &[u8]) -> DocumentType {
    let reader = Reader::new(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    reader
        .document_type()
        .unwrap_or_else(|| panic!("{name}: no document type"))
}

#[test]
fn encoding_a_decoded_tree_gives_the_same_tree() {
    let variants = [
        WriterOptions::default(),
        WriterOptions {
            wbxml_version: 0x03,
            public_id_as_text: true,
            charset: Charset::Utf8,
        },
        WriterOptions {
            wbxml_version: 0x01,
            public_id_as_text: false,
            charset: Charset::Latin1,
        },
    ];
    for (name, bytes) in corpus_files() {
        let doc = document_type(&name, &bytes);
        assert_eq!(sniff_document(&bytes), Some(doc), "{name}");
        let tree = decode_tree(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        for options in &variants {
            let encoded = encode_tree(doc, &tree, options)
                .unwrap_or_else(|e| panic!("{name} {options:?}: encode: {e}"));
            let again = decode_tree(&encoded)
                .unwrap_or_else(|e| panic!("{name} {options:?}: decode again: {e}"));
            assert_eq!(again.normalized(), tree.normalized(), "{name} {options:?}");
            assert_eq!(count_embedded(&again), count_embedded(&tree), "{name}");
            assert_eq!(sniff_document(&encoded), Some(doc), "{name}");
        }
    }
}

/// An element and its descendants as `name` / `name=text` lines, indented by depth: the shape
/// `wbxml2xml` shows, nested documents inline.
#[allow(dead_code)]
fn outline(element: &Element, depth: usize, out: &mut String) {
    let text = element.text();
    let text = text.trim();
    out.push_str(&"  ".repeat(depth));
    out.push_str(&element.name);
    if !text.is_empty() {
        out.push('=');
        out.push_str(text);
    }
    out.push('\n');
    for child in &element.children {
        match child {
            Node::Element(e) | Node::Embedded(_, e) => outline(e, depth + 1, out),
            _ => {}
        }
    }
}

#[test]
#[ignore = "writes outlines to $WBXML_OUTLINE_DIR for comparing with wbxml2xml by eye"]
fn dump_outlines() {
    let dir = std::env::var("WBXML_OUTLINE_DIR").unwrap_or_else(|_| "/tmp".into());
    for (name, bytes) in corpus_files() {
        let tree = decode_tree(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = String::new();
        outline(&tree, 0, &mut out);
        std::fs::write(format!("{dir}/{name}.outline"), out).unwrap();
    }
}
