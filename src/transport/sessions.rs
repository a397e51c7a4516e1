//! All a transport sees of the session hub: a handle to hand in a SyncML message's bytes and
//! wait for the answer, or to say that a connection is gone. The daemon's hub
//! ([`crate::daemon::hub`]) serves the other end of the channel; the transports never
//! decode SyncML themselves.

use std::sync::mpsc;

use tokio::sync::oneshot;

pub use crate::engine::routing::{Route, SessionKey};
use crate::engine::EngineError;
use crate::store::StoreError;
use crate::syncml::{Encoding, SyncMlError};

/// What the transport says about a message it hands in.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub route: Route,
    /// "http", "obex-tcp"... (the engine's per-transport authentication, logs, records).
    pub transport: String,
    /// For a new session: the RespURI to announce, with `{session}` replaced by its key.
    pub resp_uri_template: Option<String>,
}

/// Our answer, as the transport sends it.
#[derive(Debug)]
pub struct Answer {
    /// Encoded as the client encoded its message.
    pub bytes: Vec<u8>,
    pub encoding: Encoding,
    /// The session is over: the transport may close after sending this.
    pub session_finished: bool,
}

/// The answer and the session it belongs to.
#[derive(Debug)]
pub struct Delivered {
    pub session: SessionKey,
    pub answer: Answer,
}

#[derive(Debug)]
pub enum HubError {
    /// The bytes are no SyncML document (garbage, truncated): where and why.
    Unreadable(SyncMlError),
    /// A DevInf document where a SyncML message belongs.
    NotAMessage,
    /// The handle names no open session (expired, finished, or never opened) and the
    /// message does not start a new one.
    UnknownSession,
    /// The engine could not answer (store failure, no SyncHdr); the session is as it was
    /// before the message.
    Engine(EngineError),
    /// The answer was computed but could not be committed: the session is closed.
    Commit(StoreError),
    /// The hub has stopped (daemon shutting down).
    Stopped,
    /// As many sessions are open as the limits allow: the client should try again later.
    Busy,
    /// A fault in our code while handling the message (logged with the message's header):
    /// its session was cut, the others go on.
    Internal(String),
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HubError::Unreadable(e) => write!(f, "unreadable SyncML message: {e}"),
            HubError::NotAMessage => f.write_str("a DevInf document is not a SyncML message"),
            HubError::UnknownSession => {
                f.write_str("no such session (it expired, ended, or never started)")
            }
            HubError::Engine(e) => write!(f, "{e}"),
            HubError::Commit(e) => write!(f, "store commit failed: {e}"),
            HubError::Stopped => f.write_str("the server is shutting down"),
            HubError::Busy => f.write_str("too many sessions are open; try again later"),
            HubError::Internal(what) => {
                write!(
                    f,
                    "internal error (the session was cut; it is logged): {what}"
                )
            }
        }
    }
}

impl std::error::Error for HubError {}

/// What travels to the hub's thread.
pub enum HubRequest {
    Deliver {
        arrival: Arrival,
        bytes: Vec<u8>,
        answer: oneshot::Sender<Result<Delivered, HubError>>,
    },
    /// The transport is gone: an unfinished session is recorded as cut.
    Close { session: SessionKey },
    /// From the hub's owner: cut every open session and stop.
    Shutdown,
}

/// The transports' side of the hub: cheap to clone, usable from async tasks.
#[derive(Clone)]
pub struct HubHandle {
    requests: mpsc::Sender<HubRequest>,
}

impl HubHandle {
    /// A handle on the channel the hub's thread reads.
    pub fn new(requests: mpsc::Sender<HubRequest>) -> HubHandle {
        HubHandle { requests }
    }

    /// Hands a message's bytes in (XML or WBXML) and waits for the answer.
    pub async fn deliver(&self, arrival: Arrival, bytes: Vec<u8>) -> Result<Delivered, HubError> {
        let (answer, receiver) = oneshot::channel();
        self.requests
            .send(HubRequest::Deliver {
                arrival,
                bytes,
                answer,
            })
            .map_err(|_| HubError::Stopped)?;
        receiver.await.map_err(|_| HubError::Stopped)?
    }

    /// The transport closed: a session that had not finished is recorded as cut.
    pub fn close(&self, session: SessionKey) {
        let _ = self.requests.send(HubRequest::Close { session });
    }
}
