//! The WBXML header (version, public id, charset, string table) and the byte-level primitives
//! shared by the header and the body: multi-byte integers, inline strings, string-table lookups
//! and charset decoding.

use super::tokens;
use crate::markup::{DocumentType, MarkupError, Position};
use std::borrow::Cow;
use std::ops::Range;

/// The document's public identifier: a registered number, or a formal public identifier kept in
/// the string table (public id 0 followed by its index; Sony Ericsson phones do this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicId {
    Numeric(u32),
    Text(String),
}

impl PublicId {
    /// The SyncML document type this id names, if it names one.
    pub fn document_type(&self) -> Option<DocumentType> {
        match self {
            PublicId::Numeric(id) => tokens::document_type_of_numeric(*id),
            PublicId::Text(text) => tokens::document_type_of_text(text),
        }
    }
}

/// The character sets this codec reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 (MIBenum 106). US-ASCII (3) and "unknown" (0) are read as UTF-8 too.
    Utf8,
    /// ISO-8859-1 (MIBenum 4), used by Sony Ericsson phones.
    Latin1,
}

impl Charset {
    /// The IANA MIBenum written in the header.
    pub fn mib_enum(self) -> u32 {
        match self {
            Charset::Utf8 => 106,
            Charset::Latin1 => 4,
        }
    }

    fn from_mib_enum(mib: u32, at: usize) -> Result<Charset, MarkupError> {
        match mib {
            106 | 3 | 0 => Ok(Charset::Utf8),
            4 => Ok(Charset::Latin1),
            other => Err(MarkupError::new(
                Position::Byte(at),
                format!(
                    "charset MIBenum {other} is not supported \
                     (expected 106 UTF-8, 4 ISO-8859-1, 3 US-ASCII or 0 unknown)"
                ),
            )),
        }
    }
}

/// The decoded header of a WBXML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// 0x00 = WBXML 1.0, 0x01 = 1.1, 0x02 = 1.2, 0x03 = 1.3.
    pub wbxml_version: u8,
    pub public_id: PublicId,
    pub charset: Charset,
    /// Where the string table lies in the input.
    pub(crate) string_table: Range<usize>,
    /// Where the body (the first token after the string table) starts.
    pub(crate) body_start: usize,
}

/// The highest WBXML version byte this codec knows (1.3).
pub const MAX_WBXML_VERSION: u8 = 0x03;

impl Header {
    /// Parses the header at the start of `input`.
    pub fn parse(input: &[u8]) -> Result<Header, MarkupError> {
        let mut cursor = Cursor::new(input, 0);
        let wbxml_version = cursor.u8("the WBXML version byte")?;
        if wbxml_version > MAX_WBXML_VERSION {
            return Err(MarkupError::new(
                Position::Byte(0),
                format!(
                    "WBXML version byte 0x{wbxml_version:02x} is not 0x00..0x03 (WBXML 1.0 to 1.3)"
                ),
            ));
        }
        let numeric_id = cursor.mb_u_int32("the public id")?;
        let text_id_index = if numeric_id == 0 {
            Some((
                cursor.pos,
                cursor.mb_u_int32("the public id's string table index")?,
            ))
        } else {
            None
        };
        // WBXML 1.0 has no charset field; its documents are UTF-8 in practice.
        let charset = if wbxml_version == 0 {
            Charset::Utf8
        } else {
            let at = cursor.pos;
            let mib = cursor.mb_u_int32("the charset")?;
            Charset::from_mib_enum(mib, at)?
        };
        let length_at = cursor.pos;
        let length = cursor.mb_u_int32("the string table length")? as usize;
        let start = cursor.pos;
        if length > cursor.remaining() {
            return Err(MarkupError::new(
                Position::Byte(length_at),
                format!(
                    "string table length {length} exceeds the {} bytes left",
                    cursor.remaining()
                ),
            ));
        }
        let string_table = start..start + length;
        let public_id = match text_id_index {
            None => PublicId::Numeric(numeric_id),
            Some((at, index)) => {
                let table = &input[string_table.clone()];
                let raw = string_at(table, index, at)?;
                PublicId::Text(decode_text(raw, charset, at)?.into_owned())
            }
        };
        Ok(Header {
            wbxml_version,
            public_id,
            charset,
            body_start: string_table.end,
            string_table,
        })
    }

    /// The SyncML document type the public id names, if any.
    pub fn document_type(&self) -> Option<DocumentType> {
        self.public_id.document_type()
    }
}

/// A position in the input, with the reads WBXML needs. Every read checks bounds and says what
/// it expected when the input ends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(input: &'a [u8], pos: usize) -> Cursor<'a> {
        Cursor { input, pos }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    pub(crate) fn ended(&self, expected: &str) -> MarkupError {
        MarkupError::new(
            Position::Byte(self.pos),
            format!("input ended: expected {expected}"),
        )
    }

    pub(crate) fn u8(&mut self, expected: &str) -> Result<u8, MarkupError> {
        let byte = *self
            .input
            .get(self.pos)
            .ok_or_else(|| self.ended(expected))?;
        self.pos += 1;
        Ok(byte)
    }

    /// A WBXML multi-byte unsigned integer: 7 bits a byte, most significant first, continuation
    /// in bit 7; at most 5 bytes and 32 bits.
    pub(crate) fn mb_u_int32(&mut self, expected: &str) -> Result<u32, MarkupError> {
        let start = self.pos;
        let mut value: u32 = 0;
        for _ in 0..5 {
            let byte = self.u8(expected)?;
            if value > (u32::MAX >> 7) {
                return Err(MarkupError::new(
                    Position::Byte(start),
                    format!("multi-byte integer for {expected} overflows 32 bits"),
                ));
            }
            value = (value << 7) | u32::from(byte & 0x7F);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MarkupError::new(
            Position::Byte(start),
            format!("multi-byte integer for {expected} is longer than 5 bytes"),
        ))
    }

    /// `len` bytes, checked against what is left.
    pub(crate) fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], MarkupError> {
        if len > self.remaining() {
            return Err(MarkupError::new(
                Position::Byte(self.pos),
                format!(
                    "{what} length {len} exceeds the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    /// A NUL-terminated inline string (the NUL is consumed, not returned).
    pub(crate) fn inline_string(&mut self, what: &str) -> Result<&'a [u8], MarkupError> {
        let rest = self.input.get(self.pos..).unwrap_or(&[]);
        match memchr::memchr(0, rest) {
            Some(len) => {
                let bytes = &rest[..len];
                self.pos += len + 1;
                Ok(bytes)
            }
            None => Err(MarkupError::new(
                Position::Byte(self.pos),
                format!("input ended inside {what}: no terminating NUL"),
            )),
        }
    }
}

/// The NUL-terminated string at `index` in the string table (or up to the table's end). `at` is where the index was read,
/// for the error.
pub(crate) fn string_at(table: &[u8], index: u32, at: usize) -> Result<&[u8], MarkupError> {
    let start = index as usize;
    if start >= table.len() {
        return Err(MarkupError::new(
            Position::Byte(at),
            format!(
                "string table index {index} beyond its {} bytes",
                table.len()
            ),
        ));
    }
    let rest = &table[start..];
    match memchr::memchr(0, rest) {
        Some(len) => Ok(&rest[..len]),
        None => {
            // Some encoders (Horde's) leave the last string unterminated; the table's end
            // bounds it just as well.
            tracing::debug!(
                index,
                "string table string runs to the table's end without NUL"
            );
            Ok(rest)
        }
    }
}

/// Text in the document charset, as UTF-8: borrowed when it already is (all of UTF-8, ASCII-only
/// Latin-1), converted otherwise. `at` is the offset of the bytes, for the error.
pub(crate) fn decode_text(
    bytes: &[u8],
    charset: Charset,
    at: usize,
) -> Result<Cow<'_, str>, MarkupError> {
    match charset {
        Charset::Utf8 => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(e) => Err(MarkupError::new(
                Position::Byte(at + e.valid_up_to()),
                format!(
                    "invalid UTF-8 in a UTF-8 document (byte 0x{:02x})",
                    bytes[e.valid_up_to()]
                ),
            )),
        },
        Charset::Latin1 => {
            if bytes.is_ascii() {
                // ASCII is valid UTF-8: no copy.
                Ok(Cow::Borrowed(
                    std::str::from_utf8(bytes).unwrap_or_default(),
                ))
            } else {
                Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_public_id_with_charset() {
        let h = Header::parse(&[0x03, 0xA4, 0x01, 0x6A, 0x00, 0x6D]).unwrap();
        assert_eq!(h.wbxml_version, 3);
        assert_eq!(h.public_id, PublicId::Numeric(0x1201));
        assert_eq!(h.charset, Charset::Utf8);
        assert_eq!(h.body_start, 5);
        assert_eq!(
            h.document_type(),
            Some(DocumentType::SyncMl(crate::markup::Version::V1_2))
        );
    }

    #[test]
    fn text_public_id_from_the_string_table() {
        let mut doc = vec![0x01, 0x00, 0x00, 0x04];
        let id = b"-//SYNCML//DTD SyncML 1.1//EN\0";
        doc.push(id.len() as u8);
        doc.extend_from_slice(id);
        let h = Header::parse(&doc).unwrap();
        assert_eq!(h.wbxml_version, 1);
        assert_eq!(h.charset, Charset::Latin1);
        assert_eq!(
            h.public_id,
            PublicId::Text("-//SYNCML//DTD SyncML 1.1//EN".into())
        );
        assert_eq!(
            h.document_type(),
            Some(DocumentType::SyncMl(crate::markup::Version::V1_1))
        );
    }

    #[test]
    fn wbxml_1_0_has_no_charset() {
        // Version 0, public id 0x0FD2, string table length 0, then the body.
        let h = Header::parse(&[0x00, 0x9F, 0x52, 0x00, 0x4A]).unwrap();
        assert_eq!(h.wbxml_version, 0);
        assert_eq!(h.public_id, PublicId::Numeric(0x0FD2));
        assert_eq!(h.charset, Charset::Utf8);
        assert_eq!(h.body_start, 4);
    }

    #[test]
    fn us_ascii_and_unknown_charsets_read_as_utf8() {
        for mib in [3u8, 0] {
            let h = Header::parse(&[0x02, 0x9F, 0x53, mib, 0x00]).unwrap();
            assert_eq!(h.charset, Charset::Utf8);
        }
    }

    #[test]
    fn header_errors_say_where_and_what() {
        let e = Header::parse(&[0x07]).unwrap_err();
        assert_eq!(e.position, Position::Byte(0));
        assert!(e.message.contains("0x07"), "{e}");

        let e = Header::parse(&[0x02, 0x9F, 0x53, 0x83, 0x71, 0x00]).unwrap_err();
        assert_eq!(e.position, Position::Byte(3));
        assert!(e.message.contains("MIBenum 497"), "{e}");

        let e = Header::parse(&[0x02, 0x9F, 0x53, 0x6A, 0x28, b'a']).unwrap_err();
        assert_eq!(e.position, Position::Byte(4));
        assert!(
            e.message
                .contains("string table length 40 exceeds the 1 bytes left"),
            "{e}"
        );

        let e = Header::parse(&[0x02, 0x00, 0x4D, 0x6A, 0x02, b'a', 0]).unwrap_err();
        assert_eq!(e.position, Position::Byte(2));
        assert!(
            e.message
                .contains("string table index 77 beyond its 2 bytes"),
            "{e}"
        );

        let e = Header::parse(&[0x02, 0x9F]).unwrap_err();
        assert_eq!(e.position, Position::Byte(2));
        assert!(e.message.contains("public id"), "{e}");
    }

    #[test]
    fn multi_byte_integers_are_bounded() {
        let mut c = Cursor::new(&[0x8F, 0xFF, 0xFF, 0xFF, 0x7F], 0);
        assert_eq!(c.mb_u_int32("x").unwrap(), u32::MAX);
        let mut c = Cursor::new(&[0x90, 0x80, 0x80, 0x80, 0x00], 0);
        assert!(c.mb_u_int32("x").unwrap_err().message.contains("overflows"));
        let mut c = Cursor::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 0);
        assert!(c.mb_u_int32("x").unwrap_err().message.contains("5 bytes"));
    }

    #[test]
    fn latin1_text_becomes_utf8() {
        assert_eq!(
            decode_text(b"M\xfcller", Charset::Latin1, 0).unwrap(),
            "Müller"
        );
        assert!(matches!(
            decode_text(b"plain", Charset::Latin1, 0).unwrap(),
            Cow::Borrowed(_)
        ));
        let e = decode_text(b"ab\xff", Charset::Utf8, 10).unwrap_err();
        assert_eq!(e.position, Position::Byte(12));
    }
}
