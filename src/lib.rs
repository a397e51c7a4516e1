//! handsync: the PC side of SyncML DS for legacy phones. This crate is the program: the
//! transports on tokio, the `handsync serve` daemon and the `handsync` command. It may depend
//! on every crate of the workspace; nothing depends on it.
//!
//! The layers below it are crates of their own (see `docs/architecture.md`), re-exported
//! here under the names the program and its tests use:
//! - [`markup`], [`wbxml`], [`syncml`], [`pim`], [`obex`], [`cable`], [`machine`]:
//!   `handsync-proto`, the sans-IO protocol cores and the one trait their machines share;
//! - [`engine`]: `handsync-engine`, the SyncML DS server sessions (sans-IO);
//! - [`store`]: `handsync-store`, the SQLite store implementing the engine's storage trait;
//! - [`emulator`]: `handsync-emulator`, an emulated phone for tests and demonstrations.
//!
//! Here: [`transport`] and [`daemon`] (the wires and the daemon), [`cli`] (the command),
//! [`entropy`] (the OS's random values, handed to the sans-IO cores).

pub use handsync_emulator as emulator;
pub use handsync_engine as engine;
pub use handsync_proto::{cable, machine, markup, obex, pim, sdp, syncml, wbxml};
pub use handsync_store as store;

pub mod cli;
pub mod daemon;
pub mod desktop;
pub mod entropy;
pub mod transport;
