//! handsync: the PC side of SyncML DS for legacy phones.
//!
//! Layers, bottom up (see `docs/architecture.md`):
//! - [`markup`]: element events and trees shared by the XML and WBXML codecs;
//! - [`wbxml`]: the WBXML codec and the SyncML, MetInf and DevInf code pages;
//! - [`syncml`]: the typed SyncML model and its XML and WBXML mappings;
//! - [`pim`]: vCard, vCalendar, iCalendar and vNote;
//! - [`engine`]: the SyncML DS server sessions (sans-IO) and [`store`], their SQLite store;
//! - [`obex`]: the OBEX codec and session machines (sans-IO);
//! - [`transport`] and [`daemon`]: the wires and the `handsync serve` daemon (tokio);
//! - [`cli`]: the `handsync` command.

pub mod cli;
pub mod daemon;
pub mod emulator;
pub mod engine;
pub mod markup;
pub mod obex;
pub mod pim;
pub mod store;
pub mod syncml;
pub mod transport;
pub mod wbxml;
