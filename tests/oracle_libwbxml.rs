//! libwbxml's `wbxml2xml` / `xml2wbxml` (Debian libwbxml2-utils) as an independent oracle:
//! both codecs must agree with it on every corpus message, element for element.

mod support;

use handsync::markup::{DocumentType, Element, Namespace, Node, Version};
use handsync::syncml::xml;
use handsync::wbxml;
use std::path::Path;
use support::*;

/// libwbxml rewrites Meta Type `application/vnd.syncml-devinf+wbxml` to `+xml` when it writes
/// the nested DevInf inline as XML (and back when it encodes); handsync's tree codecs keep the
/// text as it was. Compare modulo that (on normalized trees, where OPAQUE text is text).
/// xml2wbxml also turns the LF line ends of CDATA payloads into CRLF (vCards want CRLF);
/// compare line ends modulo that too.
fn modulo_devinf_type(tree: Element) -> Element {
    fn crlf_to_lf(e: &mut Element) {
        for child in &mut e.children {
            match child {
                Node::Text(t) if t.contains("\r\n") => *t = t.replace("\r\n", "\n"),
                Node::Element(c) | Node::Embedded(_, c) => crlf_to_lf(c),
                _ => {}
            }
        }
    }
    let mut tree = with_devinf_type(tree, "application/vnd.syncml-devinf+xml");
    crlf_to_lf(&mut tree);
    tree
}

/// Sets every DevInf Meta Type to `wanted`. libwbxml only expands a nested DevInf whose Type
/// says `+wbxml`, as a phone's encoder writes it.
fn with_devinf_type(tree: Element, wanted: &str) -> Element {
    fn walk(e: &mut Element, wanted: &str) {
        for child in &mut e.children {
            match child {
                Node::Text(t)
                    if t.trim() == "application/vnd.syncml-devinf+wbxml"
                        || t.trim() == "application/vnd.syncml-devinf+xml" =>
                {
                    *t = wanted.to_string();
                }
                Node::Element(c) | Node::Embedded(_, c) => walk(c, wanted),
                _ => {}
            }
        }
    }
    let mut tree = tree;
    walk(&mut tree, wanted);
    tree
}

/// Where two trees first differ, as an element path and the two nodes, for failure messages.
fn first_difference(a: &Element, b: &Element, path: &str) -> Option<String> {
    let here = format!("{path}/{}", a.name);
    if a.name != b.name || a.namespace != b.namespace || a.attributes != b.attributes {
        return Some(format!(
            "{here}: <{} {:?} {:?}> vs <{} {:?} {:?}>",
            a.name, a.namespace, a.attributes, b.name, b.namespace, b.attributes
        ));
    }
    for (i, (x, y)) in a.children.iter().zip(&b.children).enumerate() {
        match (x, y) {
            (Node::Element(x), Node::Element(y)) => {
                if let Some(d) = first_difference(x, y, &here) {
                    return Some(d);
                }
            }
            (x, y) if x != y => return Some(format!("{here} child {i}: {x:?} vs {y:?}")),
            _ => {}
        }
    }
    (a.children.len() != b.children.len()).then(|| {
        format!(
            "{here}: {} children vs {}",
            a.children.len(),
            b.children.len()
        )
    })
}

fn assert_same_tree(ours: &Element, theirs: &Element, what: &str) {
    if ours != theirs {
        panic!(
            "{what}: {}",
            first_difference(ours, theirs, "").unwrap_or_default()
        );
    }
}

/// An XML tree carries DevInf inline in `<Data>`; in WBXML it is a nested document (SyncML's
/// code pages have no DevInf tokens). Mark it so, as the model's writer does.
fn embed_devinf(tree: &Element) -> Element {
    let mut tree = tree.clone();
    fn walk(e: &mut Element) {
        for child in &mut e.children {
            if let Node::Element(c) = child {
                if c.namespace == Namespace::DevInf && c.name == "DevInf" {
                    let version = c
                        .child("VerDTD")
                        .and_then(|v| Version::parse(&v.text()))
                        .unwrap_or(Version::V1_2);
                    *child = Node::Embedded(DocumentType::DevInf(version), c.clone());
                } else {
                    walk(c);
                }
            }
        }
    }
    walk(&mut tree);
    tree
}

fn libwbxml_to_tree(wbxml_file: &Path, scratch: &Path) -> Element {
    let out = scratch.join(format!(
        "{}.xml",
        wbxml_file.file_name().unwrap().to_string_lossy()
    ));
    let result = run(
        "wbxml2xml",
        &["-o", out.to_str().unwrap(), wbxml_file.to_str().unwrap()],
    );
    assert!(
        result.status.success(),
        "wbxml2xml failed on {}: {}",
        wbxml_file.display(),
        String::from_utf8_lossy(&result.stderr)
    );
    let text = std::fs::read(&out).unwrap();
    let text = xml::xml_text(&text).unwrap();
    xml::decode_tree(&text)
        .unwrap_or_else(|e| panic!("wbxml2xml's XML for {}: {e}", wbxml_file.display()))
}

#[test]
fn every_corpus_wbxml_decodes_as_libwbxml_decodes_it() {
    if !oracle_available("wbxml2xml") {
        return;
    }
    let scratch = scratch_dir("oracle-decode");
    let files = corpus_files("wbxml", ".wbxml");
    let mut compared = 0;
    for file in &files {
        let file = file.as_path();
        let bytes = std::fs::read(file).unwrap();
        let ours = modulo_devinf_type(
            wbxml::decode_tree(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
                .normalized(),
        );
        let theirs = modulo_devinf_type(libwbxml_to_tree(file, &scratch).normalized());
        assert_same_tree(
            &ours,
            &theirs,
            &format!("{} decodes differently", file.display()),
        );
        compared += 1;
    }
    assert_eq!(compared, files.len());
}

#[test]
fn libwbxml_encodings_of_corpus_xml_decode_to_the_same_tree() {
    if !oracle_available("xml2wbxml") || !oracle_available("wbxml2xml") {
        return;
    }
    let scratch = scratch_dir("oracle-encode");
    let files = corpus_files("wbxml", ".xml");
    let mut compared = 0;
    for file in &files {
        let file = file.as_path();
        let text = std::fs::read(file).unwrap();
        let text = xml::xml_text(&text).unwrap();
        let mut reader = xml::XmlReader::new(&text);
        let original = Element::read_document(&mut reader)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let doc = handsync::markup::EventReader::document_type(&reader)
            .unwrap_or(DocumentType::SyncMl(Version::V1_1));
        let name = file.file_name().unwrap().to_string_lossy().to_string();

        // Their WBXML, our decoder.
        let theirs = scratch.join(format!("{name}.theirs.wbxml"));
        let result = run(
            "xml2wbxml",
            &[
                "-v",
                "1.2",
                "-n",
                "-o",
                theirs.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
        );
        assert!(result.status.success(), "xml2wbxml failed on {name}");
        let decoded = wbxml::decode_tree(&std::fs::read(&theirs).unwrap())
            .unwrap_or_else(|e| panic!("our decoder on xml2wbxml's {name}: {e}"));
        // xml2wbxml likewise rewrites devinf+xml to +wbxml when it encodes the DevInf.
        assert_same_tree(
            &modulo_devinf_type(decoded.normalized()),
            &modulo_devinf_type(original.normalized()),
            &format!("{name}: xml2wbxml's WBXML decodes differently"),
        );

        // Our WBXML, their decoder.
        let ours = scratch.join(format!("{name}.ours.wbxml"));
        let bytes = wbxml::encode_tree(
            doc,
            &embed_devinf(&with_devinf_type(
                original.normalized(),
                "application/vnd.syncml-devinf+wbxml",
            )),
            &wbxml::WriterOptions::default(),
        )
        .unwrap_or_else(|e| panic!("encoding {name}: {e}"));
        std::fs::write(&ours, bytes).unwrap();
        let back = libwbxml_to_tree(&ours, &scratch);
        assert_same_tree(
            &modulo_devinf_type(back.normalized()),
            &modulo_devinf_type(original.normalized()),
            &format!("{name}: wbxml2xml reads our WBXML differently"),
        );
        compared += 1;
    }
    assert_eq!(compared, files.len());
}

#[test]
fn libwbxml_reads_our_reencoding_of_every_corpus_wbxml() {
    if !oracle_available("wbxml2xml") {
        return;
    }
    let scratch = scratch_dir("oracle-reencode");
    for file in corpus_files("wbxml", ".wbxml") {
        let bytes = std::fs::read(&file).unwrap();
        let reader = wbxml::Reader::new(&bytes).unwrap();
        let doc = handsync::markup::EventReader::document_type(&reader)
            .unwrap_or_else(|| panic!("{}: no document type", file.display()));
        let tree = wbxml::decode_tree(&bytes).unwrap();
        let ours = scratch.join(format!(
            "{}.ours.wbxml",
            file.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(
            &ours,
            wbxml::encode_tree(doc, &tree, &wbxml::WriterOptions::default()).unwrap(),
        )
        .unwrap();
        let theirs = modulo_devinf_type(libwbxml_to_tree(&ours, &scratch).normalized());
        assert_same_tree(
            &theirs,
            &modulo_devinf_type(tree.normalized()),
            &format!(
                "{}: re-encoded, libwbxml reads it differently",
                file.display()
            ),
        );
    }
}

/// Our own DevInf ("PC Suite", with a CTCap for every type we take), as WBXML in DevInf 1.1
/// (flat CTCap) and 1.2 (CTCap per datastore, Property/PropParam): libwbxml reads it element
/// for element as our decoder does, so the DevInf code page we write is the one phones read.
#[test]
fn libwbxml_reads_our_devinf_with_its_ctcaps() {
    if !oracle_available("wbxml2xml") {
        return;
    }
    let scratch = scratch_dir("oracle-our-devinf");
    for version in [Version::V1_1, Version::V1_2] {
        let devinf = handsync::engine::devinf::server_devinf(
            &handsync::engine::ServerConfig::default(),
            version,
        );
        let document = handsync::syncml::Document::DevInf(devinf);
        let bytes =
            handsync::syncml::document_to_wbxml(&document, &wbxml::WriterOptions::default())
                .unwrap();
        let file = scratch.join(format!("devinf-{version:?}.wbxml"));
        std::fs::write(&file, &bytes).unwrap();
        let ours = wbxml::decode_tree(&bytes).unwrap().normalized();
        let theirs = libwbxml_to_tree(&file, &scratch).normalized();
        assert_same_tree(&ours, &theirs, &format!("our DevInf {version:?}"));
        let names = |e: &Element| {
            let mut found = Vec::new();
            fn walk(e: &Element, found: &mut Vec<String>) {
                found.push(e.name.to_string());
                for child in &e.children {
                    if let Node::Element(c) | Node::Embedded(_, c) = child {
                        walk(c, found);
                    }
                }
            }
            walk(e, &mut found);
            found
        };
        let elements = names(&theirs);
        let count = |name: &str| elements.iter().filter(|n| *n == name).count();
        assert!(count("CTCap") >= 1, "{version:?}: no CTCap");
        match version {
            Version::V1_2 => assert!(count("PropParam") > 5 && count("Property") > 50),
            _ => assert!(count("ParamName") > 5 && count("PropName") > 50),
        }
    }
}
