//! USB IrDA dongles of the IrDA-USB class ("Universal Serial Bus IrDA Bridge Device
//! Definition" 1.0: interface class 0xFE, subclass 0x02), sans-IO. The dongle does the SIR/FIR
//! framing and the frame check itself; the host exchanges bare IrLAP frames behind a one-byte
//! header on the interface's two bulk pipes:
//! - OUT: [`OutboundHeader`] (a speed and an additional-BOF change, each "no change" when 0),
//!   then the frame; a transfer of the header alone only changes the settings. The spec has
//!   the dongle apply a change after the frame it comes with; some dongles apply it before,
//!   so a driver that changes settings only in a header-only transfer works with both.
//! - IN: [`InboundHeader`] (media busy, the link's current speed), then one received frame
//!   or nothing (a status-only transfer).
//!
//! The dongle's abilities come in the class descriptor ([`ClassDescriptor`], type 0x21),
//! which [`get_class_descriptor`] requests; its bit fields have the layout of the IrLAP
//! negotiation parameters, so the stack can offer exactly what the dongle does.
//!
//! Request numbers follow the class definition as Linux's `include/linux/usb/irda.h` and
//! NetBSD's `uirda` carry it (1 receiving, 3 check media busy, 4 rate sniff, 5 unicast list,
//! 6 class descriptor).

use std::fmt;

use crate::usb::{Configuration, Endpoint, TransferType};

/// bInterfaceClass: application specific.
pub const INTERFACE_CLASS: u8 = 0xFE;
/// bInterfaceSubClass: IrDA bridge.
pub const INTERFACE_SUBCLASS: u8 = 0x02;
/// bDescriptorType of the class-specific descriptor.
pub const CLASS_DESCRIPTOR_TYPE: u8 = 0x21;
/// bLength of the class-specific descriptor (the spec's minimum since 0.9a).
pub const CLASS_DESCRIPTOR_LENGTH: usize = 12;

/// Class-specific requests (bRequest).
pub const REQUEST_RECEIVING: u8 = 0x01;
pub const REQUEST_CHECK_MEDIA_BUSY: u8 = 0x03;
pub const REQUEST_SET_RATE_SNIFF: u8 = 0x04;
pub const REQUEST_SET_UNICAST_LIST: u8 = 0x05;
pub const REQUEST_GET_CLASS_DESCRIPTOR: u8 = 0x06;

/// bmRequestType of class requests to an interface, device to host and host to device.
pub const CLASS_INTERFACE_IN: u8 = 0xA1;
pub const CLASS_INTERFACE_OUT: u8 = 0x21;

/// The largest IrLAP frame a class dongle carries (2048-byte data field, address, control):
/// bounds what the host reads and what an emulated dongle takes.
pub const MAX_FRAME: usize = 2048 + 2;

/// Speeds in the order of their bits in wBaudRate (and in IrLAP's baud-rate parameter).
pub const SPEEDS: [u32; 9] = [
    2400, 9600, 19200, 38400, 57600, 115_200, 576_000, 1_152_000, 4_000_000,
];
/// Data sizes by bit of bmDataSize.
pub const DATA_SIZES: [usize; 6] = [64, 128, 256, 512, 1024, 2048];
/// Minimum turnaround times in microseconds by bit of bmMinTurnaroundTime.
pub const MIN_TURNAROUNDS_US: [u32; 8] = [10_000, 5000, 1000, 500, 100, 50, 10, 0];
/// Additional BOFs by bit of bmAdditionalBOFs (at 115200 bps).
pub const ADDITIONAL_BOFS: [u16; 8] = [48, 24, 12, 6, 3, 2, 1, 0];

/// Why bytes are not a class descriptor; `offset` is where in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDescriptorError {
    pub offset: usize,
    pub problem: &'static str,
}

impl fmt::Display for ClassDescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IrDA-USB class descriptor at byte {}: {}",
            self.offset, self.problem
        )
    }
}

impl std::error::Error for ClassDescriptorError {}

fn broken(offset: usize, problem: &'static str) -> ClassDescriptorError {
    ClassDescriptorError { offset, problem }
}

/// The class-specific descriptor: what the dongle can do, as IrLAP parameter bit fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassDescriptor {
    /// bcdSpecRevision (0x0100 for 1.0).
    pub spec_revision: u16,
    pub data_size_bits: u8,
    pub window_size_bits: u8,
    pub min_turnaround_bits: u8,
    pub baud_rate_bits: u16,
    pub additional_bof_bits: u8,
    /// bIrdaRateSniff: the dongle can listen at every speed at once.
    pub rate_sniff: bool,
    /// bMaxUnicastList: how many addresses Set IrDA Unicast List takes (0: none).
    pub max_unicast_list: u8,
}

impl ClassDescriptor {
    /// Parses the descriptor (12 bytes; a longer bLength is allowed for later revisions, its
    /// extra bytes ignored). A dongle that offers no speed, data size, window size or
    /// turnaround cannot be negotiated with and is refused here.
    pub fn parse(bytes: &[u8]) -> Result<ClassDescriptor, ClassDescriptorError> {
        let Some(&length) = bytes.first() else {
            return Err(broken(0, "no bytes"));
        };
        if usize::from(length) < CLASS_DESCRIPTOR_LENGTH {
            return Err(broken(0, "bLength below 12"));
        }
        if bytes.len() < CLASS_DESCRIPTOR_LENGTH {
            return Err(broken(bytes.len(), "cut short before its 12th byte"));
        }
        if bytes[1] != CLASS_DESCRIPTOR_TYPE {
            return Err(broken(1, "bDescriptorType is not 0x21"));
        }
        let descriptor = ClassDescriptor {
            spec_revision: u16::from_le_bytes([bytes[2], bytes[3]]),
            data_size_bits: bytes[4],
            window_size_bits: bytes[5],
            min_turnaround_bits: bytes[6],
            baud_rate_bits: u16::from_le_bytes([bytes[7], bytes[8]]),
            additional_bof_bits: bytes[9],
            rate_sniff: bytes[10] != 0,
            max_unicast_list: bytes[11],
        };
        if descriptor.data_size_bits & 0x3f == 0 {
            return Err(broken(4, "bmDataSize offers no data size"));
        }
        if descriptor.window_size_bits & 0x7f == 0 {
            return Err(broken(5, "bmWindowSize offers no window size"));
        }
        if descriptor.min_turnaround_bits == 0 {
            return Err(broken(6, "bmMinTurnaroundTime offers no turnaround time"));
        }
        if descriptor.baud_rate_bits & 0x01ff == 0 {
            return Err(broken(7, "wBaudRate offers no speed"));
        }
        Ok(descriptor)
    }

    pub fn to_bytes(&self) -> [u8; CLASS_DESCRIPTOR_LENGTH] {
        let [revision_low, revision_high] = self.spec_revision.to_le_bytes();
        let [baud_low, baud_high] = self.baud_rate_bits.to_le_bytes();
        [
            CLASS_DESCRIPTOR_LENGTH as u8,
            CLASS_DESCRIPTOR_TYPE,
            revision_low,
            revision_high,
            self.data_size_bits,
            self.window_size_bits,
            self.min_turnaround_bits,
            baud_low,
            baud_high,
            self.additional_bof_bits,
            u8::from(self.rate_sniff),
            self.max_unicast_list,
        ]
    }

    /// What the descriptor offers, decoded.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            speeds: pick(&SPEEDS, u32::from(self.baud_rate_bits)),
            data_sizes: pick(&DATA_SIZES, u32::from(self.data_size_bits)),
            window_sizes: (1..=7u8)
                .filter(|size| self.window_size_bits & (1 << (size - 1)) != 0)
                .collect(),
            min_turnarounds_us: pick(&MIN_TURNAROUNDS_US, u32::from(self.min_turnaround_bits)),
            additional_bofs: pick(&ADDITIONAL_BOFS, u32::from(self.additional_bof_bits)),
            rate_sniff: self.rate_sniff,
            max_unicast_list: self.max_unicast_list,
            bits: *self,
        }
    }
}

fn pick<T: Copy>(values: &[T], bits: u32) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, value)| *value)
        .collect()
}

/// What a dongle supports, for the IrLAP negotiation: the stack offers only these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Bits per second, ascending.
    pub speeds: Vec<u32>,
    /// Largest data fields the dongle receives, ascending.
    pub data_sizes: Vec<usize>,
    /// Frames per window it receives, ascending.
    pub window_sizes: Vec<u8>,
    /// The turnaround times it needs, longest first (the IrLAP bit order).
    pub min_turnarounds_us: Vec<u32>,
    /// Additional BOFs it can send, most first.
    pub additional_bofs: Vec<u16>,
    pub rate_sniff: bool,
    pub max_unicast_list: u8,
    /// The descriptor's bit fields as they are (IrLAP parameter layout).
    pub bits: ClassDescriptor,
}

impl Capabilities {
    pub fn supports_speed(&self, speed: u32) -> bool {
        self.speeds.contains(&speed)
    }

    /// The shortest turnaround the dongle needs (what it must be given at least).
    pub fn min_turnaround_us(&self) -> u32 {
        self.min_turnarounds_us.last().copied().unwrap_or(10_000)
    }

    /// Caps the window to one frame, for dongles known to lose frames of larger windows
    /// (the IUC_NO_WINDOW quirk of Linux's irda-usb).
    pub fn limit_window_to_one(&mut self) {
        self.window_sizes = vec![1];
        self.bits.window_size_bits = 0x01;
    }
}

/// The 4-bit speed code of both headers; `None` for a speed the class has no code for.
pub fn speed_code(speed: u32) -> Option<u8> {
    match speed {
        2400 => Some(0x1),
        9600 => Some(0x2),
        19200 => Some(0x3),
        38400 => Some(0x4),
        57600 => Some(0x5),
        115_200 => Some(0x6),
        576_000 => Some(0x7),
        1_152_000 => Some(0x8),
        4_000_000 => Some(0x9),
        // VFIR: reserved in 1.0, used by SigmaTel's parts.
        16_000_000 => Some(0xA),
        _ => None,
    }
}

/// The speed a code names (0 and reserved codes: `None`).
pub fn speed_of_code(code: u8) -> Option<u32> {
    match code {
        0x1 => Some(2400),
        0x2 => Some(9600),
        0x3 => Some(19200),
        0x4 => Some(38400),
        0x5 => Some(57600),
        0x6 => Some(115_200),
        0x7 => Some(576_000),
        0x8 => Some(1_152_000),
        0x9 => Some(4_000_000),
        0xA => Some(16_000_000),
        _ => None,
    }
}

/// The 4-bit BOF code of the OUT header for exactly `bofs` additional BOFs.
pub fn bof_code(bofs: u16) -> Option<u8> {
    ADDITIONAL_BOFS
        .iter()
        .position(|b| *b == bofs)
        .map(|at| at as u8 + 1)
}

/// The fewest additional BOFs the class can send that are at least `bofs` (IrLAP's
/// negotiated count is a minimum; 5 is IrLAP 1.0's 6), 48 past that.
pub fn bofs_at_least(bofs: u16) -> u16 {
    ADDITIONAL_BOFS
        .iter()
        .rev()
        .copied()
        .find(|b| *b >= bofs)
        .unwrap_or(48)
}

/// Additional BOFs a BOF code names (0 and reserved codes: `None`).
pub fn bofs_of_code(code: u8) -> Option<u16> {
    match code {
        1..=8 => Some(ADDITIONAL_BOFS[usize::from(code) - 1]),
        _ => None,
    }
}

/// A setting the OUT header cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    Speed(u32),
    Bofs(u16),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Speed(speed) => {
                write!(f, "{speed} bps has no IrDA-USB speed code")
            }
            HeaderError::Bofs(bofs) => write!(
                f,
                "{bofs} additional BOFs has no IrDA-USB code (0, 1, 2, 3, 6, 12, 24 or 48)"
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

/// The header of a bulk OUT transfer: settings to change, `None` for no change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboundHeader {
    pub speed: Option<u32>,
    pub additional_bofs: Option<u16>,
}

impl OutboundHeader {
    /// Changes nothing.
    pub const UNCHANGED: OutboundHeader = OutboundHeader {
        speed: None,
        additional_bofs: None,
    };

    /// The header byte: BOF code in bits 4..7, speed code in bits 0..3.
    pub fn encode(&self) -> Result<u8, HeaderError> {
        let speed = match self.speed {
            None => 0,
            Some(speed) => speed_code(speed).ok_or(HeaderError::Speed(speed))?,
        };
        let bofs = match self.additional_bofs {
            None => 0,
            Some(bofs) => bof_code(bofs).ok_or(HeaderError::Bofs(bofs))?,
        };
        Ok(bofs << 4 | speed)
    }

    /// Reads a header byte as a dongle does; reserved codes are errors.
    pub fn decode(byte: u8) -> Result<OutboundHeader, OutboundHeaderError> {
        let speed = match byte & 0x0f {
            0 => None,
            code => Some(speed_of_code(code).ok_or(OutboundHeaderError::SpeedCode(code))?),
        };
        let additional_bofs = match byte >> 4 {
            0 => None,
            code => Some(bofs_of_code(code).ok_or(OutboundHeaderError::BofCode(code))?),
        };
        Ok(OutboundHeader {
            speed,
            additional_bofs,
        })
    }

    /// One OUT transfer: the header, then the frame (empty for a settings-only transfer).
    pub fn transfer(&self, frame: &[u8]) -> Result<Vec<u8>, HeaderError> {
        let mut out = Vec::with_capacity(1 + frame.len());
        out.push(self.encode()?);
        out.extend_from_slice(frame);
        Ok(out)
    }
}

/// A reserved code in an OUT header (byte 0 of the transfer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundHeaderError {
    SpeedCode(u8),
    BofCode(u8),
}

impl fmt::Display for OutboundHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboundHeaderError::SpeedCode(code) => {
                write!(f, "OUT header byte 0: reserved speed code {code:#x}")
            }
            OutboundHeaderError::BofCode(code) => {
                write!(f, "OUT header byte 0: reserved BOF code {code:#x}")
            }
        }
    }
}

impl std::error::Error for OutboundHeaderError {}

/// The header of a bulk IN transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundHeader {
    /// Someone is transmitting (or was, since the last report): the media-busy rule applies.
    pub media_busy: bool,
    /// The link's speed as the dongle reports it; `None` when it says nothing (code 0) or a
    /// code this definition reserves.
    pub speed: Option<u32>,
}

impl InboundHeader {
    pub const MEDIA_BUSY: u8 = 0x80;

    pub fn encode(&self) -> u8 {
        let speed = self.speed.and_then(speed_code).unwrap_or(0);
        if self.media_busy {
            Self::MEDIA_BUSY | speed
        } else {
            speed
        }
    }

    pub fn decode(byte: u8) -> InboundHeader {
        InboundHeader {
            media_busy: byte & Self::MEDIA_BUSY != 0,
            speed: speed_of_code(byte & 0x0f),
        }
    }
}

/// One bulk IN transfer, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound<'a> {
    pub header: InboundHeader,
    /// The received frame, `None` for a status-only transfer.
    pub frame: Option<&'a [u8]>,
}

/// Why a bulk IN transfer is not one the class sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    /// A zero-length transfer: no header.
    Empty,
    /// More than the largest frame behind the header (byte offset where it overruns).
    TooLong { offset: usize },
}

impl fmt::Display for InboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InboundError::Empty => f.write_str("IrDA-USB IN transfer without its header byte"),
            InboundError::TooLong { offset } => write!(
                f,
                "IrDA-USB IN transfer runs past the largest frame at byte {offset}"
            ),
        }
    }
}

impl std::error::Error for InboundError {}

/// Takes one bulk IN transfer apart.
pub fn parse_inbound(transfer: &[u8]) -> Result<Inbound<'_>, InboundError> {
    let (&header, frame) = transfer.split_first().ok_or(InboundError::Empty)?;
    if frame.len() > MAX_FRAME {
        return Err(InboundError::TooLong {
            offset: 1 + MAX_FRAME,
        });
    }
    Ok(Inbound {
        header: InboundHeader::decode(header),
        frame: (!frame.is_empty()).then_some(frame),
    })
}

/// One bulk IN transfer as a dongle sends it.
pub fn inbound_transfer(header: InboundHeader, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + frame.len());
    out.push(header.encode());
    out.extend_from_slice(frame);
    out
}

/// A USB control request's setup packet (USB 2.0 9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupPacket {
    pub request_type: u8,
    pub request: u8,
    pub value: u16,
    pub index: u16,
    pub length: u16,
}

impl SetupPacket {
    pub fn to_bytes(&self) -> [u8; 8] {
        let [value_low, value_high] = self.value.to_le_bytes();
        let [index_low, index_high] = self.index.to_le_bytes();
        let [length_low, length_high] = self.length.to_le_bytes();
        [
            self.request_type,
            self.request,
            value_low,
            value_high,
            index_low,
            index_high,
            length_low,
            length_high,
        ]
    }

    pub fn from_bytes(bytes: [u8; 8]) -> SetupPacket {
        SetupPacket {
            request_type: bytes[0],
            request: bytes[1],
            value: u16::from_le_bytes([bytes[2], bytes[3]]),
            index: u16::from_le_bytes([bytes[4], bytes[5]]),
            length: u16::from_le_bytes([bytes[6], bytes[7]]),
        }
    }

    pub fn is_in(&self) -> bool {
        self.request_type & 0x80 != 0
    }
}

/// Get Class-Specific Descriptor: 12 bytes from the IrDA interface.
pub fn get_class_descriptor(interface: u8) -> SetupPacket {
    SetupPacket {
        request_type: CLASS_INTERFACE_IN,
        request: REQUEST_GET_CLASS_DESCRIPTOR,
        value: 0,
        index: u16::from(interface),
        length: CLASS_DESCRIPTOR_LENGTH as u16,
    }
}

/// Check Media Busy: the dongle reports what it finds in the media-busy bit of its next IN
/// header (a status-only transfer when it has no frame).
pub fn check_media_busy(interface: u8) -> SetupPacket {
    SetupPacket {
        request_type: CLASS_INTERFACE_OUT,
        request: REQUEST_CHECK_MEDIA_BUSY,
        value: 0,
        index: u16::from(interface),
        length: 0,
    }
}

/// Receiving: one byte, non-zero while the dongle is taking in a frame.
pub fn receiving(interface: u8) -> SetupPacket {
    SetupPacket {
        request_type: CLASS_INTERFACE_IN,
        request: REQUEST_RECEIVING,
        value: 0,
        index: u16::from(interface),
        length: 1,
    }
}

/// Set IrDA Rate Sniff (optional, when bIrdaRateSniff says so): listen at every speed.
pub fn set_rate_sniff(interface: u8, on: bool) -> SetupPacket {
    SetupPacket {
        request_type: CLASS_INTERFACE_OUT,
        request: REQUEST_SET_RATE_SNIFF,
        value: u16::from(on),
        index: u16::from(interface),
        length: 0,
    }
}

/// Set IrDA Unicast List (optional, up to bMaxUnicastList addresses): the dongle passes on
/// only frames to these 32-bit device addresses (and broadcasts). Returns the setup packet
/// and its data stage, each address little-endian as IrLAP carries it.
pub fn set_unicast_list(interface: u8, addresses: &[u32]) -> (SetupPacket, Vec<u8>) {
    let data: Vec<u8> = addresses.iter().flat_map(|a| a.to_le_bytes()).collect();
    (
        SetupPacket {
            request_type: CLASS_INTERFACE_OUT,
            request: REQUEST_SET_UNICAST_LIST,
            value: addresses.len() as u16,
            index: u16::from(interface),
            length: data.len() as u16,
        },
        data,
    )
}

/// The IrDA interface of a device: its number, setting and bulk pipes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrdaInterface {
    pub number: u8,
    pub alternate: u8,
    pub bulk_in: Endpoint,
    pub bulk_out: Endpoint,
    /// The class descriptor when the configuration carries one after the interface (some
    /// dongles do, as the drafts had it; 1.0 has the host request it).
    pub embedded_descriptor: Option<Result<ClassDescriptor, ClassDescriptorError>>,
}

/// Why a configuration has no usable IrDA interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindError {
    NoIrdaInterface,
    /// An IrDA interface without a bulk IN and a bulk OUT endpoint.
    MissingEndpoint {
        interface: u8,
        direction: &'static str,
    },
}

impl fmt::Display for FindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindError::NoIrdaInterface => {
                f.write_str("no IrDA-USB interface (class FE, subclass 02)")
            }
            FindError::MissingEndpoint {
                interface,
                direction,
            } => write!(
                f,
                "IrDA-USB interface {interface} has no bulk {direction} endpoint"
            ),
        }
    }
}

impl std::error::Error for FindError {}

/// Finds the IrDA-USB interface of a configuration. `raw` is the configuration's descriptor
/// set, in which a class descriptor after the interface is looked for (the parsed
/// [`Configuration`] keeps only CDC functional descriptors).
pub fn find_interface(
    configuration: &Configuration,
    raw: &[u8],
) -> Result<IrdaInterface, FindError> {
    let setting = configuration
        .settings
        .iter()
        .find(|s| s.class == INTERFACE_CLASS && s.subclass == INTERFACE_SUBCLASS)
        .ok_or(FindError::NoIrdaInterface)?;
    let bulk = |want_in: bool| {
        setting
            .endpoints
            .iter()
            .find(|e| e.transfer == TransferType::Bulk && e.is_in() == want_in)
            .copied()
    };
    let missing = |direction| FindError::MissingEndpoint {
        interface: setting.number,
        direction,
    };
    Ok(IrdaInterface {
        number: setting.number,
        alternate: setting.alternate,
        bulk_in: bulk(true).ok_or_else(|| missing("IN"))?,
        bulk_out: bulk(false).ok_or_else(|| missing("OUT"))?,
        embedded_descriptor: embedded_descriptor(raw, setting.number, setting.alternate),
    })
}

/// The first type-0x21 descriptor after interface `number`'s setting `alternate` and before
/// the next interface, in a configuration's descriptor set; `None` when there is none or the
/// set is cut (Configuration::parse reports that).
fn embedded_descriptor(
    raw: &[u8],
    number: u8,
    alternate: u8,
) -> Option<Result<ClassDescriptor, ClassDescriptorError>> {
    let mut at = usize::from(*raw.first()?);
    let mut inside = false;
    while at + 2 <= raw.len() {
        let length = usize::from(raw[at]);
        if length < 2 || at + length > raw.len() {
            return None;
        }
        match raw[at + 1] {
            crate::usb::descriptors::INTERFACE if length >= 4 => {
                inside = raw[at + 2] == number && raw[at + 3] == alternate;
            }
            CLASS_DESCRIPTOR_TYPE if inside => {
                return Some(ClassDescriptor::parse(&raw[at..at + length]).map_err(|e| {
                    ClassDescriptorError {
                        offset: at + e.offset,
                        ..e
                    }
                }));
            }
            _ => {}
        }
        at += length;
    }
    None
}

#[cfg(test)]
mod tests;
