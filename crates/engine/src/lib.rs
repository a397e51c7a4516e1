//! The SyncML DS server engine: sans-IO sessions that answer a phone's SyncML client as
//! "PC Suite" (see `docs/engine.md`).
//!
//! - [`Session`]: one sync session, fed messages, returning answers;
//! - [`SyncStore`]: what the engine needs from storage, in the engine's own words
//!   ([`storage`]); the SQLite store implements it, [`storage::MemoryStore`] too;
//! - [`credentials`]: SyncML basic and md5 credentials checked against a stored digest;
//! - [`ServerConfig`]: identity, datastore names, authentication and conflict policies;
//! - [`content`]: items between the phone's formats and the stored ones.
//!
//! # What it may depend on
//! `handsync-proto` and pure computation (md-5, base64, serde/toml, tracing). Never an IO
//! crate (tokio, hyper, rusqlite, bluer, dbus) nor `handsync-store`: storage comes in through
//! [`SyncStore`], time as a [`storage::Timestamp`] argument, so the engine runs and is tested
//! anywhere (`cargo test -p handsync-engine` needs no SQLite). `scripts/test-all` checks this
//! with `cargo tree`.

// Model strings and optional parts are built with `.into()` so the engine compiles unchanged
// whether the model holds `String` or a compact string type, `T` or `Box<T>`.
#![allow(clippy::useless_conversion)]

pub mod capabilities;
pub mod config;
pub mod content;
pub mod credentials;
pub mod devinf;
mod model;
pub mod routing;
pub mod session;
pub mod storage;

pub use config::{AuthPolicy, ConflictPolicy, ServerConfig};
pub use session::{DatastoreProgress, EngineError, Reply, Session, SessionParams, SyncMode};
pub use storage::SyncStore;
