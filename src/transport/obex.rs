//! SyncML over OBEX on any byte stream (TCP today; serial cables and RFCOMM use the same
//! drivers): the sans-IO machines of [`crate::obex`] on one side, the session hub on the other.
//!
//! - [`serve_phone`]: the phone starts; we are the OBEX server (CONNECT SYNCML-SYNC, a PUT per
//!   message, its GET fetches our answer).

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::Instrument;

use crate::daemon::hub::{Arrival, HubError, HubHandle, Route, SessionKey};
use crate::engine::EngineError;
use crate::obex::{
    ResponseCode, ServerConfig as ObexServerConfig, SyncmlContentType, SyncmlEvent, SyncmlMessage,
    SyncmlServer,
};
use crate::syncml::{decode_document, Document, Encoding};

/// OBEX settings of our server role.
#[derive(Debug, Clone)]
pub struct ObexServerOptions {
    /// Our maximum OBEX packet (phones of the era use 0x0400..0x2000 or so; we take up to this).
    pub max_packet_length: u16,
    /// The largest SyncML message we take in one PUT.
    pub max_object_size: usize,
    /// A phone silent this long in the middle of an OBEX operation is dropped.
    pub idle_timeout: Duration,
}

impl Default for ObexServerOptions {
    fn default() -> Self {
        ObexServerOptions {
            max_packet_length: 0x8000,
            max_object_size: 4 * 1024 * 1024,
            idle_timeout: Duration::from_secs(120),
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
    mut stream: S,
    hub: HubHandle,
    transport: &str,
    options: &ObexServerOptions,
) -> std::io::Result<ConnectionEnd>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut machine = SyncmlServer::new(ObexServerConfig {
        max_packet_length: options.max_packet_length,
        required_target: None, // SyncmlServer sets SYNCML-SYNC
        connection_id: 1,
        max_object_size: options.max_object_size,
        idle_timeout: Some(options.idle_timeout),
    });
    let mut session: Option<SessionKey> = None;
    let mut buffer = vec![0u8; 16 * 1024];
    let end = loop {
        flush(&mut machine, &mut stream).await?;
        let mut ended = None;
        while let Some(event) = machine.poll_event() {
            match event {
                SyncmlEvent::Connected => {
                    tracing::debug!("OBEX connected");
                    if let Some(previous) = session.take() {
                        hub.close(previous);
                    }
                }
                SyncmlEvent::MessageReceived(message) => {
                    answer(&mut machine, &hub, transport, &mut session, message).await;
                }
                SyncmlEvent::SessionEnded => ended = Some(ConnectionEnd::Disconnected),
                SyncmlEvent::Error(error) => {
                    tracing::warn!(%error, "OBEX");
                    if matches!(error, crate::obex::SyncmlError::TimedOut) {
                        ended = Some(ConnectionEnd::TimedOut);
                    }
                }
                SyncmlEvent::MessageSent => {}
            }
        }
        flush(&mut machine, &mut stream).await?;
        if let Some(end) = ended {
            break end;
        }
        let deadline = machine.poll_timeout();
        let read = async {
            match deadline {
                Some(deadline) => {
                    tokio::time::timeout_at(deadline.into(), stream.read(&mut buffer)).await
                }
                None => Ok(stream.read(&mut buffer).await),
            }
        };
        match read.await {
            Ok(Ok(0)) => break ConnectionEnd::Closed,
            Ok(Ok(n)) => machine.handle_input(Instant::now(), &buffer[..n]),
            Ok(Err(e)) => {
                if let Some(key) = session {
                    hub.close(key);
                }
                return Err(e);
            }
            Err(_elapsed) => machine.handle_timeout(Instant::now()),
        }
    };
    let _ = stream.shutdown().await;
    if let Some(key) = session {
        // A session that finished is gone from the hub already; one that did not is cut.
        hub.close(key);
    }
    tracing::info!(?end, "OBEX connection ended");
    Ok(end)
}

async fn flush<S: AsyncWrite + Unpin>(
    machine: &mut SyncmlServer,
    stream: &mut S,
) -> std::io::Result<()> {
    let mut wrote = false;
    while let Some(packet) = machine.poll_transmit() {
        stream.write_all(&packet).await?;
        wrote = true;
    }
    if wrote {
        stream.flush().await?;
    }
    Ok(())
}

/// Hands one PUT message to the hub and queues the answer (or refuses the GET).
async fn answer(
    machine: &mut SyncmlServer,
    hub: &HubHandle,
    transport: &str,
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
    let (decoded, encoding) = match decode_document(&message.bytes) {
        Ok((Document::Message(decoded), encoding)) => (decoded, encoding),
        Ok((Document::DevInf(_), _)) => {
            tracing::warn!("a DevInf document PUT as a SyncML message");
            let _ = machine.refuse_reply(ResponseCode::BadRequest);
            return;
        }
        Err(error) => {
            tracing::warn!(%error, len = message.bytes.len(), "unreadable SyncML message");
            let _ = machine.refuse_reply(ResponseCode::BadRequest);
            return;
        }
    };
    let arrival = Arrival {
        // No session yet: key 0 names none, so MsgID 1 opens one.
        route: Route::Key(session.unwrap_or(SessionKey(0))),
        transport: transport.to_string(),
        resp_uri_template: None,
    };
    let span = tracing::debug_span!("obex_message", session = session.map(|k| k.to_hex()));
    match hub
        .deliver(arrival, decoded, encoding)
        .instrument(span)
        .await
    {
        Ok(delivered) => {
            *session = Some(delivered.session);
            let content_type = match delivered.reply.encoding {
                Encoding::Wbxml => SyncmlContentType::Wbxml,
                Encoding::Xml => SyncmlContentType::Xml,
            };
            if let Err(error) =
                machine.send_reply(SyncmlMessage::new(content_type, delivered.reply.bytes))
            {
                tracing::error!(%error, "the answer could not be queued");
            }
        }
        Err(error) => {
            tracing::warn!(%error, "message not answered");
            let code = match error {
                HubError::Engine(EngineError::Decode(_) | EngineError::NoHeader)
                | HubError::UnknownSession => ResponseCode::BadRequest,
                HubError::Stopped => ResponseCode::ServiceUnavailable,
                _ => ResponseCode::InternalServerError,
            };
            let _ = machine.refuse_reply(code);
        }
    }
}
