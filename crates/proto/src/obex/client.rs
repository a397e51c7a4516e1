//! The OBEX client session machine (the side that sends requests), sans-IO.
//!
//! Start an operation ([`ObexClient::connect`], [`ObexClient::put`], [`ObexClient::get`],
//! [`ObexClient::disconnect`]), send what [`ObexClient::poll_transmit`] returns, feed the
//! peer's bytes to [`ObexClient::handle_input`] and read [`ObexClient::poll_event`]. One
//! operation runs at a time, as OBEX is strictly request/response. Objects are split to the
//! peer's maximum packet length; the time is passed in for the response timeout.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::chunker::ObjectChunker;
use super::codes::{Opcode, ResponseCode};
use super::error::DecodeError;
use super::header::Header;
use super::packet::{
    PacketReader, ReadOutcome, Request, Response, ResponseTo, MIN_MAX_PACKET_LENGTH,
    PACKET_PREFIX_LEN,
};
use crate::machine::Machine;

/// How the client behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObexClientConfig {
    /// The largest packet we accept, announced in CONNECT (255..=65535).
    pub max_packet_length: u16,
    /// A GET object larger than this is aborted.
    pub max_object_size: usize,
    /// How long to wait for each response.
    pub response_timeout: Option<Duration>,
}

impl Default for ObexClientConfig {
    fn default() -> Self {
        ObexClientConfig {
            max_packet_length: 0x2000,
            max_object_size: 4 * 1024 * 1024,
            response_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// Which operation an event or error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Connect,
    Put,
    Get,
    Abort,
    Disconnect,
}

/// Why an operation failed, or why the API refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The peer answered 0xD3 Service Unavailable or 0xC3 Forbidden: a phone busy with a
    /// call or another sync. Worth retrying later.
    PeerBusy(ResponseCode),
    /// The peer answered with another error code.
    Refused(ResponseCode),
    /// The peer did not answer within the response timeout.
    Timeout,
    /// The peer's response could not be decoded.
    Malformed(DecodeError),
    /// The peer broke the protocol (e.g. Continue after our final packet).
    Protocol(&'static str),
    /// The peer announced a maximum packet length below 255.
    PeerMaxPacketLengthTooSmall(u16),
    /// A GET object exceeded the configured maximum and was aborted.
    ObjectTooLarge { limit: usize },
    /// A header does not fit in one packet of the peer's maximum length.
    HeaderTooLarge { id: u8 },
    /// The call needs a connection.
    NotConnected,
    /// Another operation is still running.
    OperationInProgress,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::PeerBusy(code) => write!(f, "the phone is busy ({code})"),
            ClientError::Refused(code) => write!(f, "the peer refused ({code})"),
            ClientError::Timeout => write!(f, "no response within the timeout"),
            ClientError::Malformed(error) => write!(f, "malformed response: {error}"),
            ClientError::Protocol(what) => write!(f, "protocol error: {what}"),
            ClientError::PeerMaxPacketLengthTooSmall(length) => {
                write!(f, "the peer's maximum packet length {length} is below 255")
            }
            ClientError::ObjectTooLarge { limit } => {
                write!(f, "the object exceeds {limit} bytes")
            }
            ClientError::HeaderTooLarge { id } => write!(
                f,
                "header 0x{id:02X} does not fit in one packet of the peer's maximum length"
            ),
            ClientError::NotConnected => write!(f, "not connected"),
            ClientError::OperationInProgress => write!(f, "another operation is in progress"),
        }
    }
}

impl std::error::Error for ClientError {}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// CONNECT succeeded.
    Connected {
        peer_max_packet_length: u16,
        connection_id: Option<u32>,
        who: Option<Vec<u8>>,
    },
    /// The PUT was accepted; `headers` are those of the final response.
    PutDone { headers: Vec<Header> },
    /// The GET object arrived whole.
    GetDone { headers: Vec<Header>, body: Vec<u8> },
    /// The ABORT was acknowledged.
    Aborted,
    /// The session is over (DISCONNECT answered, whatever the code).
    Disconnected,
    /// An operation failed.
    Failed {
        operation: OperationKind,
        error: ClientError,
    },
}

#[derive(Debug)]
enum Pending {
    Idle,
    Connect,
    Put(ObjectChunker),
    Get {
        request: ObjectChunker,
        headers: Vec<Header>,
        body: Vec<u8>,
    },
    /// `report` is false when we aborted on our own and already reported the failure.
    Abort {
        report: bool,
    },
    Disconnect,
}

impl Pending {
    fn kind(&self) -> Option<OperationKind> {
        match self {
            Pending::Idle => None,
            Pending::Connect => Some(OperationKind::Connect),
            Pending::Put(_) => Some(OperationKind::Put),
            Pending::Get { .. } => Some(OperationKind::Get),
            Pending::Abort { .. } => Some(OperationKind::Abort),
            Pending::Disconnect => Some(OperationKind::Disconnect),
        }
    }
}

/// The OBEX client machine.
#[derive(Debug)]
pub struct ObexClient {
    config: ObexClientConfig,
    reader: PacketReader,
    connected: bool,
    peer_max_packet_length: u16,
    connection_id: Option<u32>,
    pending: Pending,
    abort_requested: bool,
    response_deadline: Option<Instant>,
    outgoing: VecDeque<Vec<u8>>,
    events: VecDeque<ClientEvent>,
}

impl ObexClient {
    /// A client, not yet connected. `max_packet_length` below 255 is raised to 255.
    pub fn new(mut config: ObexClientConfig) -> Self {
        config.max_packet_length = config.max_packet_length.max(MIN_MAX_PACKET_LENGTH);
        ObexClient {
            reader: PacketReader::new(config.max_packet_length),
            config,
            connected: false,
            peer_max_packet_length: MIN_MAX_PACKET_LENGTH,
            connection_id: None,
            pending: Pending::Idle,
            abort_requested: false,
            response_deadline: None,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Whether CONNECT succeeded and the session is not over.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether no operation is running.
    pub fn is_idle(&self) -> bool {
        matches!(self.pending, Pending::Idle)
    }

    /// The largest packet the peer accepts (255 until CONNECT succeeds).
    pub fn peer_max_packet_length(&self) -> u16 {
        self.peer_max_packet_length
    }

    /// The Connection ID the peer handed out, sent with every operation.
    pub fn connection_id(&self) -> Option<u32> {
        self.connection_id
    }

    /// Bytes held for a partly received packet; never above `max_packet_length`.
    pub fn buffered_len(&self) -> usize {
        self.reader.buffered_len()
    }

    /// Sends CONNECT with these headers (a Target, typically).
    pub fn connect(&mut self, now: Instant, headers: Vec<Header>) -> Result<(), ClientError> {
        self.check_idle()?;
        let request = Request::connect(self.config.max_packet_length, headers);
        if request.encoded_len() > MIN_MAX_PACKET_LENGTH as usize {
            // A CONNECT must fit the smallest maximum, since the peer's is not known yet.
            return Err(ClientError::HeaderTooLarge {
                id: request.headers.first().map_or(0, Header::id),
            });
        }
        self.pending = Pending::Connect;
        self.send(now, &request);
        Ok(())
    }

    /// Sends an object: `headers` (Name, Type, Length...) then `body` split across PUT
    /// packets. `body: None` sends a PUT without a body, which OBEX reads as a delete.
    pub fn put(
        &mut self,
        now: Instant,
        headers: Vec<Header>,
        body: Option<Vec<u8>>,
    ) -> Result<(), ClientError> {
        self.check_connected_and_idle()?;
        self.check_headers_fit(&headers)?;
        self.pending = Pending::Put(ObjectChunker::new(self.with_connection_id(headers), body));
        self.send_next_put(now);
        Ok(())
    }

    /// Asks for an object described by `headers` (Name, Type...).
    pub fn get(&mut self, now: Instant, headers: Vec<Header>) -> Result<(), ClientError> {
        self.check_connected_and_idle()?;
        self.check_headers_fit(&headers)?;
        self.pending = Pending::Get {
            request: ObjectChunker::new(self.with_connection_id(headers), None),
            headers: Vec::new(),
            body: Vec::new(),
        };
        self.send_next_get(now);
        Ok(())
    }

    /// Aborts the PUT or GET in progress: ABORT goes out as soon as the response to the
    /// packet in flight arrives. Does nothing when no PUT or GET runs.
    pub fn abort(&mut self) {
        if matches!(self.pending, Pending::Put(_) | Pending::Get { .. }) {
            self.abort_requested = true;
        }
    }

    /// Sends DISCONNECT.
    pub fn disconnect(&mut self, now: Instant) -> Result<(), ClientError> {
        self.check_connected_and_idle()?;
        let headers = self.with_connection_id(Vec::new());
        self.pending = Pending::Disconnect;
        self.send(now, &Request::new(Opcode::Disconnect, headers));
        Ok(())
    }

    fn check_idle(&self) -> Result<(), ClientError> {
        if self.is_idle() {
            Ok(())
        } else {
            Err(ClientError::OperationInProgress)
        }
    }

    fn check_connected_and_idle(&self) -> Result<(), ClientError> {
        self.check_idle()?;
        if self.connected {
            Ok(())
        } else {
            Err(ClientError::NotConnected)
        }
    }

    /// Refuses up front a header that no packet could carry, rather than failing halfway.
    fn check_headers_fit(&self, headers: &[Header]) -> Result<(), ClientError> {
        match headers
            .iter()
            .find(|header| header.encoded_len() > self.space())
        {
            Some(header) => Err(ClientError::HeaderTooLarge { id: header.id() }),
            None => Ok(()),
        }
    }

    fn with_connection_id(&self, headers: Vec<Header>) -> Vec<Header> {
        // The Connection ID must be the first header of the operation's first packet.
        match self.connection_id {
            Some(connection_id) => std::iter::once(Header::ConnectionId(connection_id))
                .chain(headers)
                .collect(),
            None => headers,
        }
    }

    fn send(&mut self, now: Instant, request: &Request) {
        debug!(opcode = %request.opcode, headers = request.headers.len(), "OBEX client: request");
        match request.encode() {
            Ok(bytes) => {
                self.outgoing.push_back(bytes);
                self.response_deadline = self.config.response_timeout.map(|timeout| now + timeout);
            }
            // Requests are built to fit the peer's maximum; failing here is a bug upstream.
            Err(error) => {
                warn!(%error, "OBEX client: request could not be encoded");
                self.fail(ClientError::Protocol("request could not be encoded"));
            }
        }
    }

    fn space(&self) -> usize {
        self.peer_max_packet_length as usize - PACKET_PREFIX_LEN
    }

    fn send_next_put(&mut self, now: Instant) {
        let space = self.space();
        let Pending::Put(chunker) = &mut self.pending else {
            return;
        };
        match chunker.next_chunk(space) {
            Ok((headers, last)) => {
                self.send(now, &Request::new(Opcode::Put { is_final: last }, headers));
            }
            Err(too_large) => self.fail(ClientError::HeaderTooLarge { id: too_large.id }),
        }
    }

    fn send_next_get(&mut self, now: Instant) {
        let space = self.space();
        let Pending::Get { request, .. } = &mut self.pending else {
            return;
        };
        if request.is_finished() {
            self.send(
                now,
                &Request::new(Opcode::Get { is_final: true }, Vec::new()),
            );
            return;
        }
        match request.next_chunk(space) {
            Ok((headers, last)) => {
                self.send(now, &Request::new(Opcode::Get { is_final: last }, headers));
            }
            Err(too_large) => self.fail(ClientError::HeaderTooLarge { id: too_large.id }),
        }
    }

    fn send_abort(&mut self, now: Instant, report: bool) {
        self.abort_requested = false;
        let headers = self.with_connection_id(Vec::new());
        self.pending = Pending::Abort { report };
        self.send(now, &Request::new(Opcode::Abort, headers));
    }

    fn fail(&mut self, error: ClientError) {
        self.response_deadline = None;
        self.abort_requested = false;
        let pending = std::mem::replace(&mut self.pending, Pending::Idle);
        let Some(operation) = pending.kind() else {
            // Bytes nobody asked for: nothing to fail, the next request starts afresh.
            warn!(%error, "OBEX client: error while no operation was running");
            return;
        };
        if operation == OperationKind::Disconnect {
            self.connected = false;
        }
        self.events
            .push_back(ClientEvent::Failed { operation, error });
    }

    fn error_for(code: ResponseCode) -> ClientError {
        if code.means_busy() {
            ClientError::PeerBusy(code)
        } else {
            ClientError::Refused(code)
        }
    }

    fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        if self.is_idle() {
            warn!(
                length = packet.len(),
                "OBEX client: response while no request was sent; ignored"
            );
            return;
        }
        let answers = if matches!(self.pending, Pending::Connect) {
            ResponseTo::Connect
        } else {
            ResponseTo::Other
        };
        let response = match Response::decode(packet, answers) {
            Ok(response) => response,
            Err(error) => {
                self.fail(ClientError::Malformed(error));
                return;
            }
        };
        debug!(code = %response.code, headers = response.headers.len(), "OBEX client: response");
        self.response_deadline = None;
        match std::mem::replace(&mut self.pending, Pending::Idle) {
            Pending::Idle => {}
            Pending::Connect => self.handle_connect_response(response),
            Pending::Put(chunker) => self.handle_put_response(now, response, chunker),
            Pending::Get {
                request,
                headers,
                body,
            } => self.handle_get_response(now, response, request, headers, body),
            Pending::Abort { report } => {
                if report {
                    self.events.push_back(ClientEvent::Aborted);
                }
            }
            Pending::Disconnect => {
                self.connected = false;
                self.connection_id = None;
                self.peer_max_packet_length = MIN_MAX_PACKET_LENGTH;
                self.events.push_back(ClientEvent::Disconnected);
            }
        }
    }

    fn handle_connect_response(&mut self, response: Response) {
        if !response.code.is_success() {
            self.pending = Pending::Connect;
            self.fail(Self::error_for(response.code));
            return;
        }
        let Some(fields) = response.connect else {
            self.pending = Pending::Connect;
            self.fail(ClientError::Protocol("CONNECT success without its fields"));
            return;
        };
        if fields.max_packet_length < MIN_MAX_PACKET_LENGTH {
            self.pending = Pending::Connect;
            self.fail(ClientError::PeerMaxPacketLengthTooSmall(
                fields.max_packet_length,
            ));
            return;
        }
        let mut connection_id = None;
        let mut who = None;
        for header in response.headers {
            match header {
                Header::ConnectionId(value) => connection_id = Some(value),
                Header::Who(value) => who = Some(value),
                _ => {}
            }
        }
        self.connected = true;
        self.peer_max_packet_length = fields.max_packet_length;
        self.connection_id = connection_id;
        self.events.push_back(ClientEvent::Connected {
            peer_max_packet_length: fields.max_packet_length,
            connection_id,
            who,
        });
    }

    fn handle_put_response(&mut self, now: Instant, response: Response, chunker: ObjectChunker) {
        let finished = chunker.is_finished();
        self.pending = Pending::Put(chunker);
        match response.code {
            ResponseCode::Continue if self.abort_requested => self.send_abort(now, true),
            ResponseCode::Continue if finished => {
                self.fail(ClientError::Protocol("Continue after the final PUT packet"));
            }
            ResponseCode::Continue => self.send_next_put(now),
            code if code.is_success() => {
                // A peer may accept before the final packet; the object is then complete for it.
                self.pending = Pending::Idle;
                self.abort_requested = false;
                self.events.push_back(ClientEvent::PutDone {
                    headers: response.headers,
                });
            }
            code => self.fail(Self::error_for(code)),
        }
    }

    fn handle_get_response(
        &mut self,
        now: Instant,
        response: Response,
        request: ObjectChunker,
        mut headers: Vec<Header>,
        mut body: Vec<u8>,
    ) {
        let limit = self.config.max_object_size;
        let mut too_large = false;
        for header in response.headers {
            match header {
                Header::Body(bytes) | Header::EndOfBody(bytes) => {
                    if body.len() + bytes.len() > limit {
                        too_large = true;
                        break;
                    }
                    body.extend_from_slice(&bytes);
                }
                other => headers.push(other),
            }
        }
        let code = response.code;
        if too_large {
            self.pending = Pending::Get {
                request,
                headers: Vec::new(),
                body: Vec::new(),
            };
            self.fail(ClientError::ObjectTooLarge { limit });
            if code == ResponseCode::Continue {
                self.send_abort(now, false);
            }
            return;
        }
        self.pending = Pending::Get {
            request,
            headers,
            body,
        };
        match code {
            ResponseCode::Continue if self.abort_requested => self.send_abort(now, true),
            ResponseCode::Continue => self.send_next_get(now),
            code if code.is_success() => {
                self.abort_requested = false;
                if let Pending::Get { headers, body, .. } =
                    std::mem::replace(&mut self.pending, Pending::Idle)
                {
                    self.events
                        .push_back(ClientEvent::GetDone { headers, body });
                }
            }
            code => self.fail(Self::error_for(code)),
        }
    }
}

impl Machine for ObexClient {
    type Event = ClientEvent;

    /// Takes received bytes, in chunks of any size.
    fn handle_input(&mut self, now: Instant, mut input: &[u8]) {
        while !input.is_empty() {
            match self.reader.read(&mut input) {
                ReadOutcome::NeedMore => {}
                ReadOutcome::Packet(packet) => self.handle_packet(now, &packet),
                ReadOutcome::Refused(error) => self.fail(ClientError::Malformed(error)),
            }
        }
    }

    /// The next packet to send.
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// The next event.
    fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`ObexClient::handle_timeout`] should be called, if at all.
    fn poll_timeout(&self) -> Option<Instant> {
        self.response_deadline
    }

    /// Fails the running operation if its response is overdue. The connection is then
    /// considered lost: the stream may be out of step.
    fn handle_timeout(&mut self, now: Instant) {
        if self
            .response_deadline
            .is_some_and(|deadline| now >= deadline)
        {
            self.fail(ClientError::Timeout);
            self.connected = false;
            self.reader.reset();
        }
    }
}
