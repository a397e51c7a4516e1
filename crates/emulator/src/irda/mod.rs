//! The phone's infrared side: a simulated IR link with the air's rate, half-duplex
//! turnaround, bit errors and lost frames ([`link`]); dongles that behave as their public
//! drivers and datasheets describe ([`serial_dongle`], [`usb_dongle`]); and the phone's
//! IrDA face, the same stack as the PC's in the phone's role ([`phone`]).

pub mod link;
pub mod phone;
pub mod serial_dongle;
pub mod usb_dongle;
pub mod usb_phone;
