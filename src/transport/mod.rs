//! The wires phones and SyncML clients reach us by; each hands messages to the session hub
//! ([`crate::daemon::hub`]) and carries its answers back.
//!
//! - [`http`]: the SyncML HTTP binding (POST per message, RespURI, idle expiry).

pub mod http;
