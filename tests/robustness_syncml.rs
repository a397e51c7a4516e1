//! Hostile input: every prefix truncation and 10,000 random byte flips of every corpus
//! message go through the whole decoder (encoding sniffing, XML or WBXML, nested DevInf, the
//! SyncML model). Each must give a value or an error, never a panic; every message whole
//! decodes, every truncated one is refused with a message saying why, and the flips meet
//! errors (so the errors paths are the ones exercised, not only the happy one).

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use support::*;

const FLIPS_PER_FILE: usize = 10_000;

/// Decodes without panicking; `Err` carries the decoder's message (never empty).
fn decode_must_not_panic(input: &[u8], what: &dyn Fn() -> String) -> Result<(), String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        handsync::syncml::decode_document(input)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }));
    match outcome {
        Ok(result) => {
            if let Err(message) = &result {
                assert!(!message.trim().is_empty(), "{}: an empty error", what());
            }
            result
        }
        Err(_) => {
            let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
            panic!("decoder panicked on {}; input hex: {hex}", what());
        }
    }
}

/// `fragments`: the folder also holds pieces of messages (Buteo's test files include a lone
/// SyncHdr), which are refused whole; at least one file must still be a whole message.
fn mutate_and_decode(files: &[std::path::PathBuf], seed: u64, fragments: bool) {
    assert!(
        !files.is_empty(),
        "no corpus files: nothing would be tested"
    );
    let mut rng = XorShift(seed);
    let mut refused_flips = 0;
    let mut whole_messages = 0;
    for file in files {
        let original = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let whole = match decode_must_not_panic(&original, &|| name.clone()) {
            Ok(()) => true,
            Err(e) if !fragments => panic!("{name} does not decode whole: {e}"),
            Err(_) => false,
        };
        whole_messages += usize::from(whole);
        // Up to the end of the document (trailing whitespace aside), a cut is an error.
        let end = original
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |last| last + 1);
        for cut in 0..original.len() {
            let result =
                decode_must_not_panic(&original[..cut], &|| format!("{name} cut at {cut}"));
            assert!(
                !whole || cut >= end || result.is_err(),
                "{name} cut at {cut} of {end} decoded as if whole"
            );
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
            if decode_must_not_panic(&mutated, &|| format!("{name} flip #{flip}")).is_err() {
                refused_flips += 1;
            }
        }
    }
    assert!(refused_flips > 0, "no flipped message was refused");
    assert!(whole_messages > 0, "no whole message among the files");
}

#[test]
fn wbxml_corpus_survives_truncation_and_flips() {
    mutate_and_decode(&corpus_files("wbxml", ".wbxml"), 0x5EED_0001, false);
}

#[test]
fn xml_corpus_survives_truncation_and_flips() {
    mutate_and_decode(&corpus_files("wbxml", ".xml"), 0x5EED_0002, false);
}

#[test]
fn buteo_session_messages_survive_truncation_and_flips() {
    mutate_and_decode(&corpus_files("sessions/buteo", ".txt"), 0x5EED_0003, true);
}
