//! SyncML DS pieces both ends of a session need, written once: the engine (the server) and
//! the emulated phone (the client) build the same kind of messages.
//!
//! - [`SyncMode`]: the six sync types and both directions of their Alert-code mapping;
//! - [`CmdIdAllocator`]: `CmdID`s of one message, nested commands included;
//! - [`SizeBudget`]: fitting commands into the other side's MaxMsgSize without encoding the
//!   whole message after each one;
//! - [`auth`]: `syncml:auth-basic` and `syncml:auth-md5` credentials.

pub mod auth;
mod budget;
mod cmd_id;
mod mode;

pub use budget::{MessageEncoder, SizeBudget};
pub use cmd_id::{set_cmd_id, CmdIdAllocator};
pub use mode::SyncMode;
