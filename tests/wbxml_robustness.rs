//! Hostile input: truncated and corrupted corpus messages must give an error or a tree, never a
//! panic or a hang, and errors must point inside the input.

mod support;

use handsync::markup::{MarkupError, Position};
use handsync::wbxml::decode_tree;

fn corpus_files() -> Vec<(String, Vec<u8>)> {
    support::corpus_contents("wbxml", ".wbxml")
}

/// The error's offset lies within the input (an offset equal to the length means "at the end").
fn assert_points_inside(error: &MarkupError, len: usize, context: &str) {
    let offset = match error.position {
        Position::Byte(offset) => offset,
        Position::Nested { outer, inner } => outer + inner,
        Position::Text { .. } => panic!("{context}: a text position from a binary decoder"),
    };
    assert!(offset <= len, "{context}: {error} lies beyond {len} bytes");
    assert!(!error.message.is_empty(), "{context}: empty message");
}

#[test]
fn every_truncation_is_an_error() {
    for (name, bytes) in corpus_files() {
        assert!(decode_tree(&bytes).is_ok(), "{name} itself must decode");
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            match decode_tree(prefix) {
                Ok(_) => panic!("{name} cut at {cut}: decoded although truncated"),
                Err(e) => assert_points_inside(&e, cut, &format!("{name} cut at {cut}")),
            }
        }
    }
}

#[test]
fn random_byte_flips_never_panic() {
    const FLIPS_PER_FILE: usize = 10_000;
    for (name, bytes) in corpus_files() {
        let mut rng = support::XorShift(0x9E37_79B9_7F4A_7C15 ^ bytes.len() as u64);
        let mut errors = 0;
        for round in 0..FLIPS_PER_FILE {
            let mut corrupted = bytes.clone();
            // One to three bytes replaced, biased to small values, where tokens live.
            let changes = 1 + (rng.next_u64() % 3) as usize;
            for _ in 0..changes {
                let at = (rng.next_u64() % corrupted.len() as u64) as usize;
                let r = rng.next_u64();
                corrupted[at] = if r & 1 == 0 {
                    (r >> 8) as u8
                } else {
                    (r >> 8) as u8 & 0x47
                };
            }
            if let Err(e) = decode_tree(&corrupted) {
                errors += 1;
                assert_points_inside(&e, corrupted.len(), &format!("{name} round {round}"));
            }
        }
        assert!(errors > 0, "{name}: no corruption was detected at all");
    }
}
