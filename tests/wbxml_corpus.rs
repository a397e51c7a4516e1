//! The WBXML codec against the shared corpus of real phone and server messages.

use handsync::markup::{Element, Node};
use handsync::wbxml::decode_tree;
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
        eprintln!("{name}: {:#?}", tree.normalized());
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
