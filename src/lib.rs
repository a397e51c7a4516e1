//! handsync: the PC side of SyncML DS for legacy phones.
//!
//! Layers, bottom up (see `docs/architecture.md`):
//! - [`markup`]: element events and trees shared by the XML and WBXML codecs;
//! - [`wbxml`]: the WBXML codec and the SyncML, MetInf and DevInf code pages;
//! - [`syncml`]: the typed SyncML model and its XML and WBXML mappings;
//! - [`pim`]: vCard, vCalendar, iCalendar and vNote;
//! - [`emulator`]: an emulated phone (SyncML DS client) for tests and demonstrations;
//! - [`cli`]: the `handsync` command.

pub mod cli;
pub mod emulator;
pub mod engine;
pub mod markup;
pub mod obex;
pub mod pim;
pub mod store;
pub mod syncml;
pub mod wbxml;
