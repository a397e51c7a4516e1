//! SyncML over OBEX on infrared: the sans-IO stack of [`handsync_proto::irda`] driven over a
//! dongle, serial ([`serial`]) or USB ([`usb`]).

pub mod serial;
pub mod usb;
