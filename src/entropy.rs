//! Randomness from the OS, at the edge: the sans-IO cores (the session table, the engine's
//! seeds) are handed the values this gives.

use std::io::Read;
use std::time::Instant;

/// 64 random bits from the OS, falling back to the standard library's per-process keys.
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok()
    {
        return u64::from_le_bytes(bytes);
    }
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(Instant::now())
}
