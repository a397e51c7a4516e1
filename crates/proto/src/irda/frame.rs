//! IrLAP frames (IrLAP 1.1 section 5): address byte, control field and information field,
//! and the discovery XID information of IrLMP. The FCS is the medium's business ([`super::sir`]).

use super::qos::{Capabilities, QosError};
use super::DeviceAddress;

/// The connection address every station answers to: discovery and connection requests.
pub const BROADCAST_CONNECTION: u8 = 0x7F;

/// Most discovery information bytes (hints, charset, nickname) a frame may carry.
pub const MAX_DISCOVERY_INFO: usize = 32;

/// The XID format identifier of discovery frames.
pub const XID_FORMAT_DISCOVERY: u8 = 0x01;

/// The slot number of the XID command that ends a discovery.
pub const FINAL_SLOT: u8 = 0xFF;

/// Service hint bits (IrLMP 1.1 section 3.4.1): the low byte is the first hint byte, the
/// high byte the second, each without its extension bit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Hints(pub u16);

impl Hints {
    pub const PNP: Hints = Hints(0x0001);
    pub const PDA: Hints = Hints(0x0002);
    pub const COMPUTER: Hints = Hints(0x0004);
    pub const PRINTER: Hints = Hints(0x0008);
    pub const MODEM: Hints = Hints(0x0010);
    pub const FAX: Hints = Hints(0x0020);
    pub const LAN: Hints = Hints(0x0040);
    pub const TELEPHONY: Hints = Hints(0x0100);
    pub const FILE_SERVER: Hints = Hints(0x0200);
    pub const IRCOMM: Hints = Hints(0x0400);
    pub const MESSAGE: Hints = Hints(0x0800);
    pub const HTTP: Hints = Hints(0x1000);
    pub const OBEX: Hints = Hints(0x2000);

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: Hints) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Hints {
    type Output = Hints;
    fn bitor(self, other: Hints) -> Hints {
        Hints(self.0 | other.0)
    }
}

/// The extension bit of a hint byte: another hint byte follows.
const HINT_EXTENSION: u8 = 0x80;

/// What a station tells others about itself in discovery.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct DiscoveryInfo {
    pub hints: Hints,
    /// 0x00 ASCII, 0x01..=0x09 ISO-8859-1..9, 0xFF Unicode (UCS-2, big-endian).
    pub charset: u8,
    /// The nickname in `charset`, as sent (cut to fit [`MAX_DISCOVERY_INFO`] when encoded).
    pub nickname: Vec<u8>,
}

impl DiscoveryInfo {
    /// The nickname as text (ASCII and the ISO-8859 sets read as Latin-1, UCS-2 decoded).
    pub fn nickname_text(&self) -> String {
        match self.charset {
            0xFF => char::decode_utf16(
                self.nickname
                    .chunks_exact(2)
                    .map(|pair| u16::from_be_bytes([pair[0], pair[1]])),
            )
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
            _ => self.nickname.iter().map(|&b| char::from(b)).collect(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let [first, second] = self.hints.0.to_le_bytes();
        let second = second & !HINT_EXTENSION;
        if second != 0 {
            out.push(first | HINT_EXTENSION);
            out.push(second);
        } else {
            out.push(first & !HINT_EXTENSION);
        }
        out.push(self.charset);
        let room = MAX_DISCOVERY_INFO - (out.len() - start);
        out.extend_from_slice(&self.nickname[..self.nickname.len().min(room)]);
    }

    /// `bytes` starts at `offset` within the frame (for error positions).
    fn decode(bytes: &[u8], offset: usize) -> Result<DiscoveryInfo, FrameError> {
        if bytes.len() > MAX_DISCOVERY_INFO {
            return Err(FrameError::DiscoveryInfoTooLong {
                offset,
                len: bytes.len(),
            });
        }
        let mut hints = 0u16;
        let mut at = 0;
        loop {
            let Some(&byte) = bytes.get(at) else {
                return Err(FrameError::Truncated {
                    what: "hint byte",
                    offset: offset + at,
                });
            };
            // Only the first two hint bytes have meanings; later ones are skipped.
            if at < 2 {
                hints |= u16::from(byte & !HINT_EXTENSION) << (8 * at);
            }
            at += 1;
            if byte & HINT_EXTENSION == 0 {
                break;
            }
        }
        let Some(&charset) = bytes.get(at) else {
            return Err(FrameError::Truncated {
                what: "charset",
                offset: offset + at,
            });
        };
        Ok(DiscoveryInfo {
            hints: Hints(hints),
            charset,
            nickname: bytes[at + 1..].to_vec(),
        })
    }
}

/// A station found by discovery.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Discovery {
    pub address: DeviceAddress,
    pub info: DiscoveryInfo,
}

/// The information field of a discovery XID (IrLAP 1.1 section 6.3.1).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Xid {
    pub source: DeviceAddress,
    pub destination: DeviceAddress,
    /// Slots of this discovery: 1, 6, 8 or 16.
    pub slots: u8,
    /// The discoverer asks stations to pick a new device address (address conflict).
    pub new_address: bool,
    /// The current slot (commands), the slot answered in (responses); [`FINAL_SLOT`] ends.
    pub slot: u8,
    pub version: u8,
    /// Present in responses and in the final command.
    pub info: Option<DiscoveryInfo>,
}

const SLOT_COUNTS: [u8; 4] = [1, 6, 8, 16];
const NEW_ADDRESS_FLAG: u8 = 0x04;

impl Xid {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(XID_FORMAT_DISCOVERY);
        out.extend_from_slice(&self.source.0.to_le_bytes());
        out.extend_from_slice(&self.destination.0.to_le_bytes());
        let slot_code = SLOT_COUNTS
            .iter()
            .position(|&n| n >= self.slots)
            .unwrap_or(3) as u8;
        let new_address = if self.new_address {
            NEW_ADDRESS_FLAG
        } else {
            0
        };
        out.push(slot_code | new_address);
        out.push(self.slot);
        out.push(self.version);
        if let Some(info) = &self.info {
            info.encode(out);
        }
    }

    fn decode(info: &[u8]) -> Result<Xid, FrameError> {
        const FIXED: usize = 12;
        if info.len() < FIXED {
            return Err(FrameError::Truncated {
                what: "discovery XID",
                offset: INFO_OFFSET + info.len(),
            });
        }
        if info[0] != XID_FORMAT_DISCOVERY {
            return Err(FrameError::XidFormat {
                offset: INFO_OFFSET,
                value: info[0],
            });
        }
        let address =
            |at: usize| DeviceAddress(u32::from_le_bytes(info[at..at + 4].try_into().unwrap()));
        let flags = info[9];
        let discovery_info = if info.len() > FIXED {
            Some(DiscoveryInfo::decode(&info[FIXED..], INFO_OFFSET + FIXED)?)
        } else {
            None
        };
        Ok(Xid {
            source: address(1),
            destination: address(5),
            slots: SLOT_COUNTS[usize::from(flags & 0x03)],
            new_address: flags & NEW_ADDRESS_FLAG != 0,
            slot: info[10],
            version: info[11],
            info: discovery_info,
        })
    }
}

/// The information field of an SNRM that opens a connection.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SnrmInfo {
    pub source: DeviceAddress,
    pub destination: DeviceAddress,
    /// The 7-bit connection address the link will use.
    pub connection: u8,
    pub parameters: Capabilities,
}

/// The information field of a UA answering an SNRM.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UaInfo {
    pub source: DeviceAddress,
    pub destination: DeviceAddress,
    /// Absent when the UA answers a reset or a DISC.
    pub parameters: Option<Capabilities>,
}

/// Why a secondary rejected a frame (FRMR information field, IrLAP 1.1 section 5.4.3.5).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FrameReject {
    pub rejected_control: u8,
    /// The rejecting station's send and receive state variables.
    pub vs: u8,
    pub vr: u8,
    /// The rejected frame was a response.
    pub rejected_response: bool,
    /// W: control field undefined or not implemented.
    pub undefined_control: bool,
    /// X: information field not allowed with this control field.
    pub unexpected_information: bool,
    /// Y: information field longer than the negotiated data size.
    pub information_too_long: bool,
    /// Z: invalid Nr.
    pub invalid_nr: bool,
}

impl std::fmt::Display for FrameReject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "frame reject of control 0x{:02x}", self.rejected_control)?;
        for (set, what) in [
            (self.undefined_control, "undefined control"),
            (self.unexpected_information, "unexpected information"),
            (self.information_too_long, "information too long"),
            (self.invalid_nr, "invalid Nr"),
        ] {
            if set {
                write!(f, ", {what}")?;
            }
        }
        Ok(())
    }
}

/// What a frame is, by its control field.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FrameKind {
    Information {
        ns: u8,
        nr: u8,
        data: Vec<u8>,
    },
    ReceiveReady {
        nr: u8,
    },
    ReceiveNotReady {
        nr: u8,
    },
    Reject {
        nr: u8,
    },
    SelectiveReject {
        nr: u8,
    },
    /// Command: set normal response mode (connect, or reset without information).
    Snrm(Option<SnrmInfo>),
    /// Response: request normal response mode (the secondary asks for a reset).
    Rnrm,
    /// Command: disconnect.
    Disc,
    /// Response: request disconnect.
    Rd,
    /// Response: unnumbered acknowledgement.
    Ua(Option<UaInfo>),
    /// Response: disconnected mode.
    Dm,
    /// Response: frame reject.
    Frmr(FrameReject),
    /// Exchange station identification (discovery); command or response per the C/R bit.
    Xid(Xid),
    /// Unnumbered information.
    Ui(Vec<u8>),
    Test(Vec<u8>),
}

/// One IrLAP frame without its FCS.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    /// The 7-bit connection address ([`BROADCAST_CONNECTION`] for everyone).
    pub connection: u8,
    /// C/R bit: sent by the primary (commands) or a secondary (responses).
    pub command: bool,
    /// The P/F bit: a poll in commands, final in responses.
    pub poll_final: bool,
    pub kind: FrameKind,
}

const INFO_OFFSET: usize = 2;
const PF: u8 = 0x10;

mod unnumbered {
    pub const SNRM_RNRM: u8 = 0x83;
    pub const DISC_RD: u8 = 0x43;
    pub const UA: u8 = 0x63;
    pub const DM: u8 = 0x0F;
    pub const FRMR: u8 = 0x87;
    pub const XID_COMMAND: u8 = 0x2F;
    pub const XID_RESPONSE: u8 = 0xAF;
    pub const UI: u8 = 0x03;
    pub const TEST: u8 = 0xE3;
}

/// Why bytes are not an IrLAP frame. Offsets count from the address byte.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FrameError {
    /// Fewer than the address and control bytes.
    TooShort {
        len: usize,
    },
    /// The control field is no frame this station knows in that direction.
    UnknownControl {
        control: u8,
        command: bool,
    },
    /// A frame that carries no information field had one.
    UnexpectedInformation {
        control: u8,
        len: usize,
    },
    /// The information field ended inside `what`.
    Truncated {
        what: &'static str,
        offset: usize,
    },
    /// An XID whose format identifier is not discovery.
    XidFormat {
        offset: usize,
        value: u8,
    },
    DiscoveryInfoTooLong {
        offset: usize,
        len: usize,
    },
    /// Negotiation parameters of an SNRM or UA were malformed.
    Parameters(QosError),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooShort { len } => write!(f, "{len}-byte frame lacks address or control"),
            FrameError::UnknownControl { control, command } => write!(
                f,
                "unknown {} control field 0x{control:02x}",
                if *command { "command" } else { "response" }
            ),
            FrameError::UnexpectedInformation { control, len } => write!(
                f,
                "control 0x{control:02x} carries no information field, got {len} bytes"
            ),
            FrameError::Truncated { what, offset } => {
                write!(f, "frame ends in the {what} at byte {offset}")
            }
            FrameError::XidFormat { offset, value } => {
                write!(
                    f,
                    "XID format 0x{value:02x} at byte {offset} is not discovery"
                )
            }
            FrameError::DiscoveryInfoTooLong { offset, len } => write!(
                f,
                "{len} bytes of discovery info at byte {offset}, more than {MAX_DISCOVERY_INFO}"
            ),
            FrameError::Parameters(e) => write!(f, "negotiation parameters: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<QosError> for FrameError {
    fn from(e: QosError) -> FrameError {
        FrameError::Parameters(e)
    }
}

fn encode_addresses(source: DeviceAddress, destination: DeviceAddress, out: &mut Vec<u8>) {
    out.extend_from_slice(&source.0.to_le_bytes());
    out.extend_from_slice(&destination.0.to_le_bytes());
}

fn decode_addresses(
    info: &[u8],
    what: &'static str,
) -> Result<(DeviceAddress, DeviceAddress), FrameError> {
    if info.len() < 8 {
        return Err(FrameError::Truncated {
            what,
            offset: INFO_OFFSET + info.len(),
        });
    }
    let word = |at: usize| DeviceAddress(u32::from_le_bytes(info[at..at + 4].try_into().unwrap()));
    Ok((word(0), word(4)))
}

impl Frame {
    /// The control byte this frame is sent with.
    pub fn control(&self) -> u8 {
        use unnumbered::*;
        let pf = if self.poll_final { PF } else { 0 };
        let supervisory = |kind: u8, nr: u8| 0x01 | (kind << 2) | pf | ((nr & 7) << 5);
        match &self.kind {
            FrameKind::Information { ns, nr, .. } => ((ns & 7) << 1) | pf | ((nr & 7) << 5),
            FrameKind::ReceiveReady { nr } => supervisory(0, *nr),
            FrameKind::ReceiveNotReady { nr } => supervisory(1, *nr),
            FrameKind::Reject { nr } => supervisory(2, *nr),
            FrameKind::SelectiveReject { nr } => supervisory(3, *nr),
            FrameKind::Snrm(_) | FrameKind::Rnrm => SNRM_RNRM | pf,
            FrameKind::Disc | FrameKind::Rd => DISC_RD | pf,
            FrameKind::Ua(_) => UA | pf,
            FrameKind::Dm => DM | pf,
            FrameKind::Frmr(_) => FRMR | pf,
            FrameKind::Xid(_) if self.command => XID_COMMAND | pf,
            FrameKind::Xid(_) => XID_RESPONSE | pf,
            FrameKind::Ui(_) => UI | pf,
            FrameKind::Test(_) => TEST | pf,
        }
    }

    /// The frame's bytes: address, control, information.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.push(((self.connection & 0x7F) << 1) | u8::from(self.command));
        out.push(self.control());
        match &self.kind {
            FrameKind::Information { data, .. } | FrameKind::Ui(data) | FrameKind::Test(data) => {
                out.extend_from_slice(data)
            }
            FrameKind::Snrm(Some(info)) => {
                encode_addresses(info.source, info.destination, &mut out);
                out.push((info.connection & 0x7F) << 1);
                info.parameters.encode(&mut out);
            }
            FrameKind::Ua(Some(info)) => {
                encode_addresses(info.source, info.destination, &mut out);
                if let Some(parameters) = &info.parameters {
                    parameters.encode(&mut out);
                }
            }
            FrameKind::Frmr(reject) => {
                out.push(reject.rejected_control);
                out.push(
                    ((reject.vs & 7) << 1)
                        | (u8::from(reject.rejected_response) << 4)
                        | ((reject.vr & 7) << 5),
                );
                out.push(
                    u8::from(reject.undefined_control)
                        | (u8::from(reject.unexpected_information) << 1)
                        | (u8::from(reject.information_too_long) << 2)
                        | (u8::from(reject.invalid_nr) << 3),
                );
            }
            FrameKind::Xid(xid) => xid.encode(&mut out),
            FrameKind::ReceiveReady { .. }
            | FrameKind::ReceiveNotReady { .. }
            | FrameKind::Reject { .. }
            | FrameKind::SelectiveReject { .. }
            | FrameKind::Snrm(None)
            | FrameKind::Rnrm
            | FrameKind::Disc
            | FrameKind::Rd
            | FrameKind::Ua(None)
            | FrameKind::Dm => {}
        }
        out
    }

    /// Parses a frame whose FCS was already checked and removed.
    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        use unnumbered::*;
        let [address, control, ref info @ ..] = *bytes else {
            return Err(FrameError::TooShort { len: bytes.len() });
        };
        let command = address & 0x01 != 0;
        let no_info = |kind: FrameKind| {
            if info.is_empty() {
                Ok(kind)
            } else {
                Err(FrameError::UnexpectedInformation {
                    control,
                    len: info.len(),
                })
            }
        };
        let nr = control >> 5;
        let kind = if control & 0x01 == 0 {
            FrameKind::Information {
                ns: (control >> 1) & 7,
                nr,
                data: info.to_vec(),
            }
        } else if control & 0x03 == 0x01 {
            no_info(match (control >> 2) & 3 {
                0 => FrameKind::ReceiveReady { nr },
                1 => FrameKind::ReceiveNotReady { nr },
                2 => FrameKind::Reject { nr },
                _ => FrameKind::SelectiveReject { nr },
            })?
        } else {
            match (control & !PF, command) {
                (SNRM_RNRM, true) if info.is_empty() => FrameKind::Snrm(None),
                (SNRM_RNRM, true) => {
                    let (source, destination) = decode_addresses(info, "SNRM addresses")?;
                    let Some(&connection) = info.get(8) else {
                        return Err(FrameError::Truncated {
                            what: "SNRM connection address",
                            offset: INFO_OFFSET + 8,
                        });
                    };
                    FrameKind::Snrm(Some(SnrmInfo {
                        source,
                        destination,
                        connection: connection >> 1,
                        parameters: Capabilities::decode(&info[9..], INFO_OFFSET + 9)?,
                    }))
                }
                (SNRM_RNRM, false) => no_info(FrameKind::Rnrm)?,
                (DISC_RD, true) => no_info(FrameKind::Disc)?,
                (DISC_RD, false) => no_info(FrameKind::Rd)?,
                (UA, false) if info.is_empty() => FrameKind::Ua(None),
                (UA, false) => {
                    let (source, destination) = decode_addresses(info, "UA addresses")?;
                    let parameters = if info.len() > 8 {
                        Some(Capabilities::decode(&info[8..], INFO_OFFSET + 8)?)
                    } else {
                        None
                    };
                    FrameKind::Ua(Some(UaInfo {
                        source,
                        destination,
                        parameters,
                    }))
                }
                (DM, false) => no_info(FrameKind::Dm)?,
                (FRMR, false) => {
                    let [rejected_control, state, flags, ..] = *info else {
                        return Err(FrameError::Truncated {
                            what: "FRMR information",
                            offset: INFO_OFFSET + info.len(),
                        });
                    };
                    FrameKind::Frmr(FrameReject {
                        rejected_control,
                        vs: (state >> 1) & 7,
                        vr: state >> 5,
                        rejected_response: state & 0x10 != 0,
                        undefined_control: flags & 0x01 != 0,
                        unexpected_information: flags & 0x02 != 0,
                        information_too_long: flags & 0x04 != 0,
                        invalid_nr: flags & 0x08 != 0,
                    })
                }
                (XID_COMMAND, true) | (XID_RESPONSE, false) => FrameKind::Xid(Xid::decode(info)?),
                (UI, _) => FrameKind::Ui(info.to_vec()),
                (TEST, _) => FrameKind::Test(info.to_vec()),
                _ => return Err(FrameError::UnknownControl { control, command }),
            }
        };
        Ok(Frame {
            connection: address >> 1,
            command,
            poll_final: control & PF != 0,
            kind,
        })
    }
}

#[cfg(test)]
mod tests;
