//! Decoding and encoding errors, each with the byte offset where decoding stopped.

use std::fmt;

/// What went wrong while decoding a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The input ends before a field that needs `needed` bytes.
    Truncated { what: &'static str, needed: usize },
    /// The declared packet length is below the minimum for the packet kind.
    PacketLengthTooShort { declared: u16, minimum: u16 },
    /// The declared packet length exceeds what we accept for one packet.
    PacketTooLong { declared: u16, maximum: u16 },
    /// The declared packet length differs from the bytes given for one packet.
    PacketLengthMismatch { declared: u16, actual: usize },
    /// A header's 2-byte length is smaller than the header's own 3-byte prefix.
    HeaderLengthTooShort { id: u8, declared: u16 },
    /// The packet ends inside the header with this id.
    PacketEndsInsideHeader { id: u8 },
    /// A text header (UTF-16BE) whose payload has an odd byte count.
    OddUnicodeLength { id: u8, length: usize },
    /// A text header that is not valid UTF-16.
    InvalidUnicode { id: u8 },
    /// A CONNECT packet announcing a maximum packet length below the OBEX minimum of 255.
    MaxPacketLengthTooSmall { announced: u16 },
}

/// A decoding error: what went wrong and at which byte offset of the packet (or stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset of the offending byte from the start of the decoded input.
    pub offset: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError { offset, kind }
    }

    /// The same error, with its offset moved by `base` (for errors inside a larger stream).
    pub fn shifted(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: ", self.offset)?;
        match &self.kind {
            DecodeErrorKind::Truncated { what, needed } => {
                write!(f, "input ends inside {what} ({needed} bytes needed)")
            }
            DecodeErrorKind::PacketLengthTooShort { declared, minimum } => write!(
                f,
                "packet length {declared} is shorter than the minimum {minimum}"
            ),
            DecodeErrorKind::PacketTooLong { declared, maximum } => write!(
                f,
                "packet length {declared} exceeds the negotiated {maximum}"
            ),
            DecodeErrorKind::PacketLengthMismatch { declared, actual } => write!(
                f,
                "packet length {declared} does not match the {actual} bytes given"
            ),
            DecodeErrorKind::HeaderLengthTooShort { id, declared } => write!(
                f,
                "header 0x{id:02X} length {declared} is shorter than its 3-byte prefix"
            ),
            DecodeErrorKind::PacketEndsInsideHeader { id } => {
                write!(f, "packet ends inside header 0x{id:02X}")
            }
            DecodeErrorKind::OddUnicodeLength { id, length } => write!(
                f,
                "header 0x{id:02X} holds UTF-16 text of odd length {length}"
            ),
            DecodeErrorKind::InvalidUnicode { id } => {
                write!(f, "header 0x{id:02X} holds invalid UTF-16 text")
            }
            DecodeErrorKind::MaxPacketLengthTooSmall { announced } => write!(
                f,
                "maximum packet length {announced} is below the OBEX minimum of 255"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a packet or header could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The encoded packet would be longer than the 65535 bytes a 2-byte length can say, or
    /// than the peer's maximum.
    PacketTooLong { length: usize, maximum: usize },
    /// A header's value does not fit its encoding (e.g. a 5-byte value for a 4-byte header,
    /// or a byte sequence over 65532 bytes).
    HeaderValueDoesNotFit { id: u8, length: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::PacketTooLong { length, maximum } => {
                write!(f, "packet of {length} bytes exceeds the maximum {maximum}")
            }
            EncodeError::HeaderValueDoesNotFit { id, length } => write!(
                f,
                "a value of {length} bytes does not fit header 0x{id:02X}"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}
