//! Engine scenarios every store must pass the same way: full sessions with authentication,
//! conflicts and their history, refused items and `Atomic` savepoints, cuts and late Maps,
//! suspend and resume. The engine's tests run them on its memory store
//! (`tests/engine_contract.rs`); the root package runs them on the SQLite store.
// Model strings and optional parts are built with `.into()` (see engine_phone).
#![allow(clippy::useless_conversion)]

mod auth;
mod conflicts;
mod items;
mod recovery;
mod sessions;
mod suspend;
