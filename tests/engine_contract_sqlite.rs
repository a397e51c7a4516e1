//! The engine's store contract (`crates/engine/tests/contract`) on the SQLite store: the same
//! scenarios as the engine runs on its memory store, so both implementations of its storage
//! trait are held to one behaviour. Here the consistency checks are SQLite's integrity and
//! foreign key checks, and the history is read from `item_versions`.

mod engine_phone;
mod support;

#[path = "../crates/engine/tests/contract/mod.rs"]
mod contract;
