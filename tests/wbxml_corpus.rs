//! The WBXML codec against the shared corpus of real phone and server messages.

mod support;

use handsync::markup::{DocumentType, Element, EventReader, Node};
use handsync::wbxml::{decode_tree, encode_tree, sniff_document, Charset, Reader, WriterOptions};

/// Every `wbxml/*.wbxml` in the corpus, with its bytes.
fn corpus_files() -> Vec<(String, Vec<u8>)> {
    let files = support::corpus_contents("wbxml", ".wbxml");
    assert!(files.len() >= 8, "expected the corpus's WBXML files");
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

/// The nested documents of a tree, in order.
fn embedded_documents(element: &Element, out: &mut Vec<(DocumentType, String)>) {
    for child in &element.children {
        match child {
            Node::Element(e) => embedded_documents(e, out),
            Node::Embedded(doc, root) => {
                out.push((*doc, root.name.clone()));
                embedded_documents(root, out);
            }
            _ => {}
        }
    }
}

#[test]
fn nested_devinf_is_expanded() {
    use handsync::markup::Version::{V1_0, V1_1};
    let expected: &[(&str, &[DocumentType])] = &[
        ("horde-z600_client_0.wbxml", &[DocumentType::DevInf(V1_0)]),
        (
            "horde-syncml_client_packet_3.wbxml",
            &[DocumentType::DevInf(V1_1)],
        ),
        (
            "horde-syncml_client_packet_5.wbxml",
            &[DocumentType::DevInf(V1_0)],
        ),
        ("horde-k500i_client_0.wbxml", &[]),
        ("buteo-basicbasetransport.wbxml", &[]),
    ];
    let files = corpus_files();
    for (name, docs) in expected {
        let (_, bytes) = files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} missing from the corpus"));
        let tree = decode_tree(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut found = Vec::new();
        embedded_documents(&tree, &mut found);
        let found_types: Vec<DocumentType> = found.iter().map(|(doc, _)| *doc).collect();
        assert_eq!(&found_types, docs, "{name}");
        assert!(found.iter().all(|(_, root)| root == "DevInf"), "{name}");
    }
    // horde-devinf.wbxml is a DevInf document itself, not nested in SyncML.
    let (_, bytes) = files
        .iter()
        .find(|(n, _)| n == "horde-devinf.wbxml")
        .expect("horde-devinf.wbxml in the corpus");
    assert_eq!(sniff_document(bytes), Some(DocumentType::DevInf(V1_0)));
    let tree = decode_tree(bytes).unwrap();
    assert_eq!(tree.name, "DevInf");
    assert_eq!(tree.namespace, handsync::markup::Namespace::DevInf);
    assert_eq!(
        tree.child("Man").map(Element::text).as_deref(),
        Some("Synthesis AG")
    );
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

#[test]
#[ignore = "timing: run with --release -- --ignored --nocapture"]
fn decoding_speed() {
    let files = corpus_files();
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let rounds = 2000;
    let started = std::time::Instant::now();
    let mut events = 0usize;
    for _ in 0..rounds {
        for (_, bytes) in &files {
            let mut reader = Reader::new(bytes).unwrap();
            while let Some(event) = reader.next_event().unwrap() {
                std::hint::black_box(&event);
                events += 1;
            }
        }
    }
    let pull = started.elapsed();
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        for (_, bytes) in &files {
            std::hint::black_box(decode_tree(bytes).unwrap());
        }
    }
    let tree = started.elapsed();
    let mb = (total * rounds) as f64 / 1e6;
    eprintln!(
        "{} files, {total} bytes, {events} events: reader {:.0} MB/s, decode_tree {:.0} MB/s",
        files.len(),
        mb / pull.as_secs_f64(),
        mb / tree.as_secs_f64()
    );
}

/// Values `wbxml2xml` shows for these files, checked by eye and pinned here.
#[test]
fn known_values_match_wbxml2xml() {
    let files = corpus_files();
    let tree_of = |name: &str| {
        let (_, bytes) = files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} missing from the corpus"));
        decode_tree(bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .normalized()
    };
    let path = |root: &Element, names: &[&str]| -> Element {
        let mut e = root.clone();
        for n in names {
            e = e.child(n).unwrap_or_else(|| panic!("no <{n}>")).clone();
        }
        e
    };

    // Sony Ericsson K500i: text public id, OPAQUE text, MetInf on page 1.
    let k500i = tree_of("horde-k500i_client_0.wbxml");
    let hdr = path(&k500i, &["SyncHdr"]);
    assert_eq!(path(&hdr, &["VerDTD"]).text(), "1.1");
    assert_eq!(path(&hdr, &["Source", "LocURI"]).text(), "354416005739727");
    assert_eq!(path(&hdr, &["Cred", "Data"]).text(), "cGVkZTpoZW1tZWxpZw==");
    let max = path(&hdr, &["Meta", "MaxMsgSize"]);
    assert_eq!(max.namespace, handsync::markup::Namespace::MetInf);
    assert_eq!(max.text(), "2700");
    let anchor = path(&k500i, &["SyncBody", "Alert", "Item", "Meta", "Anchor"]);
    assert_eq!(path(&anchor, &["Next"]).text(), "51");
    assert!(k500i.child("SyncBody").unwrap().child("Final").is_some());

    // Sony Ericsson Z600: DevInf nested in <Data>.
    let z600 = tree_of("horde-z600_client_0.wbxml");
    let devinf = path(&z600, &["SyncBody", "Put", "Item", "Data", "DevInf"]);
    assert_eq!(devinf.namespace, handsync::markup::Namespace::DevInf);
    assert_eq!(path(&devinf, &["Man"]).text(), "SonyEricsson");
    assert_eq!(path(&devinf, &["DevID"]).text(), "351932004600689");
    assert_eq!(
        path(&devinf, &["DataStore", "Rx-Pref", "CTType"]).text(),
        "text/x-vcard"
    );

    // SyncML 1.2 over WBXML 1.3 with an empty <SessionID/>.
    let buteo = tree_of("buteo-basicbasetransport.wbxml");
    assert_eq!(path(&buteo, &["SyncHdr", "VerProto"]).text(), "SyncML/1.2");
    assert!(path(&buteo, &["SyncHdr", "SessionID"]).children.is_empty());
}
