//! All a transport sees of the session hub: a handle to hand in a SyncML message's bytes and
//! wait for the answer, or to say that a connection is gone. The daemon's hub
//! ([`crate::daemon::hub`]) serves the other end of the channel; the transports never
//! decode SyncML themselves.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use tokio::sync::oneshot;

pub use crate::engine::routing::{Route, SessionKey};
use crate::engine::EngineError;
use crate::store::StoreError;
use crate::syncml::{Encoding, SyncMlError};

/// What the transport says about a message it hands in.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub route: Route,
    /// The client's network address (HTTP, OBEX over TCP); none for Bluetooth and cables.
    pub peer: Option<std::net::IpAddr>,
    /// "http", "obex-tcp"... (the engine's per-transport authentication, logs, records).
    pub transport: String,
    /// For a new session: the RespURI to announce, with `{session}` replaced by its key.
    pub resp_uri_template: Option<String>,
    pub binding: Binding,
}

/// How a transport carries a session's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// All on one connection (OBEX): the session lives and ends with it, in this process.
    Connection,
    /// Each a request of its own (HTTP), which any process serving the same database may
    /// receive: the hub records its sessions for the others, and hands back a message for a
    /// session another process holds ([`HubError::HeldElsewhere`]) to be relayed there,
    /// unless the message was `relayed` to us already (so that it never goes round).
    Request { relayed: bool },
}

/// A session another process holds: where to relay its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSession {
    pub key: SessionKey,
    /// The owner's node id and the address of its HTTP listener.
    pub node: String,
    pub address: String,
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
    /// The message belongs to a session another process holds: relay it there.
    HeldElsewhere(RemoteSession),
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
            HubError::HeldElsewhere(remote) => write!(
                f,
                "the session is held by node {} at {}",
                remote.node, remote.address
            ),
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
    /// The process holding a session refused the relay's connection: it is gone, and the
    /// session is recorded as cut (told back once done).
    OwnerGone {
        session: RemoteSession,
        done: oneshot::Sender<()>,
    },
    /// From the hub's owner: cut every open session and stop.
    Shutdown,
}

/// The transports' side of the hub: cheap to clone, usable from async tasks.
#[derive(Clone)]
pub struct HubHandle {
    requests: mpsc::Sender<HubRequest>,
    /// Messages handed in and not yet answered, shared by every handle.
    waiting: Arc<AtomicUsize>,
    /// More waiting than this and a message is answered [`HubError::Busy`] at once: the
    /// queue (each entry up to a message's size) stays bounded however many clients push.
    max_waiting: usize,
    /// Messages answered busy so far (for the log).
    refused: Arc<AtomicU64>,
}

/// Takes its place in the queue; gives it back when the answer came, or the wait was dropped.
struct QueueSlot(Arc<AtomicUsize>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HubHandle {
    /// A handle on the channel the hub's thread reads, taking at most `max_waiting`
    /// messages at once.
    pub fn new(requests: mpsc::Sender<HubRequest>, max_waiting: usize) -> HubHandle {
        HubHandle {
            requests,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: max_waiting.max(1),
            refused: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Hands a message's bytes in (XML or WBXML) and waits for the answer.
    pub async fn deliver(&self, arrival: Arrival, bytes: Vec<u8>) -> Result<Delivered, HubError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            if super::limits::worth_logging(refused) {
                tracing::warn!(
                    waiting = self.max_waiting,
                    refused,
                    "the session thread's queue is full: messages are answered busy"
                );
            }
            return Err(HubError::Busy);
        }
        let _slot = QueueSlot(self.waiting.clone());
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

    /// The process holding `session` is gone (its listener refused the relay): the session
    /// is recorded as cut; returns once it is.
    pub async fn owner_gone(&self, session: RemoteSession) {
        let (done, recorded) = oneshot::channel();
        if self
            .requests
            .send(HubRequest::OwnerGone { session, done })
            .is_ok()
        {
            let _ = recorded.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival() -> Arrival {
        Arrival {
            route: Route::Header(std::net::IpAddr::from([127, 0, 0, 1])),
            peer: None,
            transport: "http".into(),
            resp_uri_template: None,
            binding: Binding::Request { relayed: false },
        }
    }

    #[test]
    fn a_full_queue_answers_busy_at_once_and_frees_its_place_when_answered() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (requests, hub_side) = mpsc::channel();
            let handle = HubHandle::new(requests, 2);
            let waiting: Vec<_> = (0..2)
                .map(|_| {
                    let handle = handle.clone();
                    tokio::spawn(async move { handle.deliver(arrival(), b"one".to_vec()).await })
                })
                .collect();
            tokio::task::yield_now().await;
            let third = handle.deliver(arrival(), b"three".to_vec()).await;
            assert!(matches!(third, Err(HubError::Busy)), "{third:?}");
            // The hub answers the first two (dropping their answer channels): room again.
            let mut taken = 0;
            while let Ok(HubRequest::Deliver { .. }) = hub_side.try_recv() {
                taken += 1;
            }
            assert_eq!(taken, 2, "the refused message never reached the hub");
            for waiter in waiting {
                assert!(matches!(waiter.await.unwrap(), Err(HubError::Stopped)));
            }
            let fourth = tokio::spawn({
                let handle = handle.clone();
                async move { handle.deliver(arrival(), b"four".to_vec()).await }
            });
            tokio::task::yield_now().await;
            assert!(matches!(
                hub_side.try_recv(),
                Ok(HubRequest::Deliver { .. })
            ));
            assert!(matches!(fourth.await.unwrap(), Err(HubError::Stopped)));
        });
    }
}
