//! OBEX packets: opcode or response code, 2-byte length, the fields CONNECT and SETPATH
//! carry, then headers; and [`PacketReader`], which cuts a byte stream into packets.

use super::codes::{Opcode, ResponseCode};
use super::error::{DecodeError, DecodeErrorKind, EncodeError};
use super::header::{decode_headers, Header};

/// The OBEX version handsync speaks (1.0, as every phone of the era announces).
pub const OBEX_VERSION: u8 = 0x10;
/// The smallest maximum packet length OBEX allows a peer to announce.
pub const MIN_MAX_PACKET_LENGTH: u16 = 255;
/// Bytes before the headers: opcode or response code, then the 2-byte length.
pub const PACKET_PREFIX_LEN: usize = 3;

/// The fields after the length in a CONNECT request and its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectFields {
    /// OBEX version, major in the high nibble (0x10 is 1.0).
    pub version: u8,
    /// Flags; all reserved in OBEX 1.2 except bit 0 in responses (multiple connections).
    pub flags: u8,
    /// The largest packet the sender can receive.
    pub max_packet_length: u16,
}

impl ConnectFields {
    /// CONNECT fields with our version and no flags.
    pub fn new(max_packet_length: u16) -> Self {
        ConnectFields {
            version: OBEX_VERSION,
            flags: 0,
            max_packet_length,
        }
    }
}

/// The fields after the length in a SETPATH request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetPathFields {
    /// See [`super::codes::setpath_flags`].
    pub flags: u8,
    /// Reserved, sent as 0.
    pub constants: u8,
}

/// A request packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub opcode: Opcode,
    /// Present exactly when `opcode` is CONNECT.
    pub connect: Option<ConnectFields>,
    /// Present exactly when `opcode` is SETPATH.
    pub setpath: Option<SetPathFields>,
    pub headers: Vec<Header>,
}

/// A response packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub code: ResponseCode,
    /// Present in the response to a CONNECT (success or not: the fields are always there).
    pub connect: Option<ConnectFields>,
    pub headers: Vec<Header>,
}

/// What a response answers, since only that tells whether CONNECT fields follow the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTo {
    Connect,
    Other,
}

impl Response {
    /// The whole answer to a request the server will not serve, from the request's first
    /// byte: `code` with no headers, plus CONNECT fields when the request is a CONNECT (they
    /// come with every CONNECT response). What a server past its connection limit sends.
    pub fn refusal_to(request_first_byte: Option<u8>, code: ResponseCode) -> Vec<u8> {
        let connect = (request_first_byte.map(Opcode::from_byte) == Some(Opcode::Connect))
            .then(|| ConnectFields::new(MIN_MAX_PACKET_LENGTH));
        let response = Response {
            code,
            connect,
            headers: Vec::new(),
        };
        // No headers: always within the 2-byte length.
        response.encode().unwrap_or_default()
    }
}

impl Request {
    /// A request with headers and no CONNECT/SETPATH fields.
    pub fn new(opcode: Opcode, headers: Vec<Header>) -> Self {
        Request {
            opcode,
            connect: None,
            setpath: None,
            headers,
        }
    }

    /// A CONNECT request announcing `max_packet_length`.
    pub fn connect(max_packet_length: u16, headers: Vec<Header>) -> Self {
        Request {
            opcode: Opcode::Connect,
            connect: Some(ConnectFields::new(max_packet_length)),
            setpath: None,
            headers,
        }
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        PACKET_PREFIX_LEN
            + fields_len(self.opcode)
            + self.headers.iter().map(Header::encoded_len).sum::<usize>()
    }

    /// Encodes the packet; fails when it would not fit a 2-byte length.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut fields = Vec::with_capacity(4);
        match self.opcode {
            Opcode::Connect => {
                let connect = self
                    .connect
                    .unwrap_or(ConnectFields::new(MIN_MAX_PACKET_LENGTH));
                fields.extend_from_slice(&[connect.version, connect.flags]);
                fields.extend_from_slice(&connect.max_packet_length.to_be_bytes());
            }
            Opcode::SetPath => {
                let setpath = self.setpath.unwrap_or(SetPathFields {
                    flags: 0,
                    constants: 0,
                });
                fields.extend_from_slice(&[setpath.flags, setpath.constants]);
            }
            _ => {}
        }
        encode_packet(self.opcode.to_byte(), &fields, &self.headers)
    }

    /// Decodes exactly one request packet.
    pub fn decode(packet: &[u8]) -> Result<Request, DecodeError> {
        let (first, declared) = check_prefix(packet)?;
        let opcode = Opcode::from_byte(first);
        let fields_end = PACKET_PREFIX_LEN + fields_len(opcode);
        check_length(packet, declared, fields_end)?;
        let (connect, setpath) = match opcode {
            Opcode::Connect => (Some(connect_fields(packet)?), None),
            Opcode::SetPath => (
                None,
                Some(SetPathFields {
                    flags: packet[3],
                    constants: packet[4],
                }),
            ),
            _ => (None, None),
        };
        let headers = decode_headers(&packet[fields_end..], fields_end)?;
        Ok(Request {
            opcode,
            connect,
            setpath,
            headers,
        })
    }

    /// The first header with this id.
    pub fn header(&self, header_id: u8) -> Option<&Header> {
        self.headers.iter().find(|header| header.id() == header_id)
    }
}

impl Response {
    /// A response with headers and no CONNECT fields.
    pub fn new(code: ResponseCode, headers: Vec<Header>) -> Self {
        Response {
            code,
            connect: None,
            headers,
        }
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        PACKET_PREFIX_LEN
            + if self.connect.is_some() { 4 } else { 0 }
            + self.headers.iter().map(Header::encoded_len).sum::<usize>()
    }

    /// Encodes the packet; fails when it would not fit a 2-byte length.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut fields = Vec::with_capacity(4);
        if let Some(connect) = self.connect {
            fields.extend_from_slice(&[connect.version, connect.flags]);
            fields.extend_from_slice(&connect.max_packet_length.to_be_bytes());
        }
        encode_packet(self.code.to_byte(), &fields, &self.headers)
    }

    /// Decodes exactly one response packet. A CONNECT response always carries the version,
    /// flags and maximum length, even when it refuses.
    pub fn decode(packet: &[u8], answers: ResponseTo) -> Result<Response, DecodeError> {
        let (first, declared) = check_prefix(packet)?;
        let code = ResponseCode::from_byte(first);
        let fields_end = match answers {
            ResponseTo::Connect => PACKET_PREFIX_LEN + 4,
            ResponseTo::Other => PACKET_PREFIX_LEN,
        };
        // Some phones answer a failed CONNECT with a bare 3-byte packet; accept that.
        if answers == ResponseTo::Connect && declared == 3 && packet.len() == 3 {
            return Ok(Response::new(code, Vec::new()));
        }
        check_length(packet, declared, fields_end)?;
        let connect = match answers {
            ResponseTo::Connect => Some(connect_fields(packet)?),
            ResponseTo::Other => None,
        };
        let headers = decode_headers(&packet[fields_end..], fields_end)?;
        Ok(Response {
            code,
            connect,
            headers,
        })
    }

    /// The first header with this id.
    pub fn header(&self, header_id: u8) -> Option<&Header> {
        self.headers.iter().find(|header| header.id() == header_id)
    }
}

fn fields_len(opcode: Opcode) -> usize {
    match opcode {
        Opcode::Connect => 4,
        Opcode::SetPath => 2,
        _ => 0,
    }
}

fn encode_packet(first: u8, fields: &[u8], headers: &[Header]) -> Result<Vec<u8>, EncodeError> {
    let length =
        PACKET_PREFIX_LEN + fields.len() + headers.iter().map(Header::encoded_len).sum::<usize>();
    let Ok(declared) = u16::try_from(length) else {
        return Err(EncodeError::PacketTooLong {
            length,
            maximum: u16::MAX as usize,
        });
    };
    let mut out = Vec::with_capacity(length);
    out.push(first);
    out.extend_from_slice(&declared.to_be_bytes());
    out.extend_from_slice(fields);
    for header in headers {
        header.encode_into(&mut out)?;
    }
    Ok(out)
}

fn check_prefix(packet: &[u8]) -> Result<(u8, u16), DecodeError> {
    match packet {
        [first, high, low, ..] => Ok((*first, u16::from_be_bytes([*high, *low]))),
        _ => Err(DecodeError::new(
            packet.len(),
            DecodeErrorKind::Truncated {
                what: "the packet's code and length",
                needed: PACKET_PREFIX_LEN,
            },
        )),
    }
}

fn check_length(packet: &[u8], declared: u16, fields_end: usize) -> Result<(), DecodeError> {
    if (declared as usize) < fields_end {
        return Err(DecodeError::new(
            1,
            DecodeErrorKind::PacketLengthTooShort {
                declared,
                // fields_end is at most 7.
                minimum: fields_end as u16,
            },
        ));
    }
    if packet.len() != declared as usize {
        return Err(DecodeError::new(
            packet.len().min(declared as usize),
            DecodeErrorKind::PacketLengthMismatch {
                declared,
                actual: packet.len(),
            },
        ));
    }
    Ok(())
}

fn connect_fields(packet: &[u8]) -> Result<ConnectFields, DecodeError> {
    match packet {
        [_, _, _, version, flags, high, low, ..] => Ok(ConnectFields {
            version: *version,
            flags: *flags,
            max_packet_length: u16::from_be_bytes([*high, *low]),
        }),
        _ => Err(DecodeError::new(
            packet.len(),
            DecodeErrorKind::Truncated {
                what: "the CONNECT fields",
                needed: 7,
            },
        )),
    }
}

/// Cuts a byte stream into packets, holding at most one packet of at most `max_packet_length`
/// bytes. A packet that announces more is refused: its bytes are skipped as they arrive,
/// never buffered, so the stream stays in step.
#[derive(Debug)]
pub struct PacketReader {
    max_packet_length: u16,
    buffer: Vec<u8>,
    /// Bytes of a refused packet still to skip.
    skipping: usize,
    /// Offset in the stream of the first byte of the packet being read.
    stream_offset: usize,
    consumed_total: usize,
}

/// What [`PacketReader::read`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// More bytes are needed.
    NeedMore,
    /// A whole packet, as it came.
    Packet(Vec<u8>),
    /// A packet that cannot be accepted; its remaining bytes are being skipped when it
    /// announced a usable length, else the reader starts afresh with the next byte.
    Refused(DecodeError),
}

impl PacketReader {
    /// A reader accepting packets of up to `max_packet_length` bytes.
    pub fn new(max_packet_length: u16) -> Self {
        PacketReader {
            max_packet_length,
            buffer: Vec::new(),
            skipping: 0,
            stream_offset: 0,
            consumed_total: 0,
        }
    }

    /// The largest packet accepted.
    pub fn max_packet_length(&self) -> u16 {
        self.max_packet_length
    }

    /// Bytes held for the packet being read (never more than the maximum packet length).
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Whether the reader is in the middle of a packet.
    pub fn is_mid_packet(&self) -> bool {
        !self.buffer.is_empty() || self.skipping > 0
    }

    /// Takes bytes from the front of `input` up to the end of at most one packet; call again
    /// while `input` is not empty.
    pub fn read(&mut self, input: &mut &[u8]) -> ReadOutcome {
        if self.skipping > 0 {
            let skipped = self.skipping.min(input.len());
            self.skipping -= skipped;
            self.advance(input, skipped);
            if self.skipping > 0 {
                return ReadOutcome::NeedMore;
            }
            self.stream_offset = self.consumed_total;
        }
        if self.buffer.len() < PACKET_PREFIX_LEN {
            let wanted = (PACKET_PREFIX_LEN - self.buffer.len()).min(input.len());
            self.buffer.extend_from_slice(&input[..wanted]);
            self.advance(input, wanted);
            if self.buffer.len() < PACKET_PREFIX_LEN {
                return ReadOutcome::NeedMore;
            }
            let declared = u16::from_be_bytes([self.buffer[1], self.buffer[2]]);
            if (declared as usize) < PACKET_PREFIX_LEN {
                let error = DecodeError::new(
                    self.stream_offset + 1,
                    DecodeErrorKind::PacketLengthTooShort {
                        declared,
                        minimum: PACKET_PREFIX_LEN as u16,
                    },
                );
                self.buffer.clear();
                self.stream_offset = self.consumed_total;
                return ReadOutcome::Refused(error);
            }
            if declared > self.max_packet_length {
                let error = DecodeError::new(
                    self.stream_offset + 1,
                    DecodeErrorKind::PacketTooLong {
                        declared,
                        maximum: self.max_packet_length,
                    },
                );
                self.skipping = declared as usize - PACKET_PREFIX_LEN;
                self.buffer.clear();
                if self.skipping == 0 {
                    self.stream_offset = self.consumed_total;
                }
                return ReadOutcome::Refused(error);
            }
        }
        let declared = u16::from_be_bytes([self.buffer[1], self.buffer[2]]) as usize;
        let wanted = (declared - self.buffer.len()).min(input.len());
        self.buffer.extend_from_slice(&input[..wanted]);
        self.advance(input, wanted);
        if self.buffer.len() < declared {
            return ReadOutcome::NeedMore;
        }
        self.stream_offset = self.consumed_total;
        ReadOutcome::Packet(std::mem::take(&mut self.buffer))
    }

    fn advance(&mut self, input: &mut &[u8], count: usize) {
        *input = &input[count..];
        self.consumed_total += count;
    }

    /// Drops a partly read packet (after the transport reconnects, say).
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.skipping = 0;
        self.stream_offset = self.consumed_total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_request_round_trips() {
        let request = Request::connect(0x2000, vec![Header::Target(b"SYNCML-SYNC".to_vec())]);
        let wire = request.encode().expect("encodes");
        assert_eq!(
            &wire[..7],
            &[0x80, 0x00, 0x15, 0x10, 0x00, 0x20, 0x00],
            "opcode, length 21, version 1.0, no flags, max 8192"
        );
        assert_eq!(wire.len(), request.encoded_len());
        assert_eq!(Request::decode(&wire).expect("decodes"), request);
    }

    #[test]
    fn a_refusal_answers_connect_with_its_fields_and_others_bare() {
        let busy = ResponseCode::ServiceUnavailable;
        let to_connect = Response::refusal_to(Some(0x80), busy);
        assert_eq!(to_connect, [0xD3, 0x00, 0x07, 0x10, 0x00, 0x00, 0xFF]);
        let decoded = Response::decode(&to_connect, ResponseTo::Connect).expect("decodes");
        assert_eq!(decoded.code, busy);
        assert_eq!(Response::refusal_to(Some(0x82), busy), [0xD3, 0x00, 0x03]);
        assert_eq!(Response::refusal_to(None, busy), [0xD3, 0x00, 0x03]);
    }

    #[test]
    fn setpath_request_round_trips() {
        let request = Request {
            opcode: Opcode::SetPath,
            connect: None,
            setpath: Some(SetPathFields {
                flags: super::super::codes::setpath_flags::BACKUP
                    | super::super::codes::setpath_flags::DONT_CREATE,
                constants: 0,
            }),
            headers: vec![Header::Name(None)],
        };
        let wire = request.encode().expect("encodes");
        assert_eq!(wire, [0x85, 0, 8, 0x03, 0x00, 0x01, 0x00, 0x03]);
        assert_eq!(Request::decode(&wire).expect("decodes"), request);
    }

    #[test]
    fn every_plain_opcode_round_trips_as_a_packet() {
        for opcode in [
            Opcode::Disconnect,
            Opcode::Put { is_final: false },
            Opcode::Put { is_final: true },
            Opcode::Get { is_final: false },
            Opcode::Get { is_final: true },
            Opcode::Abort,
            Opcode::Session,
            Opcode::Other(0x04),
        ] {
            let request = Request::new(opcode, vec![Header::ConnectionId(9)]);
            let wire = request.encode().expect("encodes");
            assert_eq!(wire[0], opcode.to_byte());
            assert_eq!(wire.len(), 8);
            assert_eq!(Request::decode(&wire).expect("decodes"), request);
        }
    }

    #[test]
    fn responses_round_trip_with_and_without_connect_fields() {
        let response = Response {
            code: ResponseCode::Ok,
            connect: Some(ConnectFields::new(0xFFFF)),
            headers: vec![
                Header::ConnectionId(1),
                Header::Who(b"SYNCML-SYNC".to_vec()),
            ],
        };
        let wire = response.encode().expect("encodes");
        assert_eq!(
            Response::decode(&wire, ResponseTo::Connect).expect("decodes"),
            response
        );
        for code in ResponseCode::ALL {
            let response = Response::new(*code, Vec::new());
            let wire = response.encode().expect("encodes");
            assert_eq!(wire, [code.to_byte(), 0, 3]);
            assert_eq!(
                Response::decode(&wire, ResponseTo::Other).expect("decodes"),
                response
            );
        }
    }

    #[test]
    fn packet_errors_carry_offsets() {
        let error = Request::decode(&[0x82, 0x00]).expect_err("truncated");
        assert_eq!(error.offset, 2);
        let error = Request::decode(&[0x80, 0x00, 0x05, 0x10, 0x00]).expect_err("short connect");
        assert_eq!(
            error.kind,
            DecodeErrorKind::PacketLengthTooShort {
                declared: 5,
                minimum: 7
            }
        );
        let error = Request::decode(&[0x82, 0x00, 0x09, 0x48, 0x00, 0x09, 1, 2, 3])
            .expect_err("header overruns");
        assert_eq!(error.offset, 3);
        assert_eq!(
            error.to_string(),
            "at offset 3: packet ends inside header 0x48"
        );
        let error = Request::decode(&[0x82, 0x00, 0x04]).expect_err("mismatch");
        assert!(matches!(
            error.kind,
            DecodeErrorKind::PacketLengthMismatch {
                declared: 4,
                actual: 3
            }
        ));
    }

    #[test]
    fn oversized_packets_are_refused_when_encoding() {
        let request = Request::new(
            Opcode::Put { is_final: true },
            vec![Header::Body(vec![0; 40_000]), Header::Body(vec![0; 40_000])],
        );
        assert!(matches!(
            request.encode(),
            Err(EncodeError::PacketTooLong { length: 80_009, .. })
        ));
    }

    fn read_all(reader: &mut PacketReader, mut input: &[u8]) -> Vec<ReadOutcome> {
        let mut outcomes = Vec::new();
        while !input.is_empty() {
            match reader.read(&mut input) {
                ReadOutcome::NeedMore => {}
                outcome => outcomes.push(outcome),
            }
        }
        outcomes
    }

    #[test]
    fn reader_cuts_a_stream_fed_byte_by_byte() {
        let mut stream = Vec::new();
        let first = Request::new(
            Opcode::Put { is_final: false },
            vec![Header::Body(vec![1; 10])],
        )
        .encode()
        .expect("encodes");
        let second = Request::new(Opcode::Disconnect, Vec::new())
            .encode()
            .expect("encodes");
        stream.extend_from_slice(&first);
        stream.extend_from_slice(&second);
        let mut reader = PacketReader::new(255);
        let mut packets = Vec::new();
        for byte in &stream {
            packets.extend(read_all(&mut reader, std::slice::from_ref(byte)));
            assert!(reader.buffered_len() <= 255);
        }
        assert_eq!(
            packets,
            vec![ReadOutcome::Packet(first), ReadOutcome::Packet(second)]
        );
    }

    #[test]
    fn reader_refuses_and_skips_an_over_long_packet() {
        let mut stream = vec![0x82, 0x01, 0x2C];
        stream.extend_from_slice(&[0u8; 297]);
        stream.extend_from_slice(&[0x81, 0x00, 0x03]);
        let mut reader = PacketReader::new(255);
        let mut outcomes = Vec::new();
        for byte in &stream {
            outcomes.extend(read_all(&mut reader, std::slice::from_ref(byte)));
            assert!(reader.buffered_len() <= 3);
        }
        assert_eq!(outcomes.len(), 2);
        match &outcomes[0] {
            ReadOutcome::Refused(error) => {
                assert_eq!(error.offset, 1);
                assert_eq!(
                    error.to_string(),
                    "at offset 1: packet length 300 exceeds the negotiated 255"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(outcomes[1], ReadOutcome::Packet(vec![0x81, 0x00, 0x03]));
    }

    #[test]
    fn reader_refuses_a_length_below_three() {
        let mut reader = PacketReader::new(255);
        let outcomes = read_all(&mut reader, &[0x82, 0x00, 0x01, 0x81, 0x00, 0x03]);
        assert!(matches!(
            outcomes[0],
            ReadOutcome::Refused(DecodeError {
                kind: DecodeErrorKind::PacketLengthTooShort { declared: 1, .. },
                ..
            })
        ));
        assert_eq!(outcomes[1], ReadOutcome::Packet(vec![0x81, 0x00, 0x03]));
    }
}
