//! The Information Access Service (IrLMP 1.1, chapter 4): the directory every IrDA station
//! serves on LSAP 0, where a peer looks up which LSAP a service listens on (class "OBEX",
//! attribute "IrDA:TinyTP:LsapSel") before connecting to it.
//!
//! - [`GetValueByClass`] and [`IasResponse`]: the one operation every station must serve,
//!   and its result, as message bodies;
//! - [`IasValue`]: the four attribute types on the air;
//! - [`IasDatabase`]: the objects this station announces;
//! - [`ServerSession`] and [`ClientSession`]: one IAS connection's protocol state, with
//!   messages larger than a frame split and acknowledged frame by frame (the LST and ACK
//!   bits). [`crate::irda::lmp::Lmp`] drives both over its LSAP connections.

mod session;

#[cfg(test)]
mod tests;

pub use session::{ClientSession, ClientStep, ServerSession};

use std::fmt;

use crate::irda::lmp::DisconnectReason;

/// Control byte bit: this frame is the last of its message.
pub const LAST_FRAME: u8 = 0x80;
/// Control byte bit: this frame acknowledges a frame that was not the last.
pub const ACK: u8 = 0x40;
/// Control byte bits holding the operation.
pub const OPCODE_MASK: u8 = 0x3F;
/// The GetValueByClass operation.
pub const GET_VALUE_BY_CLASS: u8 = 0x04;

/// Class and attribute names are at most 60 octets (IrLMP 1.1, 4.3).
pub const MAX_NAME_LEN: usize = 60;
/// Octet sequence attributes are at most 1024 octets (IrLMP 1.1, 4.3).
pub const MAX_OCTET_SEQUENCE_LEN: usize = 1024;
/// User strings carry a one-byte length.
pub const MAX_USER_STRING_LEN: usize = 255;
/// The most we reassemble of a message split over frames. A request is at most 123 bytes;
/// an answer this long already holds dozens of objects.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The return codes of an IAS result.
pub mod return_code {
    pub const SUCCESS: u8 = 0x00;
    pub const NO_SUCH_CLASS: u8 = 0x01;
    pub const NO_SUCH_ATTRIBUTE: u8 = 0x02;
    pub const ATTRIBUTE_LIST_TOO_LONG: u8 = 0x03;
    pub const UNSUPPORTED: u8 = 0xFF;
}

/// The character sets a user string names.
pub mod charset {
    pub const ASCII: u8 = 0x00;
    pub const ISO_8859_1: u8 = 0x01;
    pub const UNICODE: u8 = 0xFF;
}

/// The standard names a station registers.
pub mod names {
    pub const DEVICE_CLASS: &str = "Device";
    pub const DEVICE_NAME: &str = "DeviceName";
    pub const IRLMP_SUPPORT: &str = "IrLMPSupport";
    pub const OBEX_CLASS: &str = "OBEX";
    pub const TINYTP_LSAP_SEL: &str = "IrDA:TinyTP:LsapSel";
}

/// IrLMP version 1.1 (0x01), no optional IAS operations, no optional LM-MUX features.
pub const IRLMP_SUPPORT_VALUE: [u8; 3] = [0x01, 0x00, 0x00];

const TYPE_MISSING: u8 = 0x00;
const TYPE_INTEGER: u8 = 0x01;
const TYPE_OCTET_SEQUENCE: u8 = 0x02;
const TYPE_USER_STRING: u8 = 0x03;

/// An attribute value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IasValue {
    /// No value (what a failed lookup carries on some stacks).
    Missing,
    /// 4 bytes big-endian on the air.
    Integer(i32),
    /// Up to [`MAX_OCTET_SEQUENCE_LEN`] bytes, 2-byte length on the air.
    OctetSequence(Vec<u8>),
    /// Up to [`MAX_USER_STRING_LEN`] bytes in the named [`charset`].
    UserString { charset: u8, bytes: Vec<u8> },
}

impl IasValue {
    /// An ASCII user string (non-ASCII characters are replaced by '?', as the charset says).
    pub fn ascii(text: &str) -> IasValue {
        let bytes = text
            .chars()
            .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
            .collect();
        IasValue::UserString {
            charset: charset::ASCII,
            bytes,
        }
    }

    /// Whether the value fits its on-air encoding.
    fn check(&self) -> Result<(), IasDatabaseError> {
        match self {
            IasValue::OctetSequence(bytes) if bytes.len() > MAX_OCTET_SEQUENCE_LEN => {
                Err(IasDatabaseError::ValueTooLong { len: bytes.len() })
            }
            IasValue::UserString { bytes, .. } if bytes.len() > MAX_USER_STRING_LEN => {
                Err(IasDatabaseError::ValueTooLong { len: bytes.len() })
            }
            _ => Ok(()),
        }
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            IasValue::Missing => out.push(TYPE_MISSING),
            IasValue::Integer(value) => {
                out.push(TYPE_INTEGER);
                out.extend_from_slice(&value.to_be_bytes());
            }
            IasValue::OctetSequence(bytes) => {
                out.push(TYPE_OCTET_SEQUENCE);
                out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
                out.extend_from_slice(bytes);
            }
            IasValue::UserString { charset, bytes } => {
                out.push(TYPE_USER_STRING);
                out.push(*charset);
                out.push(bytes.len() as u8);
                out.extend_from_slice(bytes);
            }
        }
    }

    /// Decodes one value at `reader`'s position.
    fn decode(reader: &mut Reader<'_>) -> Result<IasValue, IasDecodeError> {
        let type_offset = reader.offset;
        match reader.byte("value type")? {
            TYPE_MISSING => Ok(IasValue::Missing),
            TYPE_INTEGER => {
                let bytes = reader.take(4, "integer value")?;
                Ok(IasValue::Integer(i32::from_be_bytes([
                    bytes[0], bytes[1], bytes[2], bytes[3],
                ])))
            }
            TYPE_OCTET_SEQUENCE => {
                let len_offset = reader.offset;
                let len = reader.u16("octet sequence length")? as usize;
                if len > MAX_OCTET_SEQUENCE_LEN {
                    return Err(IasDecodeError::new(
                        len_offset,
                        IasDecodeErrorKind::OctetSequenceTooLong { len },
                    ));
                }
                Ok(IasValue::OctetSequence(
                    reader.take(len, "octet sequence")?.to_vec(),
                ))
            }
            TYPE_USER_STRING => {
                let charset = reader.byte("user string charset")?;
                let len = reader.byte("user string length")? as usize;
                let bytes = reader.take(len, "user string")?.to_vec();
                Ok(IasValue::UserString { charset, bytes })
            }
            value_type => Err(IasDecodeError::new(
                type_offset,
                IasDecodeErrorKind::UnknownValueType { value_type },
            )),
        }
    }
}

/// One object's value in a result.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IasEntry {
    pub object_id: u16,
    pub value: IasValue,
}

/// A GetValueByClass request: which attribute of which class of objects.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GetValueByClass {
    pub class: Vec<u8>,
    pub attribute: Vec<u8>,
}

impl GetValueByClass {
    pub fn new(class: &str, attribute: &str) -> Result<GetValueByClass, IasDatabaseError> {
        check_name(class)?;
        check_name(attribute)?;
        Ok(GetValueByClass {
            class: class.as_bytes().to_vec(),
            attribute: attribute.as_bytes().to_vec(),
        })
    }

    /// The message body (what follows the control byte): each name with a length byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.class.len() + self.attribute.len());
        out.push(self.class.len() as u8);
        out.extend_from_slice(&self.class);
        out.push(self.attribute.len() as u8);
        out.extend_from_slice(&self.attribute);
        out
    }

    /// Offsets in errors count from the start of `body`.
    pub fn decode(body: &[u8]) -> Result<GetValueByClass, IasDecodeError> {
        let mut reader = Reader::new(body);
        let class = reader.name("class name")?;
        let attribute = reader.name("attribute name")?;
        reader.finish()?;
        Ok(GetValueByClass { class, attribute })
    }
}

/// The result of a GetValueByClass.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IasResponse {
    /// The attribute of every object of the class that has it.
    Success(Vec<IasEntry>),
    NoSuchClass,
    NoSuchAttribute,
    /// Any other return code (e.g. 0xFF: operation unsupported).
    Failed(u8),
}

impl IasResponse {
    /// The message body (what follows the control byte).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            IasResponse::Success(entries) => {
                let mut out = vec![return_code::SUCCESS];
                out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
                for entry in entries {
                    out.extend_from_slice(&entry.object_id.to_be_bytes());
                    entry.value.encode_into(&mut out);
                }
                out
            }
            IasResponse::NoSuchClass => vec![return_code::NO_SUCH_CLASS],
            IasResponse::NoSuchAttribute => vec![return_code::NO_SUCH_ATTRIBUTE],
            IasResponse::Failed(code) => vec![*code],
        }
    }

    /// Offsets in errors count from the start of `body`. A failure may carry a list (some
    /// stacks send a Missing value with it): it is ignored.
    pub fn decode(body: &[u8]) -> Result<IasResponse, IasDecodeError> {
        let mut reader = Reader::new(body);
        match reader.byte("return code")? {
            return_code::SUCCESS => {
                let count = reader.u16("list length")?;
                let mut entries = Vec::new();
                for _ in 0..count {
                    let object_id = reader.u16("object identifier")?;
                    let value = IasValue::decode(&mut reader)?;
                    entries.push(IasEntry { object_id, value });
                }
                reader.finish()?;
                Ok(IasResponse::Success(entries))
            }
            return_code::NO_SUCH_CLASS => Ok(IasResponse::NoSuchClass),
            return_code::NO_SUCH_ATTRIBUTE => Ok(IasResponse::NoSuchAttribute),
            code => Ok(IasResponse::Failed(code)),
        }
    }
}

/// An IAS frame's control byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FrameControl {
    pub last: bool,
    pub ack: bool,
    pub opcode: u8,
}

impl FrameControl {
    pub fn from_byte(byte: u8) -> FrameControl {
        FrameControl {
            last: byte & LAST_FRAME != 0,
            ack: byte & ACK != 0,
            opcode: byte & OPCODE_MASK,
        }
    }

    pub fn to_byte(self) -> u8 {
        (if self.last { LAST_FRAME } else { 0 })
            | (if self.ack { ACK } else { 0 })
            | (self.opcode & OPCODE_MASK)
    }
}

/// Splits a message body into frames of at most `max_frame` bytes (control byte included),
/// LST set on the last. An empty body is one frame holding only the control byte.
pub fn split_frames(opcode: u8, body: &[u8], max_frame: usize) -> Vec<Vec<u8>> {
    let chunk = max_frame.max(2) - 1;
    let mut frames: Vec<Vec<u8>> = body
        .chunks(chunk)
        .map(|part| {
            let mut frame = Vec::with_capacity(part.len() + 1);
            frame.push(opcode & OPCODE_MASK);
            frame.extend_from_slice(part);
            frame
        })
        .collect();
    if frames.is_empty() {
        frames.push(vec![opcode & OPCODE_MASK]);
    }
    if let Some(last) = frames.last_mut() {
        last[0] |= LAST_FRAME;
    }
    frames
}

/// The frame acknowledging a non-last frame of `opcode`.
pub fn ack_frame(opcode: u8) -> Vec<u8> {
    vec![LAST_FRAME | ACK | (opcode & OPCODE_MASK)]
}

/// One object of the database.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IasObject {
    pub id: u16,
    pub class: String,
    pub attributes: Vec<(String, IasValue)>,
}

/// The objects this station announces. Lookups compare names octet by octet, as peers send
/// them.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct IasDatabase {
    objects: Vec<IasObject>,
    next_id: u16,
}

impl IasDatabase {
    pub fn new() -> IasDatabase {
        IasDatabase::default()
    }

    /// The database every station serves: class "Device" with "DeviceName" (ASCII) and
    /// "IrLMPSupport".
    pub fn with_device(device_name: &str) -> IasDatabase {
        let mut database = IasDatabase::new();
        let device = database
            .add_object(names::DEVICE_CLASS)
            .expect("the device class name is short");
        let mut name = IasValue::ascii(device_name);
        if let IasValue::UserString { bytes, .. } = &mut name {
            bytes.truncate(MAX_USER_STRING_LEN);
        }
        database
            .set_attribute(device, names::DEVICE_NAME, name)
            .expect("the device object exists and the name was truncated to fit");
        database
            .set_attribute(
                device,
                names::IRLMP_SUPPORT,
                IasValue::OctetSequence(IRLMP_SUPPORT_VALUE.to_vec()),
            )
            .expect("the device object exists");
        database
    }

    /// Announces a TinyTP service (e.g. class "OBEX") listening on `lsap`; returns its object.
    pub fn add_tinytp_service(&mut self, class: &str, lsap: u8) -> Result<u16, IasDatabaseError> {
        let object = self.add_object(class)?;
        self.set_attribute(
            object,
            names::TINYTP_LSAP_SEL,
            IasValue::Integer(lsap.into()),
        )?;
        Ok(object)
    }

    /// Adds an object of `class` with no attributes; returns its identifier.
    pub fn add_object(&mut self, class: &str) -> Result<u16, IasDatabaseError> {
        check_name(class)?;
        if self.objects.len() > usize::from(u16::MAX) {
            return Err(IasDatabaseError::Full);
        }
        let mut id = self.next_id;
        while self.objects.iter().any(|object| object.id == id) {
            id = id.wrapping_add(1);
        }
        self.next_id = id.wrapping_add(1);
        self.objects.push(IasObject {
            id,
            class: class.to_owned(),
            attributes: Vec::new(),
        });
        Ok(id)
    }

    /// Sets (adds or replaces) an attribute of an object.
    pub fn set_attribute(
        &mut self,
        object_id: u16,
        name: &str,
        value: IasValue,
    ) -> Result<(), IasDatabaseError> {
        check_name(name)?;
        value.check()?;
        let object = self
            .objects
            .iter_mut()
            .find(|object| object.id == object_id)
            .ok_or(IasDatabaseError::NoSuchObject(object_id))?;
        match object
            .attributes
            .iter_mut()
            .find(|(known, _)| known == name)
        {
            Some((_, slot)) => *slot = value,
            None => object.attributes.push((name.to_owned(), value)),
        }
        Ok(())
    }

    pub fn remove_object(&mut self, object_id: u16) -> Option<IasObject> {
        let index = self.objects.iter().position(|o| o.id == object_id)?;
        Some(self.objects.remove(index))
    }

    pub fn objects(&self) -> &[IasObject] {
        &self.objects
    }

    /// Answers a GetValueByClass: every object of the class holding the attribute.
    pub fn get_value_by_class(&self, request: &GetValueByClass) -> IasResponse {
        let mut class_found = false;
        let mut entries = Vec::new();
        for object in &self.objects {
            if object.class.as_bytes() != request.class.as_slice() {
                continue;
            }
            class_found = true;
            let found = object
                .attributes
                .iter()
                .find(|(name, _)| name.as_bytes() == request.attribute.as_slice());
            if let Some((_, value)) = found {
                entries.push(IasEntry {
                    object_id: object.id,
                    value: value.clone(),
                });
            }
        }
        if !class_found {
            IasResponse::NoSuchClass
        } else if entries.is_empty() {
            IasResponse::NoSuchAttribute
        } else {
            IasResponse::Success(entries)
        }
    }
}

fn check_name(name: &str) -> Result<(), IasDatabaseError> {
    if name.len() > MAX_NAME_LEN {
        return Err(IasDatabaseError::NameTooLong { len: name.len() });
    }
    Ok(())
}

/// Why the database refused a change (or a query's names).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IasDatabaseError {
    NameTooLong { len: usize },
    ValueTooLong { len: usize },
    NoSuchObject(u16),
    Full,
}

impl fmt::Display for IasDatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IasDatabaseError::NameTooLong { len } => {
                write!(f, "IAS name of {len} bytes exceeds {MAX_NAME_LEN}")
            }
            IasDatabaseError::ValueTooLong { len } => {
                write!(f, "IAS value of {len} bytes does not fit its encoding")
            }
            IasDatabaseError::NoSuchObject(id) => write!(f, "no IAS object {id}"),
            IasDatabaseError::Full => write!(f, "the IAS database holds 65536 objects"),
        }
    }
}

impl std::error::Error for IasDatabaseError {}

/// What went wrong decoding an IAS message or frame.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IasDecodeErrorKind {
    Truncated {
        what: &'static str,
        needed: usize,
    },
    UnknownValueType {
        value_type: u8,
    },
    NameTooLong {
        len: usize,
    },
    OctetSequenceTooLong {
        len: usize,
    },
    TrailingBytes {
        len: usize,
    },
    EmptyFrame,
    /// A message split over frames grows past [`MAX_MESSAGE_LEN`].
    MessageTooLong {
        limit: usize,
    },
    /// A frame whose operation is not the one under way.
    UnexpectedOpcode {
        opcode: u8,
    },
    /// A frame where the protocol allows none (e.g. an answer while no query is out).
    UnexpectedFrame {
        control: u8,
    },
    /// A new request while our answer to the previous one is still being sent.
    RequestWhileAnswering,
}

/// An IAS decoding error with the byte offset where it was found (within the message body,
/// or 0 for frame-level errors).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IasDecodeError {
    pub offset: usize,
    pub kind: IasDecodeErrorKind,
}

impl IasDecodeError {
    fn new(offset: usize, kind: IasDecodeErrorKind) -> IasDecodeError {
        IasDecodeError { offset, kind }
    }
}

impl fmt::Display for IasDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IAS at offset {}: ", self.offset)?;
        match &self.kind {
            IasDecodeErrorKind::Truncated { what, needed } => {
                write!(f, "input ends inside {what} ({needed} bytes needed)")
            }
            IasDecodeErrorKind::UnknownValueType { value_type } => {
                write!(f, "unknown value type 0x{value_type:02X}")
            }
            IasDecodeErrorKind::NameTooLong { len } => {
                write!(f, "name of {len} bytes exceeds {MAX_NAME_LEN}")
            }
            IasDecodeErrorKind::OctetSequenceTooLong { len } => write!(
                f,
                "octet sequence of {len} bytes exceeds {MAX_OCTET_SEQUENCE_LEN}"
            ),
            IasDecodeErrorKind::TrailingBytes { len } => {
                write!(f, "{len} bytes after the end of the message")
            }
            IasDecodeErrorKind::EmptyFrame => write!(f, "empty frame"),
            IasDecodeErrorKind::MessageTooLong { limit } => {
                write!(f, "message split over frames exceeds {limit} bytes")
            }
            IasDecodeErrorKind::UnexpectedOpcode { opcode } => {
                write!(f, "frame for operation 0x{opcode:02X} not under way")
            }
            IasDecodeErrorKind::UnexpectedFrame { control } => {
                write!(f, "unexpected frame (control 0x{control:02X})")
            }
            IasDecodeErrorKind::RequestWhileAnswering => {
                write!(f, "new request before the previous answer was sent")
            }
        }
    }
}

impl std::error::Error for IasDecodeError {}

/// Why an IAS query gave no value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum IasError {
    NoSuchClass,
    NoSuchAttribute,
    /// Another return code from the peer.
    Failed(u8),
    /// The peer's answer could not be decoded.
    Malformed(IasDecodeError),
    /// No answer (or no IAS connection) in time.
    Timeout,
    /// The IAS connection (or the link) ended first.
    Disconnected(DisconnectReason),
}

impl fmt::Display for IasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IasError::NoSuchClass => write!(f, "no such IAS class"),
            IasError::NoSuchAttribute => write!(f, "no such IAS attribute"),
            IasError::Failed(code) => write!(f, "IAS query failed with code 0x{code:02X}"),
            IasError::Malformed(error) => write!(f, "malformed IAS answer: {error}"),
            IasError::Timeout => write!(f, "no IAS answer in time"),
            IasError::Disconnected(reason) => write!(f, "IAS connection ended: {reason}"),
        }
    }
}

impl std::error::Error for IasError {}

impl IasResponse {
    /// The answer as a query result.
    pub fn into_result(self) -> Result<Vec<IasEntry>, IasError> {
        match self {
            IasResponse::Success(entries) => Ok(entries),
            IasResponse::NoSuchClass => Err(IasError::NoSuchClass),
            IasResponse::NoSuchAttribute => Err(IasError::NoSuchAttribute),
            IasResponse::Failed(code) => Err(IasError::Failed(code)),
        }
    }
}

/// A cursor over a message body; errors carry the offset of the field that failed.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, offset: 0 }
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], IasDecodeError> {
        let rest = &self.bytes[self.offset..];
        if rest.len() < len {
            return Err(IasDecodeError::new(
                self.offset,
                IasDecodeErrorKind::Truncated { what, needed: len },
            ));
        }
        self.offset += len;
        Ok(&rest[..len])
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, IasDecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, IasDecodeError> {
        let bytes = self.take(2, what)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn name(&mut self, what: &'static str) -> Result<Vec<u8>, IasDecodeError> {
        let len_offset = self.offset;
        let len = self.byte(what)? as usize;
        if len > MAX_NAME_LEN {
            return Err(IasDecodeError::new(
                len_offset,
                IasDecodeErrorKind::NameTooLong { len },
            ));
        }
        Ok(self.take(len, what)?.to_vec())
    }

    fn finish(&self) -> Result<(), IasDecodeError> {
        let len = self.bytes.len() - self.offset;
        if len > 0 {
            return Err(IasDecodeError::new(
                self.offset,
                IasDecodeErrorKind::TrailingBytes { len },
            ));
        }
        Ok(())
    }
}
