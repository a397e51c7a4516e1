//! The session hub: one thread that owns the store and every open SyncML session, fed by the
//! transports (HTTP requests, OBEX connections) through a channel.
//!
//! Why one thread: SQLite has one writer at a time anyway, the engine is CPU work that must
//! not stall the async transports, and a single owner needs no locks around sessions. Each
//! message is applied in its own store transaction, committed before the answer goes out.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use crate::engine::{EngineError, Reply, ServerConfig, Session, SessionParams};
use crate::store::{Store, StoreError, Timestamp};
use crate::syncml::{Encoding, Message};

/// A session's handle, random so that one client cannot guess another's HTTP session URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey(pub u64);

impl SessionKey {
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    pub fn from_hex(text: &str) -> Option<SessionKey> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(SessionKey)
    }
}

/// How a message finds its session.
#[derive(Debug, Clone)]
pub enum Route {
    /// The session a transport opened or an HTTP RespURI named.
    Key(SessionKey),
    /// No handle: by the message's header (SessionID and Source), for HTTP clients that
    /// ignore RespURI. A message with MsgID 1 starts a new session.
    Header,
}

/// What the transport says about a message it hands in.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub route: Route,
    /// "http", "obex-tcp"... (the engine's per-transport authentication, logs, records).
    pub transport: String,
    /// For a new session: the RespURI to announce, with `{session}` replaced by its key.
    pub resp_uri_template: Option<String>,
}

/// The engine's answer and the session it belongs to.
#[derive(Debug)]
pub struct Delivered {
    pub session: SessionKey,
    pub reply: Reply,
}

#[derive(Debug)]
pub enum HubError {
    /// The handle names no open session (expired, finished, or never opened) and the
    /// message does not start a new one.
    UnknownSession,
    /// The engine could not answer (unreadable message, store failure); the session is as it
    /// was before the message.
    Engine(EngineError),
    /// The answer was computed but could not be committed: the session is closed.
    Commit(StoreError),
    /// The hub has stopped (daemon shutting down).
    Stopped,
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HubError::UnknownSession => {
                f.write_str("no such session (it expired, ended, or never started)")
            }
            HubError::Engine(e) => write!(f, "{e}"),
            HubError::Commit(e) => write!(f, "store commit failed: {e}"),
            HubError::Stopped => f.write_str("the server is shutting down"),
        }
    }
}

impl std::error::Error for HubError {}

enum Request {
    Deliver {
        arrival: Arrival,
        message: Box<Message>,
        encoding: Encoding,
        answer: oneshot::Sender<Result<Delivered, HubError>>,
    },
    /// The transport is gone: an unfinished session is recorded as cut.
    Close {
        session: SessionKey,
    },
    Shutdown,
}

/// The transports' side of the hub: cheap to clone, usable from async tasks.
#[derive(Clone)]
pub struct HubHandle {
    requests: mpsc::Sender<Request>,
}

impl HubHandle {
    /// Hands a decoded message in and waits for the answer.
    pub async fn deliver(
        &self,
        arrival: Arrival,
        message: Message,
        encoding: Encoding,
    ) -> Result<Delivered, HubError> {
        let (answer, receiver) = oneshot::channel();
        self.requests
            .send(Request::Deliver {
                arrival,
                message: Box::new(message),
                encoding,
                answer,
            })
            .map_err(|_| HubError::Stopped)?;
        receiver.await.map_err(|_| HubError::Stopped)?
    }

    /// The transport closed: a session that had not finished is recorded as cut.
    pub fn close(&self, session: SessionKey) {
        let _ = self.requests.send(Request::Close { session });
    }
}

/// Settings of the hub itself.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// A session with no message for this long is cut (recorded, anchors unmoved).
    pub idle_timeout: Duration,
}

/// The running hub: its thread and a handle to it. Dropping it without [`Hub::shutdown`]
/// leaves the thread to end when the last handle is gone.
pub struct Hub {
    handle: HubHandle,
    thread: Option<JoinHandle<()>>,
}

impl Hub {
    /// Starts the hub's thread, which takes the store.
    pub fn start(store: Store, config: std::sync::Arc<ServerConfig>, options: HubOptions) -> Hub {
        let (requests, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("handsync-sessions".into())
            .spawn(move || {
                Worker {
                    store,
                    config,
                    options,
                    sessions: HashMap::new(),
                    by_header: HashMap::new(),
                }
                .run(receiver)
            })
            .expect("spawning the session thread");
        Hub {
            handle: HubHandle { requests },
            thread: Some(thread),
        }
    }

    pub fn handle(&self) -> HubHandle {
        self.handle.clone()
    }

    /// Cuts every open session (recorded as such) and waits for the thread to end.
    pub fn shutdown(mut self) {
        let _ = self.handle.requests.send(Request::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct OpenSession {
    session: Session,
    last_activity: Instant,
    /// The header key it is known by for clients without RespURI.
    header_key: Option<HeaderKey>,
}

/// A client's own SessionID and its device URI: what identifies a session without our key.
type HeaderKey = (String, String);

struct Worker {
    store: Store,
    config: std::sync::Arc<ServerConfig>,
    options: HubOptions,
    sessions: HashMap<SessionKey, OpenSession>,
    by_header: HashMap<HeaderKey, SessionKey>,
}

impl Worker {
    fn run(mut self, receiver: mpsc::Receiver<Request>) {
        loop {
            let wait = self.until_next_expiry();
            match receiver.recv_timeout(wait) {
                Ok(Request::Deliver {
                    arrival,
                    message,
                    encoding,
                    answer,
                }) => {
                    let result = self.deliver(arrival, &message, encoding);
                    let _ = answer.send(result);
                }
                Ok(Request::Close { session }) => self.cut(session, "transport closed"),
                Ok(Request::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            self.expire_idle();
        }
        let open: Vec<SessionKey> = self.sessions.keys().copied().collect();
        for key in open {
            self.cut(key, "server shut down");
        }
    }

    fn until_next_expiry(&self) -> Duration {
        let now = Instant::now();
        self.sessions
            .values()
            .map(|open| {
                (open.last_activity + self.options.idle_timeout).saturating_duration_since(now)
            })
            .min()
            .unwrap_or(Duration::from_secs(3600))
            // Never spin: expiry is checked again after each request anyway.
            .max(Duration::from_millis(10))
    }

    fn expire_idle(&mut self) {
        let now = Instant::now();
        let expired: Vec<SessionKey> = self
            .sessions
            .iter()
            .filter(|(_, open)| now.duration_since(open.last_activity) >= self.options.idle_timeout)
            .map(|(key, _)| *key)
            .collect();
        for key in expired {
            tracing::info!(session = %key.to_hex(), "session idle too long; cut");
            self.cut(key, "idle timeout");
        }
    }

    fn deliver(
        &mut self,
        arrival: Arrival,
        message: &Message,
        encoding: Encoding,
    ) -> Result<Delivered, HubError> {
        let starts_session = message.header.as_ref().is_some_and(|h| h.msg_id == 1);
        let header_key = message
            .header
            .as_ref()
            .map(|h| (h.session_id.to_string(), h.source.loc_uri.to_string()));

        let existing = match &arrival.route {
            Route::Key(key) => Some(*key).filter(|key| self.sessions.contains_key(key)),
            Route::Header => header_key
                .as_ref()
                .and_then(|k| self.by_header.get(k).copied()),
        };
        // A MsgID 1 on a session that already answered messages is the client starting over
        // (a phone retrying after a failure): the old session is cut, a new one starts.
        let existing = existing.filter(|key| {
            !(starts_session && self.sessions[key].session.store_session().is_some())
        });
        let key = match existing {
            Some(key) => key,
            None if starts_session => {
                if let Some(old) = header_key
                    .as_ref()
                    .and_then(|k| self.by_header.get(k).copied())
                {
                    self.cut(old, "client started a new session");
                }
                if let Route::Key(old) = arrival.route {
                    self.cut(old, "client started a new session");
                }
                self.open(&arrival, header_key.clone())
            }
            None => return Err(HubError::UnknownSession),
        };

        let now = unix_now();
        let open = self
            .sessions
            .get_mut(&key)
            .expect("session just found or opened");
        open.last_activity = Instant::now();
        let tx = self.store.begin().map_err(|e| HubError::Engine(e.into()))?;
        let result = open.session.receive_message(&tx, message, encoding, now);
        match result {
            Ok(reply) => {
                if let Err(e) = tx.commit() {
                    tracing::error!(error = %e, "commit failed; session closed");
                    self.forget(key);
                    return Err(HubError::Commit(e));
                }
                if reply.session_finished {
                    self.forget(key);
                }
                Ok(Delivered {
                    session: key,
                    reply,
                })
            }
            Err(error) => {
                drop(tx);
                // A first message we could not even answer leaves nothing worth keeping.
                if open.session.store_session().is_none() && starts_session {
                    self.forget(key);
                }
                Err(HubError::Engine(error))
            }
        }
    }

    fn open(&mut self, arrival: &Arrival, header_key: Option<HeaderKey>) -> SessionKey {
        let key = loop {
            let key = SessionKey(random_u64());
            // 0 is what a malformed session parameter maps to: never a real session.
            if key.0 != 0 && !self.sessions.contains_key(&key) {
                break key;
            }
        };
        let params = SessionParams {
            transport: arrival.transport.clone(),
            resp_uri: arrival
                .resp_uri_template
                .as_ref()
                .map(|t| t.replace("{session}", &key.to_hex())),
            seed: random_u64(),
        };
        if let Some(header_key) = &header_key {
            self.by_header.insert(header_key.clone(), key);
        }
        self.sessions.insert(
            key,
            OpenSession {
                session: Session::new(self.config.clone(), params),
                last_activity: Instant::now(),
                header_key,
            },
        );
        key
    }

    /// Records an unfinished session as cut and drops it.
    fn cut(&mut self, key: SessionKey, why: &str) {
        let Some(mut open) = self.forget(key) else {
            return;
        };
        if open.session.is_finished() {
            return;
        }
        let result = (|| -> Result<(), EngineError> {
            let tx = self.store.begin()?;
            open.session.abort(&tx, unix_now())?;
            tx.commit()?;
            Ok(())
        })();
        match result {
            Ok(()) => tracing::info!(session = %key.to_hex(), why, "session cut"),
            Err(e) => {
                tracing::error!(session = %key.to_hex(), why, error = %e, "recording the cut session failed")
            }
        }
    }

    fn forget(&mut self, key: SessionKey) -> Option<OpenSession> {
        let open = self.sessions.remove(&key)?;
        if let Some(header_key) = &open.header_key {
            if self.by_header.get(header_key) == Some(&key) {
                self.by_header.remove(header_key);
            }
        }
        Some(open)
    }
}

fn unix_now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_unix_millis(millis)
}

/// 64 random bits from the OS, falling back to the standard library's per-process keys.
pub fn random_u64() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok()
    {
        return u64::from_le_bytes(bytes);
    }
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(Instant::now())
}
