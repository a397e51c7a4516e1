//! The wires phones and SyncML clients reach us by; each hands messages to the session hub
//! ([`crate::daemon::hub`]) and carries its answers back.
//!
//! - [`http`]: the SyncML HTTP binding (POST per message, RespURI, idle expiry);
//! - [`obex`]: SyncML over OBEX on any byte stream, both roles;
//! - [`tcp`]: OBEX over TCP (the phone emulator, IrDA/Bluetooth bridges, tests);
//! - [`emulated`]: the phone emulator on these wires (`handsync emulate`);
//! - [`serial`]: OBEX on a serial or USB-serial cable (AT switch, Siemens BFB framing).

pub mod emulated;
pub mod http;
pub mod obex;
pub mod serial;
pub mod tcp;
