//! USB phones, sans-IO: their descriptors and the CDC OBEX and CDC ACM functions in them.
//! The transport (usbfs through nusb) and the emulator's USB/IP device both build on this.

pub mod cdc;
pub mod descriptors;

pub use cdc::{syncml_rank, AcmFunction, ObexFunction, ObexService, Unusable};
pub use descriptors::{
    string_descriptor, string_text, Configuration, DescriptorError, DeviceDescriptor, Endpoint,
    InterfaceSetting, TransferType,
};

/// USB vendor ids of the phone makers handsync knows (usb.ids).
pub const VENDOR_NOKIA: u16 = 0x0421;
pub const VENDOR_SONY_ERICSSON: u16 = 0x0fce;
pub const VENDOR_SIEMENS: u16 = 0x11f5;
pub const VENDOR_MOTOROLA: u16 = 0x22b8;

/// The maker a vendor id names, for messages and the AT switch of a CDC ACM modem.
pub fn maker(vendor_id: u16) -> Option<&'static str> {
    match vendor_id {
        VENDOR_NOKIA => Some("Nokia"),
        VENDOR_SONY_ERICSSON => Some("Sony Ericsson"),
        VENDOR_SIEMENS => Some("Siemens"),
        VENDOR_MOTOROLA => Some("Motorola"),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
