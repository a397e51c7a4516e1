//! SyncML over OBEX on any byte stream (TCP today; serial cables and RFCOMM use the same
//! drivers): the sans-IO machines of [`crate::obex`] on one side, the session hub on the other.
//!
//! - [`serve_phone`]: the phone starts; we are the OBEX server (CONNECT SYNCML-SYNC, a PUT per
//!   message, its GET fetches our answer).
//! - [`call_phone`]: the PC starts; we are the OBEX client (CONNECT, PUT a Server Alerted
//!   Notification, GET the phone's first message, then PUT each answer and GET the next).

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tracing::Instrument;

use super::pump::{Pump, PumpError};
use super::sessions::{Arrival, Binding, HubError, HubHandle, Route, SessionKey};
use crate::engine::EngineError;
use crate::markup::Version;
use crate::obex::{
    ClientError, ObexBindingError, ObexClientConfig, ObexServerConfig, ResponseCode, SyncmlClient,
    SyncmlContentType, SyncmlEvent, SyncmlMessage, SyncmlServer,
};
use crate::syncml::san::San;
use crate::syncml::{to_wbxml, Encoding};
use crate::wbxml::WriterOptions;

/// OBEX settings of our server role.
#[derive(Debug, Clone)]
pub struct ObexServerOptions {
    /// Our maximum OBEX packet (phones of the era use 0x0400..0x2000 or so; we take up to this).
    pub max_packet_length: u16,
    /// The largest SyncML message we take in one PUT.
    pub max_object_size: usize,
    /// A phone silent this long in the middle of an OBEX operation is dropped.
    pub idle_timeout: Duration,
    /// On network links (TCP, RFCOMM): how long a connection may stay silent before its
    /// CONNECT, and then between operations. `None` on cables, where a phone switched to
    /// OBEX mode may wait for its user for hours.
    pub silence: Option<Silence>,
}

/// The silences a network peer is allowed outside an OBEX operation.
#[derive(Debug, Clone, Copy)]
pub struct Silence {
    pub before_connect: Duration,
    pub between_operations: Duration,
}

impl Default for ObexServerOptions {
    fn default() -> Self {
        ObexServerOptions {
            max_packet_length: 0x8000,
            max_object_size: 4 * 1024 * 1024,
            idle_timeout: Duration::from_secs(120),
            silence: None,
        }
    }
}

/// How an OBEX connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// DISCONNECT: the phone closed the session properly.
    Disconnected,
    /// The stream closed without DISCONNECT.
    Closed,
    /// Nothing arrived for too long.
    TimedOut,
    /// The daemon is stopping.
    Shutdown,
}

/// Serves one phone on `stream` until it disconnects or the stream closes. `transport` names
/// the wire ("obex-tcp", "obex-serial"...) for authentication policy, logs and records.
pub async fn serve_phone<S>(
    stream: S,
    hub: HubHandle,
    transport: &str,
    peer: Option<std::net::IpAddr>,
    options: &ObexServerOptions,
) -> std::io::Result<ConnectionEnd>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let machine = SyncmlServer::new(ObexServerConfig {
        max_packet_length: options.max_packet_length,
        required_target: None, // SyncmlServer sets SYNCML-SYNC
        connection_id: 1,
        max_object_size: options.max_object_size,
        idle_timeout: Some(options.idle_timeout),
    });
    let mut pump = Pump::new(stream, machine);
    if let Some(silence) = options.silence {
        pump = pump.with_silence(silence.before_connect);
    }
    let mut session: Option<SessionKey> = None;
    let ended = async {
        loop {
            let event = match pump.next_event().await {
                Ok(event) => event,
                Err(PumpError::Closed) => return Ok(ConnectionEnd::Closed),
                Err(PumpError::Io(e)) => return Err(e),
                Err(PumpError::Silent) => return Ok(ConnectionEnd::TimedOut),
            };
            let end = match event {
                SyncmlEvent::Connected => {
                    tracing::debug!("OBEX connected");
                    if let Some(silence) = options.silence {
                        pump.set_silence(silence.between_operations);
                    }
                    if let Some(previous) = session.take() {
                        hub.close(previous);
                    }
                    None
                }
                SyncmlEvent::MessageReceived(message) => {
                    answer(
                        pump.machine_mut(),
                        &hub,
                        transport,
                        peer,
                        &mut session,
                        message,
                    )
                    .await;
                    None
                }
                SyncmlEvent::SessionEnded => Some(ConnectionEnd::Disconnected),
                SyncmlEvent::Error(error) => {
                    tracing::warn!(%error, "OBEX");
                    matches!(error, ObexBindingError::TimedOut).then_some(ConnectionEnd::TimedOut)
                }
                SyncmlEvent::MessageSent => None,
            };
            if let Some(end) = end {
                // The machine's last words (the answer to DISCONNECT) go out first.
                pump.flush().await?;
                return Ok(end);
            }
        }
    }
    .await;
    if let Some(key) = session {
        // A session that finished is gone from the hub already; one that did not is cut.
        hub.close(key);
    }
    let end = ended?;
    let _ = pump.stream_mut().shutdown().await;
    tracing::info!(?end, "OBEX connection ended");
    Ok(end)
}

/// The SyncML content type of an answer in `encoding`.
fn content_type(encoding: Encoding) -> SyncmlContentType {
    match encoding {
        Encoding::Wbxml => SyncmlContentType::Wbxml,
        Encoding::Xml => SyncmlContentType::Xml,
    }
}

/// Hands one PUT message to the hub and queues the answer (or refuses the GET).
async fn answer(
    machine: &mut SyncmlServer,
    hub: &HubHandle,
    transport: &str,
    peer: Option<std::net::IpAddr>,
    session: &mut Option<SessionKey>,
    message: SyncmlMessage,
) {
    if !matches!(
        message.content_type,
        SyncmlContentType::Wbxml | SyncmlContentType::Xml
    ) {
        tracing::warn!(content_type = ?message.content_type, "a PUT that is not a SyncML message");
        let _ = machine.refuse_reply(ResponseCode::UnsupportedMediaType);
        return;
    }
    let arrival = Arrival {
        // No session yet: a key that names none, so MsgID 1 opens one.
        route: Route::Key(session.unwrap_or(SessionKey::NONE)),
        peer,
        transport: transport.to_string(),
        resp_uri_template: None,
        binding: Binding::Connection,
    };
    let span = tracing::debug_span!("obex_message", session = session.map(|k| k.to_hex()));
    match hub.deliver(arrival, message.bytes).instrument(span).await {
        Ok(delivered) => {
            *session = Some(delivered.session);
            let answer = delivered.answer;
            let reply = SyncmlMessage::new(content_type(answer.encoding), answer.bytes);
            if let Err(error) = machine.send_reply(reply) {
                tracing::error!(%error, "the answer could not be queued");
            }
        }
        Err(error) => {
            tracing::warn!(%error, "message not answered");
            let code = match error {
                HubError::Unreadable(_)
                | HubError::NotAMessage
                | HubError::Engine(EngineError::Decode(_) | EngineError::NoHeader)
                | HubError::UnknownSession => ResponseCode::BadRequest,
                HubError::Stopped | HubError::Busy => ResponseCode::ServiceUnavailable,
                _ => ResponseCode::InternalServerError,
            };
            let _ = machine.refuse_reply(code);
        }
    }
}

/// Which notification the PC opens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanChoice {
    /// SAN 1.2 (binary); when the phone refuses it, the legacy SyncML 1.1 form.
    Auto,
    /// SAN 1.2 only.
    V1_2,
    /// The legacy form only (a SyncML 1.1 message with Alerts 206..210).
    Legacy,
}

/// What the PC asks of the phone.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// The SAN to send (server identifier, session id, datastores and sync types).
    pub san: San,
    pub choice: SanChoice,
    /// The digest secret the phone's profile holds for this server (often empty).
    pub san_password: Vec<u8>,
    pub san_nonce: Vec<u8>,
    pub max_packet_length: u16,
    pub max_object_size: usize,
    /// How long to wait for each OBEX response (phones ask their user before answering a
    /// SAN: minutes, not seconds).
    pub response_timeout: Duration,
}

/// Which notification the phone took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanSent {
    V1_2,
    Legacy,
}

/// What a PC-started session did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReport {
    pub san: SanSent,
    /// SyncML messages the phone sent.
    pub messages_received: usize,
    /// The engine ended the session (package 6 went out).
    pub completed: bool,
}

/// Why a PC-started session failed.
#[derive(Debug)]
pub enum CallError {
    Io(std::io::Error),
    /// The phone closed the connection.
    Closed {
        during: &'static str,
    },
    /// An OBEX operation failed.
    Obex {
        during: &'static str,
        error: ObexBindingError,
    },
    /// The phone refused every notification we tried.
    SanRefused {
        tried: Vec<(SanSent, String)>,
    },
    /// The phone's message could not be answered.
    Unanswered(HubError),
    /// The phone sent something that is not a SyncML message.
    NotSyncml(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Io(e) => write!(f, "connection: {e}"),
            CallError::Closed { during } => write!(f, "the phone closed the connection {during}"),
            CallError::Obex { during, error } => write!(f, "OBEX {during}: {error}"),
            CallError::SanRefused { tried } => {
                f.write_str("the phone refused the sync notification:")?;
                for (san, why) in tried {
                    let name = match san {
                        SanSent::V1_2 => "SAN 1.2",
                        SanSent::Legacy => "legacy SAN (SyncML 1.1 Alert)",
                    };
                    write!(f, " {name}: {why};")?;
                }
                Ok(())
            }
            CallError::Unanswered(e) => write!(f, "the phone's message could not be answered: {e}"),
            CallError::NotSyncml(why) => write!(f, "the phone sent no SyncML message: {why}"),
        }
    }
}

impl std::error::Error for CallError {}

impl From<std::io::Error> for CallError {
    fn from(e: std::io::Error) -> Self {
        CallError::Io(e)
    }
}

/// The client machine on a stream, its events told apart by what the session was doing.
struct ClientLink<S> {
    pump: Pump<S, SyncmlClient>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ClientLink<S> {
    fn machine(&mut self) -> &mut SyncmlClient {
        self.pump.machine_mut()
    }

    async fn next_event(&mut self, during: &'static str) -> Result<SyncmlEvent, CallError> {
        self.pump.next_event().await.map_err(|error| match error {
            PumpError::Io(e) => CallError::Io(e),
            PumpError::Closed | PumpError::Silent => CallError::Closed { during },
        })
    }

    /// Waits for the phone's message after a PUT with a GET.
    async fn receive(&mut self, during: &'static str) -> Result<SyncmlMessage, CallError> {
        loop {
            match self.next_event(during).await? {
                SyncmlEvent::MessageReceived(message) => return Ok(message),
                SyncmlEvent::Error(error) => return Err(CallError::Obex { during, error }),
                SyncmlEvent::SessionEnded => return Err(CallError::Closed { during }),
                SyncmlEvent::Connected | SyncmlEvent::MessageSent => {}
            }
        }
    }
}

/// Calls the phone on `stream`: CONNECT, the notification, then the whole SyncML session with
/// the hub answering, DISCONNECT at the end.
pub async fn call_phone<S>(
    stream: S,
    hub: HubHandle,
    transport: &str,
    options: &CallOptions,
) -> Result<CallReport, CallError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let machine = SyncmlClient::new(ObexClientConfig {
        max_packet_length: options.max_packet_length,
        max_object_size: options.max_object_size,
        response_timeout: Some(options.response_timeout),
    });
    let mut link = ClientLink {
        pump: Pump::new(stream, machine),
    };
    let wrong_state = |during, error| CallError::Obex { during, error };
    link.machine()
        .connect(Instant::now())
        .map_err(|e| wrong_state("connecting", e))?;
    match link.next_event("connecting").await? {
        SyncmlEvent::Connected => {}
        SyncmlEvent::Error(error) => {
            return Err(CallError::Obex {
                during: "connecting",
                error,
            })
        }
        other => {
            return Err(CallError::NotSyncml(format!(
                "unexpected {other:?} while connecting"
            )))
        }
    }

    // The notification, with the fallback a SyncML 1.1 phone needs.
    let mut tried = Vec::new();
    let mut attempts = Vec::new();
    if options.choice != SanChoice::Legacy {
        attempts.push(SanSent::V1_2);
    }
    if options.choice != SanChoice::V1_2 {
        attempts.push(SanSent::Legacy);
    }
    let mut first = None;
    for attempt in attempts {
        let message = match attempt {
            SanSent::V1_2 => {
                let mut san = options.san.clone();
                let bytes = san
                    .encode_signed(&options.san_password, &options.san_nonce)
                    .map_err(|e| CallError::NotSyncml(format!("our SAN: {e}")))?;
                SyncmlMessage::new(SyncmlContentType::Notification, bytes)
            }
            SanSent::Legacy => {
                let legacy = options.san.to_legacy_message(Version::V1_1, "/");
                let bytes = to_wbxml(&legacy, &WriterOptions::default())
                    .map_err(|e| CallError::NotSyncml(format!("our legacy SAN: {e}")))?;
                SyncmlMessage::new(SyncmlContentType::Wbxml, bytes)
            }
        };
        tracing::info!(san = ?attempt, "notifying the phone");
        link.machine()
            .send(Instant::now(), message, true)
            .map_err(|e| wrong_state("sending the notification", e))?;
        match link.receive("after the notification").await {
            Ok(message) => {
                first = Some((attempt, message));
                break;
            }
            Err(CallError::Obex {
                error:
                    ObexBindingError::Obex {
                        error: error @ (ClientError::Refused(_) | ClientError::PeerBusy(_)),
                        ..
                    },
                ..
            }) => {
                tracing::info!(san = ?attempt, %error, "the phone refused the notification");
                tried.push((attempt, error.to_string()));
            }
            Err(other) => return Err(other),
        }
    }
    let Some((san, mut message)) = first else {
        let _ = link.machine().disconnect(Instant::now());
        let _ = link.next_event("disconnecting").await;
        return Err(CallError::SanRefused { tried });
    };

    let mut session: Option<SessionKey> = None;
    let mut messages_received = 0;
    let result: Result<bool, CallError> = async {
        loop {
            messages_received += 1;
            let arrival = Arrival {
                route: Route::Key(session.unwrap_or(SessionKey::NONE)),
                // The PC called the phone: no stranger's flood to bound.
                peer: None,
                transport: transport.to_string(),
                resp_uri_template: None,
                binding: Binding::Connection,
            };
            let delivered =
                hub.deliver(arrival, message.bytes)
                    .await
                    .map_err(|error| match error {
                        HubError::NotAMessage => CallError::NotSyncml("a DevInf document".into()),
                        HubError::Unreadable(e) => CallError::NotSyncml(e.to_string()),
                        other => CallError::Unanswered(other),
                    })?;
            session = Some(delivered.session);
            let answer = delivered.answer;
            let finished = answer.session_finished;
            link.machine()
                .send(
                    Instant::now(),
                    SyncmlMessage::new(content_type(answer.encoding), answer.bytes),
                    !finished,
                )
                .map_err(|e| wrong_state("sending our answer", e))?;
            if finished {
                loop {
                    match link.next_event("sending our last answer").await? {
                        SyncmlEvent::MessageSent => return Ok(true),
                        SyncmlEvent::Error(error) => {
                            return Err(CallError::Obex {
                                during: "sending our last answer",
                                error,
                            })
                        }
                        _ => {}
                    }
                }
            }
            message = link.receive("waiting for the phone's next message").await?;
        }
    }
    .await;
    if let Some(key) = session {
        hub.close(key); // cut unless finished
    }
    let completed = result?;
    if link.machine().disconnect(Instant::now()).is_ok() {
        loop {
            match link.next_event("disconnecting").await {
                Ok(SyncmlEvent::SessionEnded) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    let _ = link.pump.stream_mut().shutdown().await;
    Ok(CallReport {
        san,
        messages_received,
        completed,
    })
}
