//! Hostile input: every prefix truncation and 10,000 random byte flips of every corpus
//! message go through the whole decoder (encoding sniffing, XML or WBXML, nested DevInf, the
//! SyncML model). Each must give a value or an error, never a panic.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use support::*;

const FLIPS_PER_FILE: usize = 10_000;

fn decode_must_not_panic(input: &[u8], what: &dyn Fn() -> String) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _ = handsync::syncml::decode_document(input);
    }));
    if outcome.is_err() {
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        panic!("decoder panicked on {}; input hex: {hex}", what());
    }
}

fn mutate_and_decode(files: &[std::path::PathBuf], seed: u64) {
    let mut rng = XorShift(seed);
    for file in files {
        let original = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        for cut in 0..original.len() {
            decode_must_not_panic(&original[..cut], &|| format!("{name} cut at {cut}"));
        }
        let mut mutated = original.clone();
        for flip in 0..FLIPS_PER_FILE {
            mutated.copy_from_slice(&original);
            // One to four changed bytes per input: single flips find length fields, several
            // find state mix-ups.
            for _ in 0..=rng.below(4) {
                let at = rng.below(mutated.len());
                mutated[at] = match rng.below(3) {
                    0 => mutated[at] ^ (1 << rng.below(8)),
                    1 => rng.next_u64() as u8,
                    _ => [0x00, 0x01, 0x03, 0x04, 0x40, 0x80, 0xC3, 0xFF][rng.below(8)],
                };
            }
            decode_must_not_panic(&mutated, &|| format!("{name} flip #{flip}"));
        }
    }
}

#[test]
fn wbxml_corpus_survives_truncation_and_flips() {
    mutate_and_decode(&corpus_files("wbxml", ".wbxml"), 0x5EED_0001);
}

#[test]
fn xml_corpus_survives_truncation_and_flips() {
    mutate_and_decode(&corpus_files("wbxml", ".xml"), 0x5EED_0002);
}

#[test]
fn buteo_session_messages_survive_truncation_and_flips() {
    mutate_and_decode(&corpus_files("sessions/buteo", ".txt"), 0x5EED_0003);
}
