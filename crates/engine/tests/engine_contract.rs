//! The engine's store contract scenarios (`contract/`), on the memory store.

mod contract;
mod engine_phone;
mod support;
