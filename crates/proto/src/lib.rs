//! handsync's protocol cores: everything that turns bytes into messages and back, without IO.
//!
//! Every type here is sans-IO: bytes and messages in, bytes, messages and events out, time
//! passed in. This crate may depend on codecs and data crates only, never on tokio, hyper,
//! rusqlite, bluer or dbus (`scripts/test-all` checks it with `cargo tree`).
//!
//! Layers, bottom up (see `docs/architecture.md`):
//! - [`markup`]: element events and trees shared by the XML and WBXML codecs;
//! - [`wbxml`]: the WBXML codec and the SyncML, MetInf and DevInf code pages;
//! - [`syncml`]: the typed SyncML model, its XML and WBXML mappings, the SAN;
//! - [`ds`]: SyncML DS pieces shared by server and client (sync modes, CmdIDs, message size,
//!   credentials);
//! - [`pim`]: vCard, vCalendar, iCalendar and vNote, and the four datastores;
//! - [`obex`]: the OBEX codec and session machines;
//! - [`cable`]: a phone's data cable: the AT switch to OBEX and Siemens BFB framing;
//! - [`sdp`]: the Bluetooth SDP client and the SyncML service records;
//! - [`usb`]: USB descriptors and the CDC OBEX and ACM functions of a phone;
//! - [`irda`]: the infrared stack (SIR, IrLAP, IrLMP, IAS, TinyTP) and dongle framing.
//!
//! Every machine that talks over a byte stream implements [`machine::Machine`].

pub mod cable;
pub mod ds;
pub mod irda;
pub mod machine;
pub mod markup;
pub mod obex;
pub mod pim;
pub mod sdp;
pub mod syncml;
pub mod usb;
pub mod wbxml;
