//! LM-PDUs: what IrLMP puts in an IrLAP I-frame.
//!
//! Byte 0 is the control bit (0x80) and the destination LSAP-SEL, byte 1 a reserved bit and
//! the source LSAP-SEL. Data PDUs carry user data after that; control PDUs an opcode byte,
//! one parameter byte (reserved, a disconnect reason or an access mode status) and, for
//! connect and disconnect, user data.

use std::fmt;

use super::{DisconnectReason, Lsap};

const CONTROL_BIT: u8 = 0x80;
const LSAP_MASK: u8 = 0x7F;

const CONNECT: u8 = 0x01;
const CONNECT_CONFIRM: u8 = 0x81;
const DISCONNECT: u8 = 0x02;
const ACCESS_MODE: u8 = 0x03;
const ACCESS_MODE_CONFIRM: u8 = 0x83;

/// The header of a data PDU.
pub const DATA_HEADER_LEN: usize = 2;
/// The header of a connect or disconnect PDU (before its user data).
pub const CONTROL_HEADER_LEN: usize = 4;

/// The access mode a connection asks for.
pub mod access_mode {
    pub const MULTIPLEXED: u8 = 0x00;
    pub const EXCLUSIVE: u8 = 0x01;
}

/// The status of an access mode confirm.
pub mod access_status {
    pub const SUCCESS: u8 = 0x00;
    pub const FAILURE: u8 = 0x01;
    pub const UNSUPPORTED: u8 = 0xFF;
}

/// One decoded LM-PDU, borrowing its user data.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LmPdu<'a> {
    Data {
        destination: Lsap,
        source: Lsap,
        data: &'a [u8],
    },
    Connect {
        destination: Lsap,
        source: Lsap,
        user_data: &'a [u8],
    },
    ConnectConfirm {
        destination: Lsap,
        source: Lsap,
        user_data: &'a [u8],
    },
    Disconnect {
        destination: Lsap,
        source: Lsap,
        reason: DisconnectReason,
        user_data: &'a [u8],
    },
    AccessMode {
        destination: Lsap,
        source: Lsap,
        mode: u8,
    },
    AccessModeConfirm {
        destination: Lsap,
        source: Lsap,
        status: u8,
        mode: u8,
    },
}

impl<'a> LmPdu<'a> {
    pub fn destination(&self) -> Lsap {
        match *self {
            LmPdu::Data { destination, .. }
            | LmPdu::Connect { destination, .. }
            | LmPdu::ConnectConfirm { destination, .. }
            | LmPdu::Disconnect { destination, .. }
            | LmPdu::AccessMode { destination, .. }
            | LmPdu::AccessModeConfirm { destination, .. } => destination,
        }
    }

    pub fn source(&self) -> Lsap {
        match *self {
            LmPdu::Data { source, .. }
            | LmPdu::Connect { source, .. }
            | LmPdu::ConnectConfirm { source, .. }
            | LmPdu::Disconnect { source, .. }
            | LmPdu::AccessMode { source, .. }
            | LmPdu::AccessModeConfirm { source, .. } => source,
        }
    }

    /// Decodes one PDU. The reserved bit of byte 1 is ignored; a connect PDU without its
    /// reserved parameter byte is accepted, as some stacks send it that way.
    pub fn decode(pdu: &'a [u8]) -> Result<LmPdu<'a>, LmpDecodeError> {
        if pdu.len() < DATA_HEADER_LEN {
            return Err(LmpDecodeError::new(
                pdu.len(),
                LmpDecodeErrorKind::Truncated {
                    what: "LM-PDU header",
                },
            ));
        }
        let destination = Lsap(pdu[0] & LSAP_MASK);
        let source = Lsap(pdu[1] & LSAP_MASK);
        if pdu[0] & CONTROL_BIT == 0 {
            return Ok(LmPdu::Data {
                destination,
                source,
                data: &pdu[DATA_HEADER_LEN..],
            });
        }
        let opcode = *pdu.get(2).ok_or(LmpDecodeError::new(
            2,
            LmpDecodeErrorKind::Truncated { what: "opcode" },
        ))?;
        let parameter = |what| {
            pdu.get(3).copied().ok_or(LmpDecodeError::new(
                3,
                LmpDecodeErrorKind::Truncated { what },
            ))
        };
        let rest = pdu.get(4..).unwrap_or(&[]);
        match opcode {
            CONNECT | CONNECT_CONFIRM => {
                let user_data = rest;
                Ok(if opcode == CONNECT {
                    LmPdu::Connect {
                        destination,
                        source,
                        user_data,
                    }
                } else {
                    LmPdu::ConnectConfirm {
                        destination,
                        source,
                        user_data,
                    }
                })
            }
            DISCONNECT => Ok(LmPdu::Disconnect {
                destination,
                source,
                reason: DisconnectReason::from_byte(parameter("disconnect reason")?),
                user_data: rest,
            }),
            ACCESS_MODE | ACCESS_MODE_CONFIRM => {
                let status = parameter("access mode status")?;
                let mode = *pdu.get(4).ok_or(LmpDecodeError::new(
                    4,
                    LmpDecodeErrorKind::Truncated {
                        what: "access mode",
                    },
                ))?;
                if pdu.len() > 5 {
                    return Err(LmpDecodeError::new(
                        5,
                        LmpDecodeErrorKind::TrailingBytes { len: pdu.len() - 5 },
                    ));
                }
                Ok(if opcode == ACCESS_MODE {
                    LmPdu::AccessMode {
                        destination,
                        source,
                        mode,
                    }
                } else {
                    LmPdu::AccessModeConfirm {
                        destination,
                        source,
                        status,
                        mode,
                    }
                })
            }
            opcode => Err(LmpDecodeError::new(
                2,
                LmpDecodeErrorKind::UnknownOpcode { opcode },
            )),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let header = |control: bool, capacity: usize| {
            let mut out = Vec::with_capacity(capacity);
            let control = if control { CONTROL_BIT } else { 0 };
            out.push(control | (self.destination().0 & LSAP_MASK));
            out.push(self.source().0 & LSAP_MASK);
            out
        };
        match *self {
            LmPdu::Data { data, .. } => {
                let mut out = header(false, DATA_HEADER_LEN + data.len());
                out.extend_from_slice(data);
                out
            }
            LmPdu::Connect { user_data, .. } | LmPdu::ConnectConfirm { user_data, .. } => {
                let mut out = header(true, CONTROL_HEADER_LEN + user_data.len());
                let opcode = if matches!(self, LmPdu::Connect { .. }) {
                    CONNECT
                } else {
                    CONNECT_CONFIRM
                };
                out.extend_from_slice(&[opcode, 0x00]);
                out.extend_from_slice(user_data);
                out
            }
            LmPdu::Disconnect {
                reason, user_data, ..
            } => {
                let mut out = header(true, CONTROL_HEADER_LEN + user_data.len());
                out.extend_from_slice(&[DISCONNECT, reason.to_byte()]);
                out.extend_from_slice(user_data);
                out
            }
            LmPdu::AccessMode { mode, .. } => {
                let mut out = header(true, 5);
                out.extend_from_slice(&[ACCESS_MODE, 0x00, mode]);
                out
            }
            LmPdu::AccessModeConfirm { status, mode, .. } => {
                let mut out = header(true, 5);
                out.extend_from_slice(&[ACCESS_MODE_CONFIRM, status, mode]);
                out
            }
        }
    }
}

/// What went wrong decoding an LM-PDU.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LmpDecodeErrorKind {
    Truncated { what: &'static str },
    UnknownOpcode { opcode: u8 },
    TrailingBytes { len: usize },
}

/// An LM-PDU decoding error, at a byte offset of the PDU.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LmpDecodeError {
    pub offset: usize,
    pub kind: LmpDecodeErrorKind,
}

impl LmpDecodeError {
    fn new(offset: usize, kind: LmpDecodeErrorKind) -> LmpDecodeError {
        LmpDecodeError { offset, kind }
    }
}

impl fmt::Display for LmpDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LM-PDU at offset {}: ", self.offset)?;
        match &self.kind {
            LmpDecodeErrorKind::Truncated { what } => write!(f, "ends before its {what}"),
            LmpDecodeErrorKind::UnknownOpcode { opcode } => {
                write!(f, "unknown control opcode 0x{opcode:02X}")
            }
            LmpDecodeErrorKind::TrailingBytes { len } => {
                write!(f, "{len} bytes after the end of the PDU")
            }
        }
    }
}

impl std::error::Error for LmpDecodeError {}
