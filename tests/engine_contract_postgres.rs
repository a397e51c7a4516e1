//! The engine's store contract (`crates/engine/tests/contract`) on the PostgreSQL store: the
//! scenarios the engine runs on its memory store and the root package on SQLite, each on a
//! fresh database of the server `HANDSYNC_TEST_POSTGRES` names (`scripts/test-all` sets it
//! up). `Server::new` (tests/engine_phone) picks PostgreSQL in this binary by its name.

mod engine_phone;
mod support;

#[path = "../crates/engine/tests/contract/mod.rs"]
mod contract;
