//! The SyncML DS server engine: sans-IO sessions that answer a phone's SyncML client as
//! "PC Suite" (see `docs/engine.md`).
//!
//! - [`Session`]: one sync session, fed messages, returning answers;
//! - [`SyncStore`]: what the engine needs from storage, implemented for [`handsync_store::Tx`];
//! - [`ServerConfig`]: identity, datastore names, authentication and conflict policies;
//! - [`content`]: items between the phone's formats and the stored ones.

// Model strings and optional parts are built with `.into()` so the engine compiles unchanged
// whether the model holds `String` or a compact string type, `T` or `Box<T>`.
#![allow(clippy::useless_conversion)]

pub mod config;
pub mod content;
pub mod devinf;
mod model;
pub mod routing;
pub mod session;
pub mod storage;

pub use config::{AuthPolicy, ConflictPolicy, ServerConfig};
pub use session::{EngineError, Reply, Session, SessionParams, SyncMode};
pub use storage::SyncStore;
