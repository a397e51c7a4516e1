//! The USB/IP wire protocol (Linux's Documentation/usb/usbip_protocol.rst), device side: the
//! operations a `usbip` client sends before attaching (device list, import) and the URB
//! commands the kernel's vhci-hcd sends once attached. All fields are big-endian.

/// Protocol version the Linux tools speak.
pub const VERSION: u16 = 0x0111;
pub const OP_REQ_DEVLIST: u16 = 0x8005;
pub const OP_REP_DEVLIST: u16 = 0x0005;
pub const OP_REQ_IMPORT: u16 = 0x8003;
pub const OP_REP_IMPORT: u16 = 0x0003;

pub const CMD_SUBMIT: u32 = 1;
pub const CMD_UNLINK: u32 = 2;
pub const RET_SUBMIT: u32 = 3;
pub const RET_UNLINK: u32 = 4;

/// Every URB command and reply has a 48-byte header.
pub const HEADER_LEN: usize = 48;
/// The operation header (version, code, status).
pub const OP_HEADER_LEN: usize = 8;
/// The device block of the list and import replies, without interfaces.
pub const DEVICE_BLOCK_LEN: usize = 312;

/// Linux errno values the kernel expects in URB status fields.
pub const EPIPE: i32 = 32;
pub const ECONNRESET: i32 = 104;
pub const ESHUTDOWN: i32 = 108;

/// USB speeds as the kernel numbers them (enum usb_device_speed).
pub const SPEED_FULL: u32 = 2;

/// What identifies the exported device in list and import replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedDevice {
    pub path: String,
    pub busid: String,
    pub busnum: u32,
    pub devnum: u32,
    pub speed: u32,
    pub vendor_id: u16,
    pub product_id: u16,
    pub device_version: u16,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub configuration_value: u8,
    pub configurations: u8,
    /// (class, subclass, protocol) of each interface's first setting.
    pub interfaces: Vec<(u8, u8, u8)>,
}

impl ExportedDevice {
    fn write_block(&self, out: &mut Vec<u8>) {
        let mut fixed = |text: &str, len: usize| {
            let mut field = vec![0u8; len];
            let bytes = text.as_bytes();
            let n = bytes.len().min(len - 1);
            field[..n].copy_from_slice(&bytes[..n]);
            out.extend(field);
        };
        fixed(&self.path, 256);
        fixed(&self.busid, 32);
        out.extend(self.busnum.to_be_bytes());
        out.extend(self.devnum.to_be_bytes());
        out.extend(self.speed.to_be_bytes());
        out.extend(self.vendor_id.to_be_bytes());
        out.extend(self.product_id.to_be_bytes());
        out.extend(self.device_version.to_be_bytes());
        out.extend([
            self.class,
            self.subclass,
            self.protocol,
            self.configuration_value,
            self.configurations,
            self.interfaces.len() as u8,
        ]);
    }

    /// `devid` of URB headers: bus number and device number.
    pub fn devid(&self) -> u32 {
        (self.busnum << 16) | (self.devnum & 0xffff)
    }
}

fn op_header(code: u16, status: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(OP_HEADER_LEN);
    out.extend(VERSION.to_be_bytes());
    out.extend(code.to_be_bytes());
    out.extend(status.to_be_bytes());
    out
}

/// OP_REP_DEVLIST with the one device.
pub fn device_list_reply(device: &ExportedDevice) -> Vec<u8> {
    let mut out = op_header(OP_REP_DEVLIST, 0);
    out.extend(1u32.to_be_bytes());
    device.write_block(&mut out);
    for (class, subclass, protocol) in &device.interfaces {
        out.extend([*class, *subclass, *protocol, 0]);
    }
    out
}

/// OP_REP_IMPORT: the device, or status 1 (no such bus id) without it.
pub fn import_reply(device: Option<&ExportedDevice>) -> Vec<u8> {
    match device {
        Some(device) => {
            let mut out = op_header(OP_REP_IMPORT, 0);
            device.write_block(&mut out);
            out
        }
        None => op_header(OP_REP_IMPORT, 1),
    }
}

/// An operation request: its code, and the bus id an import names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpRequest {
    DeviceList,
    Import { busid: String },
}

/// Why the client's bytes are not the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    Version(u16),
    UnknownOperation(u16),
    UnknownCommand(u32),
    /// A transfer longer than the device takes (a bound on what a peer makes us hold).
    TooLong(i32),
    /// Isochronous packets: no phone function has isochronous endpoints.
    Isochronous(i32),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Version(v) => {
                write!(f, "USB/IP version {v:#06x} (this device speaks 0x0111)")
            }
            WireError::UnknownOperation(c) => write!(f, "unknown USB/IP operation {c:#06x}"),
            WireError::UnknownCommand(c) => write!(f, "unknown USB/IP command {c:#x}"),
            WireError::TooLong(n) => write!(f, "a transfer of {n} bytes (at most 65536 taken)"),
            WireError::Isochronous(n) => write!(
                f,
                "{n} isochronous packets for a device with no isochronous endpoint"
            ),
        }
    }
}

/// Parses an operation request from the front of `input`: `Ok(None)` until it is whole.
pub fn parse_op_request(input: &[u8]) -> Result<Option<(OpRequest, usize)>, WireError> {
    if input.len() < OP_HEADER_LEN {
        return Ok(None);
    }
    let version = u16::from_be_bytes([input[0], input[1]]);
    if version != VERSION {
        return Err(WireError::Version(version));
    }
    match u16::from_be_bytes([input[2], input[3]]) {
        OP_REQ_DEVLIST => Ok(Some((OpRequest::DeviceList, OP_HEADER_LEN))),
        OP_REQ_IMPORT => {
            let Some(field) = input.get(OP_HEADER_LEN..OP_HEADER_LEN + 32) else {
                return Ok(None);
            };
            let end = field.iter().position(|b| *b == 0).unwrap_or(32);
            let busid = String::from_utf8_lossy(&field[..end]).into_owned();
            Ok(Some((OpRequest::Import { busid }, OP_HEADER_LEN + 32)))
        }
        other => Err(WireError::UnknownOperation(other)),
    }
}

/// The largest transfer a URB may carry here.
pub const MAX_TRANSFER: i32 = 65_536;

/// A URB command from vhci-hcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Submit(Submit),
    Unlink { seqnum: u32, victim: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    pub seqnum: u32,
    /// true for IN (device to host).
    pub direction_in: bool,
    /// Endpoint number (0..15), without the direction bit.
    pub endpoint: u8,
    pub transfer_flags: u32,
    pub length: usize,
    pub number_of_packets: i32,
    pub setup: [u8; 8],
    /// OUT data.
    pub data: Vec<u8>,
}

fn be32(input: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([input[at], input[at + 1], input[at + 2], input[at + 3]])
}

/// Parses one URB command from the front of `input`: `Ok(None)` until it is whole.
pub fn parse_command(input: &[u8]) -> Result<Option<(Command, usize)>, WireError> {
    if input.len() < HEADER_LEN {
        return Ok(None);
    }
    let seqnum = be32(input, 4);
    match be32(input, 0) {
        CMD_SUBMIT => {
            let direction_in = be32(input, 12) == 1;
            let length = be32(input, 24) as i32;
            if !(0..=MAX_TRANSFER).contains(&length) {
                return Err(WireError::TooLong(length));
            }
            let number_of_packets = be32(input, 32) as i32;
            if number_of_packets > 0 {
                return Err(WireError::Isochronous(number_of_packets));
            }
            let length = length as usize;
            let data_len = if direction_in { 0 } else { length };
            let Some(data) = input.get(HEADER_LEN..HEADER_LEN + data_len) else {
                return Ok(None);
            };
            let mut setup = [0u8; 8];
            setup.copy_from_slice(&input[40..48]);
            Ok(Some((
                Command::Submit(Submit {
                    seqnum,
                    direction_in,
                    endpoint: (be32(input, 16) & 0x0f) as u8,
                    transfer_flags: be32(input, 20),
                    length,
                    number_of_packets,
                    setup,
                    data: data.to_vec(),
                }),
                HEADER_LEN + data_len,
            )))
        }
        CMD_UNLINK => Ok(Some((
            Command::Unlink {
                seqnum,
                victim: be32(input, 20),
            },
            HEADER_LEN,
        ))),
        other => Err(WireError::UnknownCommand(other)),
    }
}

/// RET_SUBMIT for `submit`: `status` 0 or a negative errno, IN data when there is some.
pub fn submit_reply(submit: &Submit, status: i32, actual_length: usize, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + data.len());
    out.extend(RET_SUBMIT.to_be_bytes());
    out.extend(submit.seqnum.to_be_bytes());
    out.extend([0u8; 12]); // devid, direction, ep: zero in replies
    out.extend(status.to_be_bytes());
    out.extend((actual_length as u32).to_be_bytes());
    out.extend(0u32.to_be_bytes()); // start_frame
    out.extend(submit.number_of_packets.to_be_bytes());
    out.extend(0u32.to_be_bytes()); // error_count
    out.extend([0u8; 8]);
    out.extend(data);
    out
}

/// RET_UNLINK: `status` -ECONNRESET when the URB was taken back, 0 when it had completed.
pub fn unlink_reply(seqnum: u32, status: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend(RET_UNLINK.to_be_bytes());
    out.extend(seqnum.to_be_bytes());
    out.extend([0u8; 12]);
    out.extend(status.to_be_bytes());
    out.extend([0u8; 24]);
    out
}
