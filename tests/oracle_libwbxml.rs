//! libwbxml's `wbxml2xml` / `xml2wbxml` (Debian libwbxml2-utils) as an independent oracle:
//! both codecs must agree with it on every corpus message, element for element.

mod support;

use handsync::markup::{DocumentType, Element, Node};
use handsync::syncml::xml;
use handsync::wbxml;
use std::path::Path;
use support::*;

/// libwbxml rewrites Meta Type `application/vnd.syncml-devinf+wbxml` to `+xml` when it writes
/// the nested DevInf inline as XML; handsync keeps what the phone sent. Compare modulo that.
fn modulo_devinf_type(tree: Element) -> Element {
    fn walk(e: &mut Element) {
        for child in &mut e.children {
            match child {
                Node::Text(t) if t.trim() == "application/vnd.syncml-devinf+wbxml" => {
                    *t = "application/vnd.syncml-devinf+xml".to_string();
                }
                Node::Element(c) | Node::Embedded(_, c) => walk(c),
                _ => {}
            }
        }
    }
    let mut tree = tree;
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
    let mut compared = 0;
    for file in corpus_files("wbxml", ".wbxml") {
        let bytes = std::fs::read(&file).unwrap();
        let ours = modulo_devinf_type(
            wbxml::decode_tree(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        )
        .normalized();
        let theirs = modulo_devinf_type(libwbxml_to_tree(&file, &scratch)).normalized();
        assert_eq!(ours, theirs, "{} decodes differently", file.display());
        compared += 1;
    }
    assert!(compared >= 9, "only {compared} files compared");
}

#[test]
fn libwbxml_encodings_of_corpus_xml_decode_to_the_same_tree() {
    if !oracle_available("xml2wbxml") || !oracle_available("wbxml2xml") {
        return;
    }
    let scratch = scratch_dir("oracle-encode");
    let mut compared = 0;
    for file in corpus_files("wbxml", ".xml") {
        let text = std::fs::read(&file).unwrap();
        let text = xml::xml_text(&text).unwrap();
        let mut reader = xml::XmlReader::new(&text);
        let original = Element::read_document(&mut reader)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let doc = handsync::markup::EventReader::document_type(&reader)
            .unwrap_or(DocumentType::SyncMl(handsync::markup::Version::V1_1));
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
        assert_eq!(
            decoded.normalized(),
            original.normalized(),
            "{name}: xml2wbxml's WBXML decodes differently"
        );

        // Our WBXML, their decoder.
        let ours = scratch.join(format!("{name}.ours.wbxml"));
        let bytes = wbxml::encode_tree(doc, &original, &wbxml::WriterOptions::default())
            .unwrap_or_else(|e| panic!("encoding {name}: {e}"));
        std::fs::write(&ours, bytes).unwrap();
        let back = libwbxml_to_tree(&ours, &scratch);
        assert_eq!(
            back.normalized(),
            original.normalized(),
            "{name}: wbxml2xml reads our WBXML differently"
        );
        compared += 1;
    }
    assert!(compared >= 14, "only {compared} files compared");
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
        let theirs = modulo_devinf_type(libwbxml_to_tree(&ours, &scratch));
        assert_eq!(
            theirs.normalized(),
            modulo_devinf_type(tree).normalized(),
            "{}: re-encoded, libwbxml reads it differently",
            file.display()
        );
    }
}
