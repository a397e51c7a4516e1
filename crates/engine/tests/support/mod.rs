//! Shared helpers of the engine's tests: where the corpus is, a repeatable random source.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

/// The shared test corpus: `$HANDSYNC_CORPUS`, else `../shared/corpus` beside the checkout.
pub fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HANDSYNC_CORPUS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

/// A small deterministic pseudo-random generator (xorshift64*), so robustness tests are
/// repeatable without a dependency.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
