//! The SyncML OBEX binding (SyncML DS 1.1/1.2 "OBEX binding"), sans-IO, both ways round.
//!
//! - The phone starts ([`SyncmlServer`], we are the OBEX server): the phone CONNECTs with
//!   Target `SYNCML-SYNC`, PUTs each SyncML message and GETs our reply. A GET that arrives
//!   before the SyncML engine has the reply is answered as soon as [`SyncmlServer::send_reply`]
//!   hands it in; nothing is sent until then.
//! - The PC starts ([`SyncmlClient`], we are the OBEX client): we CONNECT with Target
//!   `SYNCML-SYNC`, PUT a Server Alerted Notification, GET the phone's first message, then PUT
//!   each reply and GET the next message, and DISCONNECT at the end.
//!
//! The SyncML engine sits above: messages go up as bytes plus content type and replies come
//! down the same way.

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use tracing::{debug, warn};

use super::client::{ClientError, ClientEvent, ObexClient, ObexClientConfig, OperationKind};
use super::codes::ResponseCode;
use super::header::Header;
use super::server::{GetAnswer, ObexServer, ObexServerConfig, Refusal, ServerEvent};
use crate::machine::Machine;

/// The OBEX Target (and Who) of a SyncML DS session: 11 ASCII bytes, no terminator.
pub const SYNCML_TARGET: &[u8] = b"SYNCML-SYNC";
/// Media type of WBXML-encoded SyncML.
pub const WBXML_MEDIA_TYPE: &str = "application/vnd.syncml+wbxml";
/// Media type of XML SyncML.
pub const XML_MEDIA_TYPE: &str = "application/vnd.syncml+xml";
/// Media type of a DS Server Alerted Notification.
pub const NOTIFICATION_MEDIA_TYPE: &str = "application/vnd.syncml.ds.notification";

/// The content type of a SyncML message, from the OBEX Type header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncmlContentType {
    Wbxml,
    Xml,
    Notification,
    /// Any other media type, as sent (without the NUL).
    Other(Vec<u8>),
}

impl SyncmlContentType {
    /// Classifies a Type header value; media types compare case-insensitively and parameters
    /// (`; charset=...`) are ignored.
    pub fn from_media_type(media_type: &[u8]) -> Self {
        let essence = media_type
            .split(|byte| *byte == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if essence.eq_ignore_ascii_case(WBXML_MEDIA_TYPE.as_bytes()) {
            SyncmlContentType::Wbxml
        } else if essence.eq_ignore_ascii_case(XML_MEDIA_TYPE.as_bytes()) {
            SyncmlContentType::Xml
        } else if essence.eq_ignore_ascii_case(NOTIFICATION_MEDIA_TYPE.as_bytes()) {
            SyncmlContentType::Notification
        } else {
            SyncmlContentType::Other(media_type.to_vec())
        }
    }

    /// The media type to put in a Type header.
    pub fn media_type(&self) -> &[u8] {
        match self {
            SyncmlContentType::Wbxml => WBXML_MEDIA_TYPE.as_bytes(),
            SyncmlContentType::Xml => XML_MEDIA_TYPE.as_bytes(),
            SyncmlContentType::Notification => NOTIFICATION_MEDIA_TYPE.as_bytes(),
            SyncmlContentType::Other(media_type) => media_type,
        }
    }
}

/// One SyncML message (or notification) as bytes with its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncmlMessage {
    pub content_type: SyncmlContentType,
    pub bytes: Vec<u8>,
}

impl SyncmlMessage {
    /// A message of this type.
    pub fn new(content_type: SyncmlContentType, bytes: Vec<u8>) -> Self {
        SyncmlMessage {
            content_type,
            bytes,
        }
    }
}

/// What went wrong in a SyncML OBEX session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObexBindingError {
    /// (Client) an OBEX operation failed; [`ClientError::PeerBusy`] means "phone busy".
    Obex {
        operation: OperationKind,
        error: ClientError,
    },
    /// (Server) a request was refused with this code.
    Refused { code: ResponseCode, reason: Refusal },
    /// (Server) the phone aborted the PUT or GET in progress.
    PeerAborted,
    /// (Server) the phone went silent in the middle of an operation.
    TimedOut,
    /// (Server) a PUT without a body, which the SyncML binding has no use for.
    PutWithoutBody,
    /// (API) a reply was handed in while another still waits for its GET.
    ReplyAlreadyQueued,
    /// (API) the call does not fit the session's state.
    WrongState(&'static str),
}

impl fmt::Display for ObexBindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObexBindingError::Obex { operation, error } => {
                write!(f, "OBEX {operation:?} failed: {error}")
            }
            ObexBindingError::Refused { code, reason } => {
                write!(f, "refused with {code}: {reason}")
            }
            ObexBindingError::PeerAborted => write!(f, "the phone aborted the operation"),
            ObexBindingError::TimedOut => write!(f, "the phone went silent mid-operation"),
            ObexBindingError::PutWithoutBody => write!(f, "PUT without a body"),
            ObexBindingError::ReplyAlreadyQueued => {
                write!(f, "a reply is already waiting for its GET")
            }
            ObexBindingError::WrongState(what) => write!(f, "not possible now: {what}"),
        }
    }
}

impl std::error::Error for ObexBindingError {}

/// What the SyncML engine hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncmlEvent {
    /// The OBEX connection with Target SYNCML-SYNC is up.
    Connected,
    /// A SyncML message (or a notification) arrived.
    MessageReceived(SyncmlMessage),
    /// (Client) a message sent with `expect_reply: false` was accepted.
    MessageSent,
    /// The session ended with DISCONNECT.
    SessionEnded,
    /// Something failed; the session may go on (server) or needs a decision (client).
    Error(ObexBindingError),
}

/// We are the OBEX server; the phone starts the session.
#[derive(Debug)]
pub struct SyncmlServer {
    obex: ObexServer,
    reply: Option<GetAnswer>,
    events: VecDeque<SyncmlEvent>,
}

impl SyncmlServer {
    /// A server for the SyncML binding; the Target is forced to `SYNCML-SYNC`.
    pub fn new(mut config: ObexServerConfig) -> Self {
        config.required_target = Some(SYNCML_TARGET.to_vec());
        SyncmlServer {
            obex: ObexServer::new(config),
            reply: None,
            events: VecDeque::new(),
        }
    }

    /// The OBEX machine underneath.
    pub fn obex(&self) -> &ObexServer {
        &self.obex
    }

    /// Hands in the reply to the message received last; it goes out with the phone's GET,
    /// at once if the GET is already waiting.
    pub fn send_reply(&mut self, reply: SyncmlMessage) -> Result<(), ObexBindingError> {
        debug!(bytes = reply.bytes.len(), "SyncML server: reply ready");
        self.queue_answer(GetAnswer::Object {
            headers: vec![Header::Type(reply.content_type.media_type().to_vec())],
            body: reply.bytes,
        })
    }

    /// There will be no reply to the message received last (the engine could not read it):
    /// the phone's GET is refused with `code` instead of left waiting.
    pub fn refuse_reply(&mut self, code: ResponseCode) -> Result<(), ObexBindingError> {
        debug!(?code, "SyncML server: no reply; the GET is refused");
        self.queue_answer(GetAnswer::Refuse(code))
    }

    fn queue_answer(&mut self, answer: GetAnswer) -> Result<(), ObexBindingError> {
        if self.reply.is_some() {
            return Err(ObexBindingError::ReplyAlreadyQueued);
        }
        if self.obex.is_get_pending() {
            self.answer(answer);
        } else {
            self.reply = Some(answer);
        }
        Ok(())
    }

    fn answer(&mut self, answer: GetAnswer) {
        if let Err(error) = self.obex.answer_get(answer) {
            warn!(%error, "SyncML server: the reply could not be sent");
        }
    }

    fn process_obex_events(&mut self) {
        while let Some(event) = self.obex.poll_event() {
            match event {
                ServerEvent::Connected { .. } => {
                    self.reply = None;
                    self.events.push_back(SyncmlEvent::Connected);
                }
                ServerEvent::PutReceived(object) => {
                    let content_type = object
                        .media_type()
                        .map(SyncmlContentType::from_media_type)
                        .unwrap_or(SyncmlContentType::Other(Vec::new()));
                    match object.body {
                        Some(bytes) => {
                            self.events
                                .push_back(SyncmlEvent::MessageReceived(SyncmlMessage {
                                    content_type,
                                    bytes,
                                }))
                        }
                        None => self
                            .events
                            .push_back(SyncmlEvent::Error(ObexBindingError::PutWithoutBody)),
                    }
                }
                ServerEvent::GetRequested { .. } => {
                    if let Some(reply) = self.reply.take() {
                        self.answer(reply);
                    }
                }
                ServerEvent::Aborted => {
                    self.events
                        .push_back(SyncmlEvent::Error(ObexBindingError::PeerAborted));
                }
                ServerEvent::Disconnected => {
                    self.reply = None;
                    self.events.push_back(SyncmlEvent::SessionEnded);
                }
                ServerEvent::Refused { code, reason } => {
                    self.events
                        .push_back(SyncmlEvent::Error(ObexBindingError::Refused {
                            code,
                            reason,
                        }));
                }
                ServerEvent::TimedOut => {
                    self.events
                        .push_back(SyncmlEvent::Error(ObexBindingError::TimedOut));
                }
            }
        }
    }
}

impl Machine for SyncmlServer {
    type Event = SyncmlEvent;

    /// Takes received bytes, in chunks of any size.
    fn handle_input(&mut self, now: Instant, input: &[u8]) {
        self.obex.handle_input(now, input);
        self.process_obex_events();
    }

    /// The next packet to send.
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.obex.poll_transmit()
    }

    /// The next event.
    fn poll_event(&mut self) -> Option<SyncmlEvent> {
        self.events.pop_front()
    }

    /// When [`SyncmlServer::handle_timeout`] should be called, if at all.
    fn poll_timeout(&self) -> Option<Instant> {
        self.obex.poll_timeout()
    }

    /// Passes the time on to the OBEX machine.
    fn handle_timeout(&mut self, now: Instant) {
        self.obex.handle_timeout(now);
        self.process_obex_events();
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ClientState {
    Idle,
    Connecting,
    Ready,
    Putting {
        reply_type: Option<SyncmlContentType>,
    },
    Getting {
        requested: SyncmlContentType,
    },
    Disconnecting,
}

/// We are the OBEX client; the PC starts the session.
#[derive(Debug)]
pub struct SyncmlClient {
    obex: ObexClient,
    state: ClientState,
    /// The content type to GET after a notification: phones answer a SAN with WBXML.
    notification_reply_type: SyncmlContentType,
    events: VecDeque<SyncmlEvent>,
}

impl SyncmlClient {
    /// A client, not yet connected.
    pub fn new(config: ObexClientConfig) -> Self {
        SyncmlClient {
            obex: ObexClient::new(config),
            state: ClientState::Idle,
            notification_reply_type: SyncmlContentType::Wbxml,
            events: VecDeque::new(),
        }
    }

    /// The content type asked for after a notification (WBXML unless set here).
    pub fn set_notification_reply_type(&mut self, content_type: SyncmlContentType) {
        self.notification_reply_type = content_type;
    }

    /// The OBEX machine underneath.
    pub fn obex(&self) -> &ObexClient {
        &self.obex
    }

    /// Whether the client can send a message now.
    pub fn is_ready(&self) -> bool {
        self.state == ClientState::Ready && self.obex.is_idle()
    }

    /// CONNECTs with Target `SYNCML-SYNC`.
    pub fn connect(&mut self, now: Instant) -> Result<(), ObexBindingError> {
        if self.state != ClientState::Idle {
            return Err(ObexBindingError::WrongState("connect while a session runs"));
        }
        self.obex
            .connect(now, vec![Header::Target(SYNCML_TARGET.to_vec())])
            .map_err(|error| ObexBindingError::Obex {
                operation: OperationKind::Connect,
                error,
            })?;
        self.state = ClientState::Connecting;
        Ok(())
    }

    /// PUTs a message; with `expect_reply`, then GETs the phone's answer, which comes up as
    /// [`SyncmlEvent::MessageReceived`]. A notification (SAN) is sent this way too.
    pub fn send(
        &mut self,
        now: Instant,
        message: SyncmlMessage,
        expect_reply: bool,
    ) -> Result<(), ObexBindingError> {
        if !self.is_ready() {
            return Err(ObexBindingError::WrongState(
                "send before connected or while busy",
            ));
        }
        let reply_type = expect_reply.then(|| match &message.content_type {
            SyncmlContentType::Notification => self.notification_reply_type.clone(),
            other => other.clone(),
        });
        self.obex
            .put(
                now,
                vec![
                    Header::Type(message.content_type.media_type().to_vec()),
                    // Length lets the phone refuse an object it cannot hold before the body.
                    Header::Length(u32::try_from(message.bytes.len()).unwrap_or(u32::MAX)),
                ],
                Some(message.bytes),
            )
            .map_err(|error| ObexBindingError::Obex {
                operation: OperationKind::Put,
                error,
            })?;
        self.state = ClientState::Putting { reply_type };
        Ok(())
    }

    /// Ends the session with DISCONNECT.
    pub fn disconnect(&mut self, now: Instant) -> Result<(), ObexBindingError> {
        if !self.is_ready() {
            return Err(ObexBindingError::WrongState(
                "disconnect while not connected and idle",
            ));
        }
        self.obex
            .disconnect(now)
            .map_err(|error| ObexBindingError::Obex {
                operation: OperationKind::Disconnect,
                error,
            })?;
        self.state = ClientState::Disconnecting;
        Ok(())
    }

    fn process_obex_events(&mut self, now: Instant) {
        while let Some(event) = self.obex.poll_event() {
            match event {
                ClientEvent::Connected { .. } => {
                    self.state = ClientState::Ready;
                    self.events.push_back(SyncmlEvent::Connected);
                }
                ClientEvent::PutDone { .. } => {
                    match std::mem::replace(&mut self.state, ClientState::Ready) {
                        ClientState::Putting {
                            reply_type: Some(requested),
                        } => {
                            let headers = vec![Header::Type(requested.media_type().to_vec())];
                            match self.obex.get(now, headers) {
                                Ok(()) => self.state = ClientState::Getting { requested },
                                Err(error) => self.events.push_back(SyncmlEvent::Error(
                                    ObexBindingError::Obex {
                                        operation: OperationKind::Get,
                                        error,
                                    },
                                )),
                            }
                        }
                        _ => self.events.push_back(SyncmlEvent::MessageSent),
                    }
                }
                ClientEvent::GetDone { headers, body } => {
                    let requested = match std::mem::replace(&mut self.state, ClientState::Ready) {
                        ClientState::Getting { requested } => requested,
                        _ => SyncmlContentType::Wbxml,
                    };
                    let content_type = headers
                        .iter()
                        .find_map(|header| match header {
                            Header::Type(media_type) => {
                                Some(SyncmlContentType::from_media_type(media_type))
                            }
                            _ => None,
                        })
                        .unwrap_or(requested);
                    self.events
                        .push_back(SyncmlEvent::MessageReceived(SyncmlMessage {
                            content_type,
                            bytes: body,
                        }));
                }
                ClientEvent::Aborted => self.state = ClientState::Ready,
                ClientEvent::Disconnected => {
                    self.state = ClientState::Idle;
                    self.events.push_back(SyncmlEvent::SessionEnded);
                }
                ClientEvent::Failed { operation, error } => {
                    self.state = if self.obex.is_connected() {
                        ClientState::Ready
                    } else {
                        ClientState::Idle
                    };
                    self.events
                        .push_back(SyncmlEvent::Error(ObexBindingError::Obex {
                            operation,
                            error,
                        }));
                }
            }
        }
    }
}

impl Machine for SyncmlClient {
    type Event = SyncmlEvent;

    /// Takes received bytes, in chunks of any size.
    fn handle_input(&mut self, now: Instant, input: &[u8]) {
        self.obex.handle_input(now, input);
        self.process_obex_events(now);
    }

    /// The next packet to send.
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.obex.poll_transmit()
    }

    /// The next event.
    fn poll_event(&mut self) -> Option<SyncmlEvent> {
        self.events.pop_front()
    }

    /// When [`SyncmlClient::handle_timeout`] should be called, if at all.
    fn poll_timeout(&self) -> Option<Instant> {
        self.obex.poll_timeout()
    }

    /// Passes the time on to the OBEX machine.
    fn handle_timeout(&mut self, now: Instant) {
        self.obex.handle_timeout(now);
        self.process_obex_events(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_recognised() {
        assert_eq!(
            SyncmlContentType::from_media_type(b"application/vnd.syncml+wbxml"),
            SyncmlContentType::Wbxml
        );
        assert_eq!(
            SyncmlContentType::from_media_type(b"Application/VND.SyncML+XML; charset=UTF-8"),
            SyncmlContentType::Xml
        );
        assert_eq!(
            SyncmlContentType::from_media_type(b"application/vnd.syncml.ds.notification"),
            SyncmlContentType::Notification
        );
        assert_eq!(
            SyncmlContentType::from_media_type(b"text/x-vcard"),
            SyncmlContentType::Other(b"text/x-vcard".to_vec())
        );
        assert_eq!(
            SyncmlContentType::Xml.media_type(),
            XML_MEDIA_TYPE.as_bytes()
        );
    }

    #[test]
    fn a_second_reply_before_the_get_is_refused() {
        let mut server = SyncmlServer::new(ObexServerConfig::default());
        let reply = SyncmlMessage::new(SyncmlContentType::Wbxml, vec![1]);
        assert_eq!(server.send_reply(reply.clone()), Ok(()));
        assert_eq!(
            server.send_reply(reply),
            Err(ObexBindingError::ReplyAlreadyQueued)
        );
    }

    fn connected_server(now: Instant) -> SyncmlServer {
        let mut server = SyncmlServer::new(ObexServerConfig {
            idle_timeout: Some(std::time::Duration::from_secs(5)),
            ..ObexServerConfig::default()
        });
        let connect = super::super::packet::Request::connect(
            255,
            vec![Header::Target(SYNCML_TARGET.to_vec())],
        )
        .encode()
        .expect("encodes");
        server.handle_input(now, &connect);
        assert_eq!(server.poll_event(), Some(SyncmlEvent::Connected));
        server.poll_transmit().expect("CONNECT response");
        server
    }

    #[test]
    fn a_phone_silent_in_the_middle_of_a_put_times_out() {
        let now = Instant::now();
        let mut server = connected_server(now);
        // A non-final PUT, then nothing.
        server.handle_input(now, &[0x02, 0x00, 0x06, 0x48, 0x00, 0x03]);
        assert_eq!(server.poll_transmit(), Some(vec![0x90, 0x00, 0x03]));
        let deadline = server.poll_timeout().expect("a deadline");
        assert_eq!(deadline, now + std::time::Duration::from_secs(5));
        server.handle_timeout(deadline);
        assert_eq!(
            server.poll_event(),
            Some(SyncmlEvent::Error(ObexBindingError::TimedOut))
        );
    }

    #[test]
    fn a_put_without_body_or_type_is_reported() {
        let now = Instant::now();
        let mut server = connected_server(now);
        server.handle_input(now, &[0x82, 0x00, 0x03]);
        assert_eq!(
            server.poll_event(),
            Some(SyncmlEvent::Error(ObexBindingError::PutWithoutBody))
        );
        server.handle_input(now, &[0x82, 0x00, 0x07, 0x49, 0x00, 0x04, 0x01]);
        assert_eq!(
            server.poll_event(),
            Some(SyncmlEvent::MessageReceived(SyncmlMessage::new(
                SyncmlContentType::Other(Vec::new()),
                vec![1]
            )))
        );
    }

    #[test]
    fn waiting_for_our_reply_sets_no_deadline() {
        let now = Instant::now();
        let mut server = connected_server(now);
        server.handle_input(now, &[0x82, 0x00, 0x07, 0x49, 0x00, 0x04, 0x01]);
        server.handle_input(now, &[0x83, 0x00, 0x03]);
        assert!(server.obex().is_get_pending());
        assert_eq!(
            server.poll_timeout(),
            None,
            "the phone waits for us, not we for it"
        );
    }

    #[test]
    fn the_client_refuses_to_send_before_connecting() {
        let mut client = SyncmlClient::new(ObexClientConfig::default());
        let message = SyncmlMessage::new(SyncmlContentType::Wbxml, vec![1]);
        assert!(matches!(
            client.send(Instant::now(), message, true),
            Err(ObexBindingError::WrongState(_))
        ));
    }
}
