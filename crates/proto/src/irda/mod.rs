//! IrDA, sans-IO: the infrared stack phones of 2000-2010 used to reach a PC, which Linux
//! dropped from its kernel in 4.17. Both roles of every layer, bottom up:
//! - [`fcs`] and [`sir`]: SIR framing (BOF, EOF, control escape, CRC-16 frame check);
//! - [`frame`] and [`qos`]: IrLAP frames, discovery information and the negotiated link
//!   parameters;
//! - [`lap`]: the IrLAP station (discovery, connection, windows, retransmission, timers);
//! - [`lmp`] and [`ias`]: IrLMP service access points and the Information Access Service;
//! - [`ttp`]: TinyTP credits, segmentation and reassembly, which OBEX runs on;
//! - [`station`]: the whole stack as one machine carrying an OBEX byte stream;
//! - [`pcap`]: frames written as a capture (LINKTYPE_LINUX_IRDA) for tshark;
//! - [`dongle`] and [`usb_dongle`]: what a serial dongle needs to change speed, and the
//!   IrDA-USB class framing of USB dongles.
//!
//! The layers pass frames and PDUs, never bytes on a wire: a dongle driver at the IO edge
//! wraps IrLAP frames for its medium (SIR for a UART, the class header for USB).

pub mod dongle;
pub mod fcs;
pub mod frame;
pub mod ias;
pub mod lap;
pub mod lmp;
pub mod pcap;
pub mod qos;
pub mod sir;
pub mod station;
pub mod ttp;
pub mod usb_dongle;

/// A station's 32-bit IrLAP device address, picked at random when the station starts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct DeviceAddress(pub u32);

impl DeviceAddress {
    /// 0xFFFFFFFF: every station (the destination of a discovery).
    pub const BROADCAST: DeviceAddress = DeviceAddress(0xFFFF_FFFF);
}

impl std::fmt::Display for DeviceAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

/// One IrLAP frame for the dongle driver to put on the air: address, control and
/// information fields only (the driver adds BOFs, FCS and EOF for its medium).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Transmit {
    pub frame: Vec<u8>,
    /// Bits per second this frame goes out at (9600 until a connection negotiates more).
    pub speed: u32,
    /// Additional BOFs before the frame, as negotiated (SIR only).
    pub extra_bofs: u16,
}

/// The speed every IrDA station starts and discovers at.
pub const CONTACT_SPEED: u32 = 9600;

/// What a dongle driver hands the stack from the air.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Received {
    /// One whole frame, its frame check good and stripped: address, control, information.
    Frame(Vec<u8>),
    /// Bytes or a damaged frame: someone is transmitting (the media-busy rule), nothing to
    /// deliver.
    Activity,
}
