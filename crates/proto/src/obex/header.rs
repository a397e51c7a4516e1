//! OBEX headers (IrOBEX 1.2 section 2.2): one id byte whose high two bits give the encoding,
//! then the value.
//!
//! | high bits | encoding                                     |
//! |-----------|----------------------------------------------|
//! | `00`      | 2-byte length, NUL-terminated UTF-16BE text  |
//! | `01`      | 2-byte length, byte sequence                 |
//! | `10`      | one byte                                     |
//! | `11`      | four bytes, big-endian                       |

use std::fmt;

use super::error::{DecodeError, DecodeErrorKind, EncodeError};

/// Header ids with a meaning in IrOBEX 1.2/1.3.
pub mod id {
    pub const COUNT: u8 = 0xC0;
    pub const NAME: u8 = 0x01;
    pub const TYPE: u8 = 0x42;
    pub const LENGTH: u8 = 0xC3;
    pub const TIME_ISO8601: u8 = 0x44;
    pub const TIME_4BYTE: u8 = 0xC4;
    pub const DESCRIPTION: u8 = 0x05;
    pub const TARGET: u8 = 0x46;
    pub const HTTP: u8 = 0x47;
    pub const BODY: u8 = 0x48;
    pub const END_OF_BODY: u8 = 0x49;
    pub const WHO: u8 = 0x4A;
    pub const CONNECTION_ID: u8 = 0xCB;
    pub const APP_PARAMETERS: u8 = 0x4C;
    pub const AUTH_CHALLENGE: u8 = 0x4D;
    pub const AUTH_RESPONSE: u8 = 0x4E;
    pub const CREATOR_ID: u8 = 0xCF;
    pub const WAN_UUID: u8 = 0x50;
    pub const OBJECT_CLASS: u8 = 0x51;
    pub const SESSION_PARAMETERS: u8 = 0x52;
    pub const SESSION_SEQUENCE_NUMBER: u8 = 0x93;
}

/// How a header's value is encoded, from the high two bits of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderEncoding {
    /// 0x00: NUL-terminated UTF-16BE text with a 2-byte length.
    Unicode,
    /// 0x40: byte sequence with a 2-byte length.
    Bytes,
    /// 0x80: one byte.
    Byte,
    /// 0xC0: four bytes, big-endian.
    FourBytes,
}

impl HeaderEncoding {
    /// The encoding an id announces.
    pub fn of(id: u8) -> Self {
        match id & 0xC0 {
            0x00 => HeaderEncoding::Unicode,
            0x40 => HeaderEncoding::Bytes,
            0x80 => HeaderEncoding::Byte,
            _ => HeaderEncoding::FourBytes,
        }
    }
}

/// A header whose id has no typed variant (user-defined 0x30..=0x3F and friends, or ids
/// from later OBEX versions), kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    id: u8,
    value: Vec<u8>,
}

impl RawHeader {
    /// A raw header; the value must suit the id's encoding (exactly 1 or 4 bytes for the
    /// fixed-size encodings, at most 65532 bytes and an even count for text).
    pub fn new(id: u8, value: Vec<u8>) -> Result<Self, EncodeError> {
        let fits = match HeaderEncoding::of(id) {
            HeaderEncoding::Byte => value.len() == 1,
            HeaderEncoding::FourBytes => value.len() == 4,
            HeaderEncoding::Bytes => value.len() <= MAX_VARIABLE_VALUE,
            HeaderEncoding::Unicode => value.len() <= MAX_VARIABLE_VALUE && value.len() % 2 == 0,
        };
        if fits {
            Ok(RawHeader { id, value })
        } else {
            Err(EncodeError::HeaderValueDoesNotFit {
                id,
                length: value.len(),
            })
        }
    }

    /// The header id.
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The value as on the wire, without the id and length prefix.
    pub fn value(&self) -> &[u8] {
        &self.value
    }
}

/// The largest value a length-prefixed header can carry (65535 minus its 3-byte prefix).
pub const MAX_VARIABLE_VALUE: usize = u16::MAX as usize - 3;

/// One OBEX header, typed where the id has a meaning.
///
/// Text headers (`Name`, `Description`) hold `None` for the empty header (length 3, no
/// terminator) which OBEX uses for "no name"; `Some` text is sent NUL-terminated.
/// `Type` holds the ASCII media type without its terminating NUL, which encoding adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    Count(u32),
    Name(Option<String>),
    Type(Vec<u8>),
    Length(u32),
    TimeIso8601(Vec<u8>),
    Time4Byte(u32),
    Description(Option<String>),
    Target(Vec<u8>),
    Http(Vec<u8>),
    Body(Vec<u8>),
    EndOfBody(Vec<u8>),
    Who(Vec<u8>),
    ConnectionId(u32),
    AppParameters(Vec<u8>),
    AuthChallenge(Vec<u8>),
    AuthResponse(Vec<u8>),
    CreatorId(u32),
    WanUuid(Vec<u8>),
    ObjectClass(Vec<u8>),
    SessionParameters(Vec<u8>),
    SessionSequenceNumber(u8),
    /// Any other id, kept as it is.
    Other(RawHeader),
}

impl Header {
    /// The id byte of this header.
    pub fn id(&self) -> u8 {
        match self {
            Header::Count(_) => id::COUNT,
            Header::Name(_) => id::NAME,
            Header::Type(_) => id::TYPE,
            Header::Length(_) => id::LENGTH,
            Header::TimeIso8601(_) => id::TIME_ISO8601,
            Header::Time4Byte(_) => id::TIME_4BYTE,
            Header::Description(_) => id::DESCRIPTION,
            Header::Target(_) => id::TARGET,
            Header::Http(_) => id::HTTP,
            Header::Body(_) => id::BODY,
            Header::EndOfBody(_) => id::END_OF_BODY,
            Header::Who(_) => id::WHO,
            Header::ConnectionId(_) => id::CONNECTION_ID,
            Header::AppParameters(_) => id::APP_PARAMETERS,
            Header::AuthChallenge(_) => id::AUTH_CHALLENGE,
            Header::AuthResponse(_) => id::AUTH_RESPONSE,
            Header::CreatorId(_) => id::CREATOR_ID,
            Header::WanUuid(_) => id::WAN_UUID,
            Header::ObjectClass(_) => id::OBJECT_CLASS,
            Header::SessionParameters(_) => id::SESSION_PARAMETERS,
            Header::SessionSequenceNumber(_) => id::SESSION_SEQUENCE_NUMBER,
            Header::Other(raw) => raw.id,
        }
    }

    /// The specification's name for a header id.
    pub fn name_of(header_id: u8) -> &'static str {
        match header_id {
            id::COUNT => "Count",
            id::NAME => "Name",
            id::TYPE => "Type",
            id::LENGTH => "Length",
            id::TIME_ISO8601 => "Time (ISO 8601)",
            id::TIME_4BYTE => "Time (4-byte)",
            id::DESCRIPTION => "Description",
            id::TARGET => "Target",
            id::HTTP => "HTTP",
            id::BODY => "Body",
            id::END_OF_BODY => "End-of-Body",
            id::WHO => "Who",
            id::CONNECTION_ID => "Connection ID",
            id::APP_PARAMETERS => "App Parameters",
            id::AUTH_CHALLENGE => "Auth Challenge",
            id::AUTH_RESPONSE => "Auth Response",
            id::CREATOR_ID => "Creator ID",
            id::WAN_UUID => "WAN UUID",
            id::OBJECT_CLASS => "Object Class",
            id::SESSION_PARAMETERS => "Session Parameters",
            id::SESSION_SEQUENCE_NUMBER => "Session Sequence Number",
            0x30..=0x3F | 0x70..=0x7F | 0xB0..=0xBF | 0xF0..=0xFF => "user-defined",
            _ => "unknown",
        }
    }

    /// The number of bytes this header takes on the wire.
    pub fn encoded_len(&self) -> usize {
        match HeaderEncoding::of(self.id()) {
            HeaderEncoding::Byte => 2,
            HeaderEncoding::FourBytes => 5,
            HeaderEncoding::Bytes | HeaderEncoding::Unicode => 3 + self.variable_value_len(),
        }
    }

    fn variable_value_len(&self) -> usize {
        match self {
            Header::Name(text) | Header::Description(text) => text_value_len(text.as_deref()),
            Header::Type(bytes) => bytes.len() + 1,
            Header::TimeIso8601(bytes)
            | Header::Target(bytes)
            | Header::Http(bytes)
            | Header::Body(bytes)
            | Header::EndOfBody(bytes)
            | Header::Who(bytes)
            | Header::AppParameters(bytes)
            | Header::AuthChallenge(bytes)
            | Header::AuthResponse(bytes)
            | Header::WanUuid(bytes)
            | Header::ObjectClass(bytes)
            | Header::SessionParameters(bytes) => bytes.len(),
            Header::Other(raw) => raw.value.len(),
            Header::Count(_)
            | Header::Length(_)
            | Header::Time4Byte(_)
            | Header::ConnectionId(_)
            | Header::CreatorId(_)
            | Header::SessionSequenceNumber(_) => 0,
        }
    }

    /// Appends the header's wire form to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let header_id = self.id();
        match self {
            Header::Count(value)
            | Header::Length(value)
            | Header::Time4Byte(value)
            | Header::ConnectionId(value)
            | Header::CreatorId(value) => {
                out.push(header_id);
                out.extend_from_slice(&value.to_be_bytes());
                return Ok(());
            }
            Header::SessionSequenceNumber(value) => {
                out.extend_from_slice(&[header_id, *value]);
                return Ok(());
            }
            Header::Other(raw) if raw.value.len() == 1 || raw.value.len() == 4 => {
                if matches!(
                    HeaderEncoding::of(header_id),
                    HeaderEncoding::Byte | HeaderEncoding::FourBytes
                ) {
                    out.push(header_id);
                    out.extend_from_slice(&raw.value);
                    return Ok(());
                }
            }
            _ => {}
        }
        let value_len = self.variable_value_len();
        if value_len > MAX_VARIABLE_VALUE {
            return Err(EncodeError::HeaderValueDoesNotFit {
                id: header_id,
                length: value_len,
            });
        }
        out.push(header_id);
        // Cannot truncate: checked against MAX_VARIABLE_VALUE above.
        out.extend_from_slice(&((value_len + 3) as u16).to_be_bytes());
        match self {
            Header::Name(text) | Header::Description(text) => {
                if let Some(text) = text {
                    for unit in text.encode_utf16() {
                        out.extend_from_slice(&unit.to_be_bytes());
                    }
                    out.extend_from_slice(&[0, 0]);
                }
            }
            Header::Type(bytes) => {
                out.extend_from_slice(bytes);
                out.push(0);
            }
            Header::TimeIso8601(bytes)
            | Header::Target(bytes)
            | Header::Http(bytes)
            | Header::Body(bytes)
            | Header::EndOfBody(bytes)
            | Header::Who(bytes)
            | Header::AppParameters(bytes)
            | Header::AuthChallenge(bytes)
            | Header::AuthResponse(bytes)
            | Header::WanUuid(bytes)
            | Header::ObjectClass(bytes)
            | Header::SessionParameters(bytes) => out.extend_from_slice(bytes),
            Header::Other(raw) => out.extend_from_slice(&raw.value),
            Header::Count(_)
            | Header::Length(_)
            | Header::Time4Byte(_)
            | Header::ConnectionId(_)
            | Header::CreatorId(_)
            | Header::SessionSequenceNumber(_) => {}
        }
        Ok(())
    }

    /// Decodes one header at `input[0..]`; returns it and the bytes it took.
    /// `base` is the offset of `input` in the packet, for error positions.
    pub fn decode(input: &[u8], base: usize) -> Result<(Header, usize), DecodeError> {
        let Some(&header_id) = input.first() else {
            return Err(DecodeError::new(
                base,
                DecodeErrorKind::Truncated {
                    what: "a header id",
                    needed: 1,
                },
            ));
        };
        let ends_inside = || {
            DecodeError::new(
                base,
                DecodeErrorKind::PacketEndsInsideHeader { id: header_id },
            )
        };
        match HeaderEncoding::of(header_id) {
            HeaderEncoding::Byte => {
                let value = *input.get(1).ok_or_else(ends_inside)?;
                let header = match header_id {
                    id::SESSION_SEQUENCE_NUMBER => Header::SessionSequenceNumber(value),
                    _ => Header::Other(RawHeader {
                        id: header_id,
                        value: vec![value],
                    }),
                };
                Ok((header, 2))
            }
            HeaderEncoding::FourBytes => {
                let bytes: [u8; 4] = input
                    .get(1..5)
                    .and_then(|slice| slice.try_into().ok())
                    .ok_or_else(ends_inside)?;
                let value = u32::from_be_bytes(bytes);
                let header = match header_id {
                    id::COUNT => Header::Count(value),
                    id::LENGTH => Header::Length(value),
                    id::TIME_4BYTE => Header::Time4Byte(value),
                    id::CONNECTION_ID => Header::ConnectionId(value),
                    id::CREATOR_ID => Header::CreatorId(value),
                    _ => Header::Other(RawHeader {
                        id: header_id,
                        value: bytes.to_vec(),
                    }),
                };
                Ok((header, 5))
            }
            encoding @ (HeaderEncoding::Bytes | HeaderEncoding::Unicode) => {
                let length_bytes: [u8; 2] = input
                    .get(1..3)
                    .and_then(|slice| slice.try_into().ok())
                    .ok_or_else(ends_inside)?;
                let declared = u16::from_be_bytes(length_bytes);
                if declared < 3 {
                    return Err(DecodeError::new(
                        base + 1,
                        DecodeErrorKind::HeaderLengthTooShort {
                            id: header_id,
                            declared,
                        },
                    ));
                }
                let value = input.get(3..declared as usize).ok_or_else(ends_inside)?;
                let header = if encoding == HeaderEncoding::Unicode {
                    decode_text_header(header_id, value, base + 3)?
                } else {
                    decode_bytes_header(header_id, value)
                };
                Ok((header, declared as usize))
            }
        }
    }

    /// The bytes of a Body or End-of-Body header.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        match self {
            Header::Body(bytes) | Header::EndOfBody(bytes) => Some(bytes),
            _ => None,
        }
    }
}

fn text_value_len(text: Option<&str>) -> usize {
    text.map_or(0, |text| text.encode_utf16().count() * 2 + 2)
}

fn decode_bytes_header(header_id: u8, value: &[u8]) -> Header {
    let bytes = value.to_vec();
    match header_id {
        id::TYPE => {
            // The NUL is part of the wire form; a phone that omits it is tolerated.
            let mut bytes = bytes;
            if bytes.last() == Some(&0) {
                bytes.pop();
            }
            Header::Type(bytes)
        }
        id::TIME_ISO8601 => Header::TimeIso8601(bytes),
        id::TARGET => Header::Target(bytes),
        id::HTTP => Header::Http(bytes),
        id::BODY => Header::Body(bytes),
        id::END_OF_BODY => Header::EndOfBody(bytes),
        id::WHO => Header::Who(bytes),
        id::APP_PARAMETERS => Header::AppParameters(bytes),
        id::AUTH_CHALLENGE => Header::AuthChallenge(bytes),
        id::AUTH_RESPONSE => Header::AuthResponse(bytes),
        id::WAN_UUID => Header::WanUuid(bytes),
        id::OBJECT_CLASS => Header::ObjectClass(bytes),
        id::SESSION_PARAMETERS => Header::SessionParameters(bytes),
        _ => Header::Other(RawHeader {
            id: header_id,
            value: bytes,
        }),
    }
}

fn decode_text_header(header_id: u8, value: &[u8], offset: usize) -> Result<Header, DecodeError> {
    if value.len() % 2 != 0 {
        return Err(DecodeError::new(
            offset,
            DecodeErrorKind::OddUnicodeLength {
                id: header_id,
                length: value.len(),
            },
        ));
    }
    if !matches!(header_id, id::NAME | id::DESCRIPTION) {
        return Ok(Header::Other(RawHeader {
            id: header_id,
            value: value.to_vec(),
        }));
    }
    let text = if value.is_empty() {
        None
    } else {
        let mut units: Vec<u16> = value
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect();
        // Some phones omit the terminating NUL; accept both forms.
        if units.last() == Some(&0) {
            units.pop();
        }
        Some(String::from_utf16(&units).map_err(|_| {
            DecodeError::new(offset, DecodeErrorKind::InvalidUnicode { id: header_id })
        })?)
    };
    Ok(if header_id == id::NAME {
        Header::Name(text)
    } else {
        Header::Description(text)
    })
}

/// Decodes the headers filling `input`; `base` is `input`'s offset in the packet.
pub fn decode_headers(input: &[u8], base: usize) -> Result<Vec<Header>, DecodeError> {
    let mut headers = Vec::new();
    let mut position = 0;
    while position < input.len() {
        let (header, used) = Header::decode(&input[position..], base + position)?;
        headers.push(header);
        position += used;
    }
    Ok(headers)
}

/// Formats bytes as text where they are printable ASCII, else as hex.
pub(crate) fn printable(bytes: &[u8]) -> String {
    if !bytes.is_empty() && bytes.iter().all(|byte| (0x20..0x7F).contains(byte)) {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        hex(bytes)
    }
}

/// Lower-case hex with no separator.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Header::name_of(self.id());
        write!(f, "{name} (0x{:02X}): ", self.id())?;
        match self {
            Header::Count(value)
            | Header::Length(value)
            | Header::Time4Byte(value)
            | Header::CreatorId(value) => write!(f, "{value}"),
            Header::ConnectionId(value) => write!(f, "0x{value:08X}"),
            Header::SessionSequenceNumber(value) => write!(f, "{value}"),
            Header::Name(text) | Header::Description(text) => match text {
                Some(text) => write!(f, "{text:?}"),
                None => write!(f, "(empty)"),
            },
            Header::Body(bytes) | Header::EndOfBody(bytes) => {
                write!(f, "{} bytes", bytes.len())?;
                if !bytes.is_empty() {
                    let shown = &bytes[..bytes.len().min(32)];
                    write!(f, " {}", hex(shown))?;
                    if bytes.len() > shown.len() {
                        write!(f, "...")?;
                    }
                }
                Ok(())
            }
            Header::Type(bytes)
            | Header::TimeIso8601(bytes)
            | Header::Target(bytes)
            | Header::Http(bytes)
            | Header::Who(bytes)
            | Header::AppParameters(bytes)
            | Header::AuthChallenge(bytes)
            | Header::AuthResponse(bytes)
            | Header::WanUuid(bytes)
            | Header::ObjectClass(bytes)
            | Header::SessionParameters(bytes) => write!(f, "{}", printable(bytes)),
            Header::Other(raw) => write!(f, "{}", hex(&raw.value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(header: Header, wire: &[u8]) {
        let mut out = Vec::new();
        header.encode_into(&mut out).expect("encodes");
        assert_eq!(out, wire, "encoding of {header:?}");
        assert_eq!(header.encoded_len(), wire.len());
        let (decoded, used) = Header::decode(wire, 0).expect("decodes");
        assert_eq!(decoded, header);
        assert_eq!(used, wire.len());
    }

    #[test]
    fn unicode_headers_are_nul_terminated_utf16be() {
        round_trip(
            Header::Name(Some("a.vcf".into())),
            &[
                0x01, 0x00, 0x0F, 0, b'a', 0, b'.', 0, b'v', 0, b'c', 0, b'f', 0, 0,
            ],
        );
        round_trip(Header::Name(None), &[0x01, 0x00, 0x03]);
        round_trip(Header::Name(Some(String::new())), &[0x01, 0x00, 0x05, 0, 0]);
        round_trip(
            Header::Description(Some("é€".into())),
            &[0x05, 0x00, 0x09, 0x00, 0xE9, 0x20, 0xAC, 0, 0],
        );
        // A non-BMP character takes a surrogate pair.
        round_trip(
            Header::Name(Some("\u{1F600}".into())),
            &[0x01, 0x00, 0x09, 0xD8, 0x3D, 0xDE, 0x00, 0, 0],
        );
    }

    #[test]
    fn unicode_header_without_terminator_is_tolerated() {
        let (header, used) = Header::decode(&[0x01, 0x00, 0x05, 0, b'x'], 0).expect("decodes");
        assert_eq!(header, Header::Name(Some("x".into())));
        assert_eq!(used, 5);
    }

    #[test]
    fn byte_sequence_headers_carry_a_two_byte_length() {
        round_trip(
            Header::Type(b"text/x-vcard".to_vec()),
            &[
                0x42, 0x00, 0x10, b't', b'e', b'x', b't', b'/', b'x', b'-', b'v', b'c', b'a', b'r',
                b'd', 0,
            ],
        );
        round_trip(
            Header::Target(b"SYNCML-SYNC".to_vec()),
            b"\x46\x00\x0eSYNCML-SYNC",
        );
        round_trip(
            Header::Who(b"SYNCML-SYNC".to_vec()),
            b"\x4a\x00\x0eSYNCML-SYNC",
        );
        round_trip(Header::Body(vec![1, 2, 3]), &[0x48, 0, 6, 1, 2, 3]);
        round_trip(Header::EndOfBody(vec![]), &[0x49, 0, 3]);
        round_trip(Header::TimeIso8601(b"20050101T120000Z".to_vec()), &{
            let mut wire = vec![0x44, 0, 19];
            wire.extend_from_slice(b"20050101T120000Z");
            wire
        });
        round_trip(Header::Http(vec![9]), &[0x47, 0, 4, 9]);
        round_trip(Header::AppParameters(vec![1, 1, 0]), &[0x4C, 0, 6, 1, 1, 0]);
        round_trip(Header::AuthChallenge(vec![0, 0]), &[0x4D, 0, 5, 0, 0]);
        round_trip(Header::AuthResponse(vec![1]), &[0x4E, 0, 4, 1]);
        round_trip(Header::WanUuid(vec![7; 16]), &{
            let mut wire = vec![0x50, 0, 19];
            wire.extend_from_slice(&[7; 16]);
            wire
        });
        round_trip(Header::ObjectClass(b"x".to_vec()), &[0x51, 0, 4, b'x']);
        round_trip(
            Header::SessionParameters(vec![5, 1, 0]),
            &[0x52, 0, 6, 5, 1, 0],
        );
    }

    #[test]
    fn one_byte_and_four_byte_headers() {
        round_trip(Header::SessionSequenceNumber(7), &[0x93, 7]);
        round_trip(Header::Count(3), &[0xC0, 0, 0, 0, 3]);
        round_trip(Header::Length(0x0102_0304), &[0xC3, 1, 2, 3, 4]);
        round_trip(Header::Time4Byte(1), &[0xC4, 0, 0, 0, 1]);
        round_trip(Header::ConnectionId(1), &[0xCB, 0, 0, 0, 1]);
        round_trip(
            Header::CreatorId(0x4142_4344),
            &[0xCF, 0x41, 0x42, 0x43, 0x44],
        );
    }

    #[test]
    fn unknown_and_user_defined_headers_are_kept_raw() {
        for (wire, header_id) in [
            (vec![0x30, 0, 5, 0, b'a'], 0x30),
            (vec![0x70, 0, 4, 0xAA], 0x70),
            (vec![0xB0, 0x55], 0xB0),
            (vec![0xF0, 1, 2, 3, 4], 0xF0),
            (vec![0x97, 0x01], 0x97),
        ] {
            let (header, used) = Header::decode(&wire, 0).expect("decodes");
            assert_eq!(header.id(), header_id);
            assert!(matches!(header, Header::Other(_)));
            assert_eq!(used, wire.len());
            let mut out = Vec::new();
            header.encode_into(&mut out).expect("encodes");
            assert_eq!(out, wire);
        }
    }

    #[test]
    fn raw_header_values_must_fit_their_encoding() {
        assert!(RawHeader::new(0xB0, vec![1, 2]).is_err());
        assert!(RawHeader::new(0xF0, vec![1]).is_err());
        assert!(RawHeader::new(0x30, vec![1]).is_err());
        assert!(RawHeader::new(0x70, vec![1]).is_ok());
    }

    #[test]
    fn header_errors_say_what_and_where() {
        let error = Header::decode(&[0x42, 0x00, 0x02], 10).expect_err("too short");
        assert_eq!(error.offset, 11);
        assert!(error
            .to_string()
            .contains("header 0x42 length 2 is shorter than its 3-byte prefix"));
        let error = Header::decode(&[0x48, 0x00, 0x09, 1, 2], 4).expect_err("truncated");
        assert_eq!(error.offset, 4);
        assert!(error.to_string().contains("packet ends inside header 0x48"));
        let error = Header::decode(&[0xCB, 0, 0], 0).expect_err("truncated");
        assert!(error.to_string().contains("packet ends inside header 0xCB"));
        let error = Header::decode(&[0x01, 0, 4, 0], 0).expect_err("odd");
        assert_eq!(
            error.kind,
            DecodeErrorKind::OddUnicodeLength { id: 1, length: 1 }
        );
        let error = Header::decode(&[0x01, 0, 5, 0xDC, 0x00], 0).expect_err("lone surrogate");
        assert_eq!(error.kind, DecodeErrorKind::InvalidUnicode { id: 1 });
    }

    #[test]
    fn oversized_values_are_refused_when_encoding() {
        let mut out = Vec::new();
        let error = Header::Body(vec![0; MAX_VARIABLE_VALUE + 1])
            .encode_into(&mut out)
            .expect_err("too long");
        assert!(matches!(
            error,
            EncodeError::HeaderValueDoesNotFit { id: 0x48, .. }
        ));
        assert!(Header::Body(vec![0; MAX_VARIABLE_VALUE])
            .encode_into(&mut out)
            .is_ok());
    }
}
