//! The Service Discovery Protocol, as much as syncing needs, sans-IO: the client side of one
//! ServiceSearchAttribute transaction (Bluetooth Core, Vol 3, Part B, 4.7), the data elements
//! its answer is made of, what a record says about reaching a service over RFCOMM, and the
//! XML form BlueZ takes for a record we publish.
//!
//! BlueZ serves SDP for us (the records of registered profiles); looking a service up on a
//! phone is ours, as a phone does it: one L2CAP channel to PSM 1, a request, answers chained
//! by continuation state until the attribute lists are whole.

use std::fmt;

/// The L2CAP PSM of SDP.
pub const SDP_PSM: u16 = 1;

/// Attribute IDs we read.
const ATTR_SERVICE_CLASS_IDS: u16 = 0x0001;
const ATTR_PROTOCOL_DESCRIPTORS: u16 = 0x0004;
/// ServiceName at the primary language base (0x0100 + 0x0000).
const ATTR_SERVICE_NAME: u16 = 0x0100;

/// Protocol UUIDs (16-bit forms, in the Bluetooth base UUID).
const PROTOCOL_L2CAP: u16 = 0x0100;
const PROTOCOL_RFCOMM: u16 = 0x0003;
const PROTOCOL_OBEX: u16 = 0x0008;

const PDU_ERROR_RESPONSE: u8 = 0x01;
const PDU_SERVICE_SEARCH_ATTRIBUTE_REQUEST: u8 = 0x06;
const PDU_SERVICE_SEARCH_ATTRIBUTE_RESPONSE: u8 = 0x07;

/// The Bluetooth base UUID's last 96 bits: a 16- or 32-bit UUID `x` is
/// `0000xxxx-0000-1000-8000-00805F9B34FB`.
const BASE_UUID_TAIL: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0x80, 0x5F, 0x9B, 0x34, 0xFB,
];

/// A 128-bit UUID, big-endian as SDP carries it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid128(pub [u8; 16]);

impl Uuid128 {
    /// A 16- or 32-bit UUID widened with the base UUID.
    pub fn from_short(short: u32) -> Uuid128 {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&short.to_be_bytes());
        bytes[4..].copy_from_slice(&BASE_UUID_TAIL);
        Uuid128(bytes)
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (either case).
    pub fn parse(text: &str) -> Option<Uuid128> {
        let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
        if hex.len() != 32 || text.len() != 36 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).ok()?;
            bytes[i] = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Uuid128(bytes))
    }
}

impl fmt::Display for Uuid128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The SyncML Server service class (OMA DS, "PC Suite" side): phones look it up on the PC.
pub const SYNCML_SERVER: Uuid128 = Uuid128([
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0x02, 0xEE, 0x00, 0x00, 0x02,
]);
/// The SyncML Client service class: the PC looks it up on the phone to start a session.
pub const SYNCML_CLIENT: Uuid128 = Uuid128([
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0x02, 0xEE, 0x00, 0x00, 0x02,
]);

/// One SDP data element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataElement {
    Nil,
    Unsigned(u128),
    Signed(i128),
    Uuid(Uuid128),
    Text(Vec<u8>),
    Bool(bool),
    Sequence(Vec<DataElement>),
    Alternative(Vec<DataElement>),
    Url(Vec<u8>),
}

/// Why SDP bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdpError {
    /// The bytes end before the element or PDU they announce (at this offset).
    Truncated { at: usize },
    /// A data element header with a type or size descriptor SDP does not define.
    BadElement { at: usize, header: u8 },
    /// Elements nested deeper than any record needs (a hostile or broken peer).
    TooDeep { at: usize },
    /// The server answered with an Error PDU.
    ErrorResponse { code: u16 },
    /// A PDU other than the one the transaction waits for.
    UnexpectedPdu { id: u8 },
    /// The answer belongs to another transaction.
    WrongTransaction { expected: u16, got: u16 },
    /// The attribute lists are not the sequence of sequences SDP specifies.
    BadAttributeLists(&'static str),
    /// The server kept sending continuations beyond any sane size.
    TooLong,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpError::Truncated { at } => write!(f, "SDP data cut short at byte {at}"),
            SdpError::BadElement { at, header } => {
                write!(f, "unknown SDP data element 0x{header:02X} at byte {at}")
            }
            SdpError::TooDeep { at } => write!(f, "SDP sequences nested too deep at byte {at}"),
            SdpError::ErrorResponse { code } => write!(
                f,
                "the phone's SDP server answered error 0x{code:04X} ({})",
                match code {
                    0x0001 => "unsupported SDP version",
                    0x0002 => "invalid record handle",
                    0x0003 => "invalid request syntax",
                    0x0004 => "invalid PDU size",
                    0x0005 => "invalid continuation state",
                    0x0006 => "insufficient resources",
                    _ => "reserved code",
                }
            ),
            SdpError::UnexpectedPdu { id } => write!(f, "unexpected SDP PDU 0x{id:02X}"),
            SdpError::WrongTransaction { expected, got } => {
                write!(f, "SDP answer to transaction {got}, expected {expected}")
            }
            SdpError::BadAttributeLists(why) => write!(f, "SDP attribute lists: {why}"),
            SdpError::TooLong => f.write_str("SDP answer longer than 64 KiB"),
        }
    }
}

impl std::error::Error for SdpError {}

const MAX_DEPTH: usize = 8;

/// Reads one data element at the start of `bytes`; returns it and the bytes it took.
pub fn read_element(bytes: &[u8]) -> Result<(DataElement, usize), SdpError> {
    read_element_at(bytes, 0, 0)
}

fn read_element_at(
    bytes: &[u8],
    base: usize,
    depth: usize,
) -> Result<(DataElement, usize), SdpError> {
    let header = *bytes.first().ok_or(SdpError::Truncated { at: base })?;
    let kind = header >> 3;
    let size_index = header & 0x07;
    if kind > 8 {
        return Err(SdpError::BadElement { at: base, header });
    }
    let truncated = |need: usize| -> Result<(), SdpError> {
        if bytes.len() < need {
            Err(SdpError::Truncated {
                at: base + bytes.len(),
            })
        } else {
            Ok(())
        }
    };
    // Fixed sizes (index 0..4) or a length that follows (index 5..7).
    let (header_len, data_len) = match size_index {
        0..=4 => (1usize, 1usize << size_index),
        5 => {
            truncated(2)?;
            (2, bytes[1] as usize)
        }
        6 => {
            truncated(3)?;
            (3, u16::from_be_bytes([bytes[1], bytes[2]]) as usize)
        }
        _ => {
            truncated(5)?;
            (
                5,
                u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize,
            )
        }
    };
    let bad = SdpError::BadElement { at: base, header };
    if kind == 0 {
        // Nil has no data and only size index 0.
        return if size_index == 0 {
            Ok((DataElement::Nil, 1))
        } else {
            Err(bad)
        };
    }
    truncated(header_len + data_len)?;
    let data = &bytes[header_len..header_len + data_len];
    let element = match kind {
        1 | 2 => {
            if size_index > 4 {
                return Err(bad);
            }
            let mut value: u128 = 0;
            for byte in data {
                value = (value << 8) | u128::from(*byte);
            }
            if kind == 1 {
                DataElement::Unsigned(value)
            } else {
                // Sign-extend from the element's width.
                let bits = data.len() * 8;
                let shift = 128 - bits;
                DataElement::Signed(((value << shift) as i128) >> shift)
            }
        }
        3 => match data.len() {
            2 => DataElement::Uuid(Uuid128::from_short(u32::from(u16::from_be_bytes([
                data[0], data[1],
            ])))),
            4 => DataElement::Uuid(Uuid128::from_short(u32::from_be_bytes([
                data[0], data[1], data[2], data[3],
            ]))),
            16 if size_index == 4 => {
                let mut uuid = [0u8; 16];
                uuid.copy_from_slice(data);
                DataElement::Uuid(Uuid128(uuid))
            }
            _ => return Err(bad),
        },
        4 | 8 => {
            if size_index < 5 {
                return Err(bad);
            }
            if kind == 4 {
                DataElement::Text(data.to_vec())
            } else {
                DataElement::Url(data.to_vec())
            }
        }
        5 => {
            if size_index != 0 {
                return Err(bad);
            }
            DataElement::Bool(data[0] != 0)
        }
        6 | 7 => {
            if size_index < 5 {
                return Err(bad);
            }
            if depth >= MAX_DEPTH {
                return Err(SdpError::TooDeep { at: base });
            }
            let mut items = Vec::new();
            let mut offset = 0;
            while offset < data.len() {
                let (item, used) =
                    read_element_at(&data[offset..], base + header_len + offset, depth + 1)?;
                items.push(item);
                offset += used;
            }
            if kind == 6 {
                DataElement::Sequence(items)
            } else {
                DataElement::Alternative(items)
            }
        }
        _ => return Err(bad),
    };
    Ok((element, header_len + data_len))
}

/// Appends `element` in its shortest encoding.
pub fn write_element(element: &DataElement, out: &mut Vec<u8>) {
    fn sized(kind: u8, data: &[u8], out: &mut Vec<u8>) {
        match data.len() {
            len if len <= 0xFF => {
                out.push(kind << 3 | 5);
                out.push(len as u8);
            }
            len if len <= 0xFFFF => {
                out.push(kind << 3 | 6);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(kind << 3 | 7);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
        out.extend_from_slice(data);
    }
    fn integer(kind: u8, value: u128, out: &mut Vec<u8>) {
        let (index, width) = match value {
            v if v <= 0xFF => (0u8, 1usize),
            v if v <= 0xFFFF => (1, 2),
            v if v <= 0xFFFF_FFFF => (2, 4),
            v if v <= u128::from(u64::MAX) => (3, 8),
            _ => (4, 16),
        };
        out.push(kind << 3 | index);
        out.extend_from_slice(&value.to_be_bytes()[16 - width..]);
    }
    match element {
        DataElement::Nil => out.push(0),
        DataElement::Unsigned(value) => integer(1, *value, out),
        DataElement::Signed(value) => {
            let width: usize = if i8::try_from(*value).is_ok() {
                1
            } else if i16::try_from(*value).is_ok() {
                2
            } else if i32::try_from(*value).is_ok() {
                4
            } else if i64::try_from(*value).is_ok() {
                8
            } else {
                16
            };
            out.push(2 << 3 | width.trailing_zeros() as u8);
            out.extend_from_slice(&value.to_be_bytes()[16 - width..]);
        }
        DataElement::Uuid(uuid) => {
            if uuid.0[4..] == BASE_UUID_TAIL && uuid.0[..2] == [0, 0] {
                out.push(3 << 3 | 1);
                out.extend_from_slice(&uuid.0[2..4]);
            } else {
                out.push(3 << 3 | 4);
                out.extend_from_slice(&uuid.0);
            }
        }
        DataElement::Text(text) => sized(4, text, out),
        DataElement::Bool(value) => out.extend_from_slice(&[5 << 3, u8::from(*value)]),
        DataElement::Sequence(items) | DataElement::Alternative(items) => {
            let mut body = Vec::new();
            for item in items {
                write_element(item, &mut body);
            }
            let kind = if matches!(element, DataElement::Sequence(_)) {
                6
            } else {
                7
            };
            sized(kind, &body, out);
        }
        DataElement::Url(url) => sized(8, url, out),
    }
}

/// What a service record says about one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRecord {
    pub service_classes: Vec<Uuid128>,
    /// The RFCOMM server channel of its protocol stack.
    pub rfcomm_channel: Option<u8>,
    /// Whether OBEX runs on that channel (the SyncML records carry it).
    pub obex: bool,
    /// Its ServiceName, as the phone shows it.
    pub name: Option<String>,
}

impl ServiceRecord {
    /// Reads a record: the sequence of (attribute ID, value) pairs.
    pub fn from_attributes(attributes: &DataElement) -> Result<ServiceRecord, SdpError> {
        let DataElement::Sequence(items) = attributes else {
            return Err(SdpError::BadAttributeLists("a record is not a sequence"));
        };
        if items.len() % 2 != 0 {
            return Err(SdpError::BadAttributeLists(
                "an attribute ID without its value",
            ));
        }
        let mut record = ServiceRecord {
            service_classes: Vec::new(),
            rfcomm_channel: None,
            obex: false,
            name: None,
        };
        for pair in items.chunks(2) {
            let DataElement::Unsigned(id) = pair[0] else {
                return Err(SdpError::BadAttributeLists(
                    "an attribute ID that is not an unsigned integer",
                ));
            };
            let value = &pair[1];
            match u16::try_from(id) {
                Ok(ATTR_SERVICE_CLASS_IDS) => {
                    if let DataElement::Sequence(classes) = value {
                        record.service_classes = classes
                            .iter()
                            .filter_map(|class| match class {
                                DataElement::Uuid(uuid) => Some(*uuid),
                                _ => None,
                            })
                            .collect();
                    }
                }
                Ok(ATTR_PROTOCOL_DESCRIPTORS) => record.read_protocols(value),
                Ok(ATTR_SERVICE_NAME) => {
                    if let DataElement::Text(text) = value {
                        // Some stacks count the terminating NUL into the text.
                        let text = text.strip_suffix(&[0]).unwrap_or(text);
                        record.name = Some(String::from_utf8_lossy(text).into_owned());
                    }
                }
                _ => {}
            }
        }
        Ok(record)
    }

    /// ProtocolDescriptorList: a sequence of (protocol UUID, parameters...) sequences; some
    /// records put alternatives of such lists.
    fn read_protocols(&mut self, value: &DataElement) {
        let stacks: Vec<&Vec<DataElement>> = match value {
            DataElement::Sequence(stack) => vec![stack],
            DataElement::Alternative(stacks) => stacks
                .iter()
                .filter_map(|stack| match stack {
                    DataElement::Sequence(stack) => Some(stack),
                    _ => None,
                })
                .collect(),
            _ => return,
        };
        for stack in stacks {
            for layer in stack {
                let DataElement::Sequence(layer) = layer else {
                    continue;
                };
                match layer.as_slice() {
                    [DataElement::Uuid(protocol), DataElement::Unsigned(channel), ..]
                        if *protocol == Uuid128::from_short(u32::from(PROTOCOL_RFCOMM)) =>
                    {
                        self.rfcomm_channel = u8::try_from(*channel).ok();
                    }
                    [DataElement::Uuid(protocol), ..]
                        if *protocol == Uuid128::from_short(u32::from(PROTOCOL_OBEX)) =>
                    {
                        self.obex = true;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// One ServiceSearchAttribute transaction: a service class in, its records out.
///
/// ```text
/// let mut search = ServiceSearch::new(SYNCML_CLIENT, 1);
/// send(search.request());
/// loop { match search.handle_response(&receive())? {
///     SearchProgress::Continue(next) => send(next),
///     SearchProgress::Done(records) => break records,
/// } }
/// ```
#[derive(Debug)]
pub struct ServiceSearch {
    class: Uuid128,
    transaction: u16,
    max_bytes_per_answer: u16,
    collected: Vec<u8>,
}

/// What to do after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchProgress {
    /// Send this request (the same search, with the server's continuation state).
    Continue(Vec<u8>),
    /// The records the server holds for the class (none when it has no such service).
    Done(Vec<ServiceRecord>),
}

/// More than any phone's records for one class: a server feeding continuations forever is
/// cut off here.
const MAX_ATTRIBUTE_BYTES: usize = 64 * 1024;

impl ServiceSearch {
    /// `transaction` starts the transaction IDs (any value; each request takes the next).
    pub fn new(class: Uuid128, transaction: u16) -> ServiceSearch {
        ServiceSearch {
            class,
            transaction,
            // Small answers keep to the minimum L2CAP MTU (672) of the oldest phones.
            max_bytes_per_answer: 600,
            collected: Vec::new(),
        }
    }

    /// The first request.
    pub fn request(&self) -> Vec<u8> {
        self.encode_request(&[])
    }

    fn encode_request(&self, continuation: &[u8]) -> Vec<u8> {
        let mut parameters = Vec::new();
        write_element(
            &DataElement::Sequence(vec![DataElement::Uuid(self.class)]),
            &mut parameters,
        );
        parameters.extend_from_slice(&self.max_bytes_per_answer.to_be_bytes());
        // All attributes: one range 0x0000..0xFFFF as a 32-bit unsigned.
        parameters.extend_from_slice(&[0x35, 0x05, 0x0A, 0x00, 0x00, 0xFF, 0xFF]);
        parameters.push(continuation.len() as u8);
        parameters.extend_from_slice(continuation);
        let mut pdu = vec![PDU_SERVICE_SEARCH_ATTRIBUTE_REQUEST];
        pdu.extend_from_slice(&self.transaction.to_be_bytes());
        pdu.extend_from_slice(&(parameters.len() as u16).to_be_bytes());
        pdu.extend_from_slice(&parameters);
        pdu
    }

    /// Takes one answer PDU.
    pub fn handle_response(&mut self, pdu: &[u8]) -> Result<SearchProgress, SdpError> {
        if pdu.len() < 5 {
            return Err(SdpError::Truncated { at: pdu.len() });
        }
        let id = pdu[0];
        let transaction = u16::from_be_bytes([pdu[1], pdu[2]]);
        let length = u16::from_be_bytes([pdu[3], pdu[4]]) as usize;
        let parameters = pdu.get(5..5 + length).ok_or(SdpError::Truncated {
            at: pdu.len().min(5 + length),
        })?;
        if transaction != self.transaction {
            return Err(SdpError::WrongTransaction {
                expected: self.transaction,
                got: transaction,
            });
        }
        match id {
            PDU_ERROR_RESPONSE => {
                let code = parameters
                    .get(..2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                    .ok_or(SdpError::Truncated { at: 5 })?;
                return Err(SdpError::ErrorResponse { code });
            }
            PDU_SERVICE_SEARCH_ATTRIBUTE_RESPONSE => {}
            other => return Err(SdpError::UnexpectedPdu { id: other }),
        }
        let count = parameters
            .get(..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
            .ok_or(SdpError::Truncated { at: 5 })?;
        let lists = parameters
            .get(2..2 + count)
            .ok_or(SdpError::Truncated { at: 7 })?;
        let continuation_len = *parameters
            .get(2 + count)
            .ok_or(SdpError::Truncated { at: 7 + count })? as usize;
        let continuation = parameters
            .get(3 + count..3 + count + continuation_len)
            .ok_or(SdpError::Truncated { at: 8 + count })?;
        self.collected.extend_from_slice(lists);
        if self.collected.len() > MAX_ATTRIBUTE_BYTES {
            return Err(SdpError::TooLong);
        }
        if !continuation.is_empty() {
            self.transaction = self.transaction.wrapping_add(1);
            return Ok(SearchProgress::Continue(self.encode_request(continuation)));
        }
        let (lists, used) = read_element(&self.collected)?;
        if used != self.collected.len() {
            return Err(SdpError::BadAttributeLists(
                "bytes after the attribute lists",
            ));
        }
        let DataElement::Sequence(records) = lists else {
            return Err(SdpError::BadAttributeLists("not a sequence of records"));
        };
        records
            .iter()
            .map(ServiceRecord::from_attributes)
            .collect::<Result<Vec<_>, _>>()
            .map(SearchProgress::Done)
    }
}

/// The record BlueZ publishes for a service of ours (its XML form, for ProfileManager1's
/// ServiceRecord): the class, L2CAP + RFCOMM `channel` + OBEX, public browse group and a name.
pub fn obex_service_record_xml(class: Uuid128, channel: u8, name: &str) -> String {
    let escaped: String = name
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<record>
  <attribute id="0x{ATTR_SERVICE_CLASS_IDS:04x}">
    <sequence><uuid value="{class}" /></sequence>
  </attribute>
  <attribute id="0x{ATTR_PROTOCOL_DESCRIPTORS:04x}">
    <sequence>
      <sequence><uuid value="0x{PROTOCOL_L2CAP:04x}" /></sequence>
      <sequence><uuid value="0x{PROTOCOL_RFCOMM:04x}" /><uint8 value="0x{channel:02x}" /></sequence>
      <sequence><uuid value="0x{PROTOCOL_OBEX:04x}" /></sequence>
    </sequence>
  </attribute>
  <attribute id="0x0005">
    <sequence><uuid value="0x1002" /></sequence>
  </attribute>
  <attribute id="0x{ATTR_SERVICE_NAME:04x}">
    <text value="{escaped}" />
  </attribute>
</record>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid16(short: u16) -> DataElement {
        DataElement::Uuid(Uuid128::from_short(u32::from(short)))
    }

    /// A record as a phone's SDP server holds it.
    fn syncml_client_record(channel: u8, name: &str) -> DataElement {
        DataElement::Sequence(vec![
            DataElement::Unsigned(0x0000),
            DataElement::Unsigned(0x0001_0005),
            DataElement::Unsigned(0x0001),
            DataElement::Sequence(vec![DataElement::Uuid(SYNCML_CLIENT)]),
            DataElement::Unsigned(0x0004),
            DataElement::Sequence(vec![
                DataElement::Sequence(vec![uuid16(0x0100)]),
                DataElement::Sequence(vec![
                    uuid16(0x0003),
                    DataElement::Unsigned(u128::from(channel)),
                ]),
                DataElement::Sequence(vec![uuid16(0x0008)]),
            ]),
            DataElement::Unsigned(0x0100),
            DataElement::Text(format!("{name}\0").into_bytes()),
        ])
    }

    fn response(transaction: u16, lists: &[u8], continuation: &[u8]) -> Vec<u8> {
        let mut parameters = (lists.len() as u16).to_be_bytes().to_vec();
        parameters.extend_from_slice(lists);
        parameters.push(continuation.len() as u8);
        parameters.extend_from_slice(continuation);
        let mut pdu = vec![PDU_SERVICE_SEARCH_ATTRIBUTE_RESPONSE];
        pdu.extend_from_slice(&transaction.to_be_bytes());
        pdu.extend_from_slice(&(parameters.len() as u16).to_be_bytes());
        pdu.extend_from_slice(&parameters);
        pdu
    }

    #[test]
    fn uuids_print_and_parse() {
        assert_eq!(
            SYNCML_SERVER.to_string(),
            "00000001-0000-1000-8000-0002ee000002"
        );
        assert_eq!(
            Uuid128::parse("00000002-0000-1000-8000-0002EE000002"),
            Some(SYNCML_CLIENT)
        );
        assert_eq!(
            Uuid128::from_short(0x1002).to_string(),
            "00001002-0000-1000-8000-00805f9b34fb"
        );
        assert_eq!(Uuid128::parse("00000002-0000-1000-8000-0002EE00000"), None);
        assert_eq!(Uuid128::parse("0000000200001000800000020EE0000002xx"), None);
    }

    #[test]
    fn request_bytes_follow_the_specification() {
        let search = ServiceSearch::new(SYNCML_CLIENT, 0x0102);
        let request = search.request();
        let mut expected = vec![0x06, 0x01, 0x02, 0x00, 0x1D, 0x35, 0x11, 0x1C];
        expected.extend_from_slice(&SYNCML_CLIENT.0);
        expected.extend_from_slice(&[0x02, 0x58, 0x35, 0x05, 0x0A, 0x00, 0x00, 0xFF, 0xFF, 0x00]);
        assert_eq!(request, expected);
    }

    #[test]
    fn elements_round_trip() {
        let element = DataElement::Sequence(vec![
            DataElement::Nil,
            DataElement::Unsigned(7),
            DataElement::Unsigned(0x1_0000),
            DataElement::Signed(-2),
            DataElement::Signed(-40_000),
            DataElement::Bool(true),
            uuid16(0x1105),
            DataElement::Uuid(SYNCML_SERVER),
            DataElement::Text(vec![b'x'; 300]),
            DataElement::Alternative(vec![DataElement::Url(b"http://x".to_vec())]),
        ]);
        let mut bytes = Vec::new();
        write_element(&element, &mut bytes);
        assert_eq!(read_element(&bytes), Ok((element, bytes.len())));
    }

    #[test]
    fn a_record_split_over_three_answers_is_read_whole() {
        let mut lists = Vec::new();
        write_element(
            &DataElement::Sequence(vec![syncml_client_record(7, "SyncML Client")]),
            &mut lists,
        );
        let mut search = ServiceSearch::new(SYNCML_CLIENT, 40);
        let third = lists.len() / 3;
        let first = search
            .handle_response(&response(40, &lists[..third], &[0xAA, 0xBB]))
            .unwrap();
        let SearchProgress::Continue(next) = first else {
            panic!("expected a continuation request, got {first:?}");
        };
        // The next request carries the server's continuation state and a new transaction.
        assert_eq!(&next[1..3], &41u16.to_be_bytes());
        assert!(next.ends_with(&[0x02, 0xAA, 0xBB]));
        let second = search
            .handle_response(&response(41, &lists[third..2 * third], &[0x01]))
            .unwrap();
        assert!(matches!(second, SearchProgress::Continue(_)));
        let done = search
            .handle_response(&response(42, &lists[2 * third..], &[]))
            .unwrap();
        assert_eq!(
            done,
            SearchProgress::Done(vec![ServiceRecord {
                service_classes: vec![SYNCML_CLIENT],
                rfcomm_channel: Some(7),
                obex: true,
                name: Some("SyncML Client".into()),
            }])
        );
    }

    #[test]
    fn no_such_service_is_an_empty_list() {
        let mut search = ServiceSearch::new(SYNCML_CLIENT, 1);
        assert_eq!(
            search.handle_response(&response(1, &[0x35, 0x00], &[])),
            Ok(SearchProgress::Done(Vec::new()))
        );
    }

    #[test]
    fn bad_answers_say_what_is_wrong() {
        let mut search = ServiceSearch::new(SYNCML_CLIENT, 1);
        assert_eq!(
            search.handle_response(&[0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03]),
            Err(SdpError::ErrorResponse { code: 3 })
        );
        assert_eq!(
            search.handle_response(&response(9, &[0x35, 0x00], &[])),
            Err(SdpError::WrongTransaction {
                expected: 1,
                got: 9
            })
        );
        assert_eq!(
            search.handle_response(&[0x07, 0x00, 0x01, 0x00, 0x09, 0x00]),
            Err(SdpError::Truncated { at: 6 })
        );
        assert_eq!(
            read_element(&[0x35, 0x03, 0x09, 0x00]),
            Err(SdpError::Truncated { at: 4 })
        );
        assert_eq!(
            read_element(&[0xF8]),
            Err(SdpError::BadElement {
                at: 0,
                header: 0xF8
            })
        );
        let mut deep = vec![0x00];
        for _ in 0..20 {
            let mut outer = vec![0x35, deep.len() as u8];
            outer.extend_from_slice(&deep);
            deep = outer;
        }
        assert!(matches!(read_element(&deep), Err(SdpError::TooDeep { .. })));
    }

    #[test]
    fn any_bytes_give_an_answer_or_an_error() {
        // Every prefix and every single-byte change of a real answer: no panic.
        let mut lists = Vec::new();
        write_element(
            &DataElement::Sequence(vec![syncml_client_record(3, "Sync")]),
            &mut lists,
        );
        let pdu = response(1, &lists, &[]);
        for cut in 0..pdu.len() {
            let _ = ServiceSearch::new(SYNCML_CLIENT, 1).handle_response(&pdu[..cut]);
        }
        for at in 0..pdu.len() {
            for value in [0x00, 0x07, 0x35, 0x36, 0x37, 0xFF] {
                let mut changed = pdu.clone();
                changed[at] = value;
                let _ = ServiceSearch::new(SYNCML_CLIENT, 1).handle_response(&changed);
            }
        }
    }

    #[test]
    fn the_published_record_names_channel_and_obex() {
        let xml = obex_service_record_xml(SYNCML_SERVER, 26, "PC Suite <handsync>");
        assert!(xml.contains(r#"<uuid value="00000001-0000-1000-8000-0002ee000002" />"#));
        assert!(xml.contains(r#"<uint8 value="0x1a" />"#));
        assert!(xml.contains(r#"<uuid value="0x0008" />"#));
        assert!(xml.contains("PC Suite &lt;handsync&gt;"));
    }
}
