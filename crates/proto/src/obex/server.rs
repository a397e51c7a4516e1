//! The OBEX server session machine (the side that answers requests), sans-IO.
//!
//! Feed received bytes with [`ObexServer::handle_input`], send what
//! [`ObexServer::poll_transmit`] returns, act on [`ObexServer::poll_event`]. A GET is
//! answered by [`ObexServer::answer_get`] whenever the application has the object: the
//! machine simply sends nothing until then, so the transport waits without polling.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::chunker::ObjectChunker;
use super::codes::{Opcode, ResponseCode};
use super::error::DecodeError;
use super::header::{id, Header};
use super::packet::{
    ConnectFields, PacketReader, ReadOutcome, Request, Response, MIN_MAX_PACKET_LENGTH,
    PACKET_PREFIX_LEN,
};
use crate::machine::Machine;

/// How the server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObexServerConfig {
    /// The largest packet we accept, announced in the CONNECT response (255..=65535).
    pub max_packet_length: u16,
    /// When set, a CONNECT must carry this Target; it is echoed as Who with a Connection ID.
    pub required_target: Option<Vec<u8>>,
    /// The Connection ID handed out with a directed connection.
    pub connection_id: u32,
    /// PUT objects (body plus other headers) above this size are refused with 0xCD.
    pub max_object_size: usize,
    /// A multi-packet operation the peer leaves silent this long is dropped.
    pub idle_timeout: Option<Duration>,
}

impl Default for ObexServerConfig {
    fn default() -> Self {
        ObexServerConfig {
            max_packet_length: 0x2000,
            required_target: None,
            connection_id: 1,
            max_object_size: 4 * 1024 * 1024,
            idle_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// An object a PUT delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedObject {
    /// Every header but Body, End-of-Body and Connection ID, in arrival order.
    pub headers: Vec<Header>,
    /// The reassembled body; `None` when the PUT had no Body/End-of-Body (a delete).
    pub body: Option<Vec<u8>>,
}

impl ReceivedObject {
    /// The Type header's media type, without its NUL.
    pub fn media_type(&self) -> Option<&[u8]> {
        self.headers.iter().find_map(|header| match header {
            Header::Type(media_type) => Some(media_type.as_slice()),
            _ => None,
        })
    }

    /// The Name header's text.
    pub fn name(&self) -> Option<&str> {
        self.headers.iter().find_map(|header| match header {
            Header::Name(Some(name)) => Some(name.as_str()),
            _ => None,
        })
    }
}

/// Why the server refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The packet could not be decoded (0xC0).
    Malformed(DecodeError),
    /// CONNECT announced a maximum packet length below 255 (0xC0).
    MaxPacketLengthTooSmall(u16),
    /// CONNECT without the required Target, or with another one (0xC4).
    WrongTarget(Option<Vec<u8>>),
    /// A request before the directed CONNECT (0xC3).
    NotConnected(Opcode),
    /// A Connection ID other than the one handed out (0xD3).
    WrongConnectionId(u32),
    /// A PUT object larger than the configured maximum (0xCD).
    ObjectTooLarge { limit: usize },
    /// An operation this server does not offer (0xD1).
    NotImplemented(Opcode),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(error) => write!(f, "malformed packet: {error}"),
            Refusal::MaxPacketLengthTooSmall(length) => {
                write!(f, "maximum packet length {length} is below 255")
            }
            Refusal::WrongTarget(Some(target)) => {
                write!(f, "wrong Target {}", super::header::printable(target))
            }
            Refusal::WrongTarget(None) => write!(f, "missing Target"),
            Refusal::NotConnected(opcode) => write!(f, "{opcode} before CONNECT"),
            Refusal::WrongConnectionId(connection_id) => {
                write!(f, "unknown Connection ID 0x{connection_id:08X}")
            }
            Refusal::ObjectTooLarge { limit } => write!(f, "object exceeds {limit} bytes"),
            Refusal::NotImplemented(opcode) => write!(f, "{opcode} is not implemented"),
        }
    }
}

/// What happened, for the application above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A CONNECT was accepted.
    Connected {
        target: Option<Vec<u8>>,
        peer_max_packet_length: u16,
    },
    /// A whole PUT object arrived (already answered with 0xA0).
    PutReceived(ReceivedObject),
    /// A GET asks for an object: answer with [`ObexServer::answer_get`].
    GetRequested { headers: Vec<Header> },
    /// The peer aborted the operation in progress.
    Aborted,
    /// The peer disconnected.
    Disconnected,
    /// A request was refused with `code`.
    Refused { code: ResponseCode, reason: Refusal },
    /// The peer left a multi-packet operation silent past the idle timeout; it was dropped.
    TimedOut,
}

/// How the application answers a GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetAnswer {
    /// Send this object (headers first, then the body, split as the peer's maximum needs).
    Object { headers: Vec<Header>, body: Vec<u8> },
    /// Refuse with this response code.
    Refuse(ResponseCode),
}

/// Misuse of the server's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerError {
    /// [`ObexServer::answer_get`] without a GET waiting for its answer.
    NoGetPending,
    /// A header of the answer does not fit in one packet of the peer's maximum length.
    HeaderTooLarge { id: u8 },
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::NoGetPending => write!(f, "no GET is waiting for an answer"),
            ServerError::HeaderTooLarge { id } => write!(
                f,
                "header 0x{id:02X} does not fit in one packet of the peer's maximum length"
            ),
        }
    }
}

impl std::error::Error for ServerError {}

#[derive(Debug)]
enum Operation {
    Idle,
    Put {
        headers: Vec<Header>,
        body: Option<Vec<u8>>,
        size: usize,
    },
    GetCollecting {
        headers: Vec<Header>,
    },
    GetAwaitingAnswer,
    GetSending(ObjectChunker),
}

/// The OBEX server machine.
#[derive(Debug)]
pub struct ObexServer {
    config: ObexServerConfig,
    reader: PacketReader,
    connected: bool,
    peer_max_packet_length: u16,
    operation: Operation,
    outgoing: VecDeque<Vec<u8>>,
    events: VecDeque<ServerEvent>,
    last_input: Option<Instant>,
}

impl ObexServer {
    /// A server waiting for CONNECT. `max_packet_length` below 255 is raised to 255.
    pub fn new(mut config: ObexServerConfig) -> Self {
        config.max_packet_length = config.max_packet_length.max(MIN_MAX_PACKET_LENGTH);
        ObexServer {
            reader: PacketReader::new(config.max_packet_length),
            config,
            connected: false,
            peer_max_packet_length: MIN_MAX_PACKET_LENGTH,
            operation: Operation::Idle,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            last_input: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &ObexServerConfig {
        &self.config
    }

    /// Whether a CONNECT was accepted and no DISCONNECT followed.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The largest packet the peer accepts (255 until it connects).
    pub fn peer_max_packet_length(&self) -> u16 {
        self.peer_max_packet_length
    }

    /// Bytes held for a partly received packet; never above `max_packet_length`.
    pub fn buffered_len(&self) -> usize {
        self.reader.buffered_len()
    }

    /// Whether a GET waits for [`ObexServer::answer_get`].
    pub fn is_get_pending(&self) -> bool {
        matches!(self.operation, Operation::GetAwaitingAnswer)
    }

    /// Answers the GET announced by [`ServerEvent::GetRequested`].
    pub fn answer_get(&mut self, answer: GetAnswer) -> Result<(), ServerError> {
        if !self.is_get_pending() {
            return Err(ServerError::NoGetPending);
        }
        match answer {
            GetAnswer::Refuse(code) => {
                self.operation = Operation::Idle;
                self.respond(Response::new(code, Vec::new()));
                Ok(())
            }
            GetAnswer::Object { headers, body } => {
                self.operation = Operation::GetSending(ObjectChunker::new(headers, Some(body)));
                self.send_next_get_chunk()
            }
        }
    }

    fn send_next_get_chunk(&mut self) -> Result<(), ServerError> {
        let Operation::GetSending(chunker) = &mut self.operation else {
            return Ok(());
        };
        let space = self.peer_max_packet_length as usize - PACKET_PREFIX_LEN;
        match chunker.next_chunk(space) {
            Ok((headers, last)) => {
                let code = if last {
                    self.operation = Operation::Idle;
                    ResponseCode::Ok
                } else {
                    ResponseCode::Continue
                };
                self.respond(Response::new(code, headers));
                Ok(())
            }
            Err(too_large) => {
                warn!(
                    header = too_large.id,
                    "OBEX server: GET answer header too large"
                );
                self.operation = Operation::Idle;
                self.respond(Response::new(ResponseCode::InternalServerError, Vec::new()));
                Err(ServerError::HeaderTooLarge { id: too_large.id })
            }
        }
    }

    fn handle_packet(&mut self, packet: &[u8]) {
        let request = match Request::decode(packet) {
            Ok(request) => request,
            Err(error) => {
                self.operation = Operation::Idle;
                let connect = (packet.first() == Some(&Opcode::Connect.to_byte()))
                    .then(|| self.connect_fields());
                self.refuse(ResponseCode::BadRequest, Refusal::Malformed(error), connect);
                return;
            }
        };
        debug!(opcode = %request.opcode, headers = request.headers.len(), "OBEX server: request");
        if request.opcode == Opcode::Connect {
            self.handle_connect(request);
            return;
        }
        if self.config.required_target.is_some()
            && !self.connected
            && !matches!(request.opcode, Opcode::Disconnect | Opcode::Abort)
        {
            self.operation = Operation::Idle;
            self.refuse(
                ResponseCode::Forbidden,
                Refusal::NotConnected(request.opcode),
                None,
            );
            return;
        }
        if self.connected && self.config.required_target.is_some() {
            if let Some(Header::ConnectionId(connection_id)) = request.header(id::CONNECTION_ID) {
                if *connection_id != self.config.connection_id {
                    let connection_id = *connection_id;
                    self.operation = Operation::Idle;
                    self.refuse(
                        ResponseCode::ServiceUnavailable,
                        Refusal::WrongConnectionId(connection_id),
                        None,
                    );
                    return;
                }
            }
        }
        match request.opcode {
            Opcode::Connect => {}
            Opcode::Disconnect => {
                self.connected = false;
                self.peer_max_packet_length = MIN_MAX_PACKET_LENGTH;
                self.operation = Operation::Idle;
                self.respond(Response::new(ResponseCode::Ok, Vec::new()));
                self.events.push_back(ServerEvent::Disconnected);
            }
            Opcode::Abort => {
                let was_busy = !matches!(self.operation, Operation::Idle);
                self.operation = Operation::Idle;
                self.respond(Response::new(ResponseCode::Ok, Vec::new()));
                if was_busy {
                    self.events.push_back(ServerEvent::Aborted);
                }
            }
            Opcode::Put { is_final } => self.handle_put(request.headers, is_final),
            Opcode::Get { is_final } => self.handle_get(request.headers, is_final),
            Opcode::SetPath | Opcode::Session | Opcode::Other(_) => {
                self.operation = Operation::Idle;
                self.refuse(
                    ResponseCode::NotImplemented,
                    Refusal::NotImplemented(request.opcode),
                    None,
                );
            }
        }
    }

    fn connect_fields(&self) -> ConnectFields {
        ConnectFields::new(self.config.max_packet_length)
    }

    fn handle_connect(&mut self, request: Request) {
        self.operation = Operation::Idle;
        let announced = request
            .connect
            .map_or(MIN_MAX_PACKET_LENGTH, |fields| fields.max_packet_length);
        let fields = Some(self.connect_fields());
        if announced < MIN_MAX_PACKET_LENGTH {
            self.refuse(
                ResponseCode::BadRequest,
                Refusal::MaxPacketLengthTooSmall(announced),
                fields,
            );
            return;
        }
        let target = request.headers.iter().find_map(|header| match header {
            Header::Target(target) => Some(target.clone()),
            _ => None,
        });
        let mut headers = Vec::new();
        if let Some(required) = &self.config.required_target {
            if target.as_ref() != Some(required) {
                self.refuse(ResponseCode::NotFound, Refusal::WrongTarget(target), fields);
                return;
            }
            headers.push(Header::ConnectionId(self.config.connection_id));
            headers.push(Header::Who(required.clone()));
        }
        self.connected = true;
        self.peer_max_packet_length = announced;
        self.respond(Response {
            code: ResponseCode::Ok,
            connect: fields,
            headers,
        });
        self.events.push_back(ServerEvent::Connected {
            target,
            peer_max_packet_length: announced,
        });
    }

    fn handle_put(&mut self, headers: Vec<Header>, is_final: bool) {
        if !matches!(self.operation, Operation::Put { .. }) {
            self.operation = Operation::Put {
                headers: Vec::new(),
                body: None,
                size: 0,
            };
        }
        let limit = self.config.max_object_size;
        let mut too_large = false;
        if let Operation::Put {
            headers: object_headers,
            body,
            size,
        } = &mut self.operation
        {
            for header in headers {
                match header {
                    Header::ConnectionId(_) => {}
                    Header::Body(bytes) | Header::EndOfBody(bytes) => {
                        *size += bytes.len();
                        if *size > limit {
                            too_large = true;
                            break;
                        }
                        body.get_or_insert_with(Vec::new).extend_from_slice(&bytes);
                    }
                    other => {
                        *size += other.encoded_len();
                        if *size > limit {
                            too_large = true;
                            break;
                        }
                        object_headers.push(other);
                    }
                }
            }
        }
        if too_large {
            self.operation = Operation::Idle;
            self.refuse(
                ResponseCode::RequestedEntityTooLarge,
                Refusal::ObjectTooLarge { limit },
                None,
            );
            return;
        }
        if !is_final {
            self.respond(Response::new(ResponseCode::Continue, Vec::new()));
            return;
        }
        if let Operation::Put { headers, body, .. } =
            std::mem::replace(&mut self.operation, Operation::Idle)
        {
            self.respond(Response::new(ResponseCode::Ok, Vec::new()));
            self.events
                .push_back(ServerEvent::PutReceived(ReceivedObject { headers, body }));
        }
    }

    fn handle_get(&mut self, headers: Vec<Header>, is_final: bool) {
        if is_final && matches!(self.operation, Operation::GetSending(_)) {
            // The peer asks for the next part; headers it repeats change nothing.
            if let Err(error) = self.send_next_get_chunk() {
                warn!(%error, "OBEX server: GET answer failed");
            }
            return;
        }
        if !matches!(self.operation, Operation::GetCollecting { .. }) {
            self.operation = Operation::GetCollecting {
                headers: Vec::new(),
            };
        }
        if let Operation::GetCollecting {
            headers: request_headers,
        } = &mut self.operation
        {
            request_headers.extend(
                headers
                    .into_iter()
                    .filter(|header| !matches!(header, Header::ConnectionId(_))),
            );
        }
        if !is_final {
            self.respond(Response::new(ResponseCode::Continue, Vec::new()));
            return;
        }
        if let Operation::GetCollecting { headers } =
            std::mem::replace(&mut self.operation, Operation::GetAwaitingAnswer)
        {
            self.events.push_back(ServerEvent::GetRequested { headers });
        }
    }

    fn refuse(&mut self, code: ResponseCode, reason: Refusal, connect: Option<ConnectFields>) {
        debug!(%code, %reason, "OBEX server: refusing request");
        self.respond(Response {
            code,
            connect,
            headers: Vec::new(),
        });
        self.events.push_back(ServerEvent::Refused { code, reason });
    }

    fn respond(&mut self, response: Response) {
        debug!(code = %response.code, headers = response.headers.len(), "OBEX server: response");
        match response.encode() {
            Ok(bytes) => self.outgoing.push_back(bytes),
            // Responses are built to fit the peer's maximum; failing here is a bug upstream.
            Err(error) => warn!(%error, "OBEX server: response could not be encoded"),
        }
    }
}

impl Machine for ObexServer {
    type Event = ServerEvent;

    /// Takes received bytes, in chunks of any size.
    fn handle_input(&mut self, now: Instant, mut input: &[u8]) {
        if !input.is_empty() {
            self.last_input = Some(now);
        }
        while !input.is_empty() {
            match self.reader.read(&mut input) {
                ReadOutcome::NeedMore => {}
                ReadOutcome::Packet(packet) => self.handle_packet(&packet),
                ReadOutcome::Refused(error) => {
                    self.operation = Operation::Idle;
                    self.refuse(ResponseCode::BadRequest, Refusal::Malformed(error), None);
                }
            }
        }
    }

    /// The next packet to send.
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// The next event.
    fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When [`ObexServer::handle_timeout`] should be called, if at all.
    fn poll_timeout(&self) -> Option<Instant> {
        let waiting_for_peer = self.reader.is_mid_packet()
            || matches!(
                self.operation,
                Operation::Put { .. } | Operation::GetCollecting { .. } | Operation::GetSending(_)
            );
        match (waiting_for_peer, self.config.idle_timeout, self.last_input) {
            (true, Some(timeout), Some(last)) => Some(last + timeout),
            _ => None,
        }
    }

    /// Drops a multi-packet operation the peer has left silent past the idle timeout.
    fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            debug!("OBEX server: peer silent past the idle timeout, dropping the operation");
            self.operation = Operation::Idle;
            self.reader.reset();
            self.events.push_back(ServerEvent::TimedOut);
        }
    }
}
