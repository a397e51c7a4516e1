//! The emulated phone on USB: the descriptor layouts of the models that had a USB face, and a
//! USB/IP device server (sans-IO) that Linux's `usbip attach` turns into a real USB device,
//! enumerated by the kernel's host stack and reached through usbfs as a phone would be.

pub mod device;
pub mod layout;
pub mod usbip;

pub use device::{FunctionId, UsbEvent, UsbipDevice};
pub use layout::UsbLayout;

#[cfg(test)]
mod tests;
