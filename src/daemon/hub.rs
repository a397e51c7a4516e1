//! The session hub: one thread that owns the store and every open SyncML session, fed by the
//! transports (HTTP requests, OBEX connections) through a channel.
//!
//! Why one thread: SQLite has one writer at a time anyway, the engine is CPU work that must
//! not stall the async transports, and a single owner needs no locks around sessions. Each
//! message is applied in its own store transaction, committed before the answer goes out.
//! Which session a message belongs to is the engine's [`SessionTable`]'s decision; the hub
//! hands it the clock and the random values.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::cluster::{ClusterNode, Membership, Whereabouts};
use super::observe::{phone_name, Outcome, SessionEnd, SessionObserver, SessionProgress};
use crate::engine::routing::{RemoteLookup, RouteError, SessionLimits, SessionTable};
use crate::engine::{EngineError, ServerConfig, Session, SessionParams};
use crate::entropy::random_u64;
use crate::store::{Store, Timestamp};
use crate::syncml::{decode_document, Document, Encoding, Message};
use crate::transport::limits::worth_logging;
pub use crate::transport::sessions::{
    Answer, Arrival, Binding, Delivered, HubError, HubHandle, HubRequest, Route, SessionKey,
};

/// Settings of the hub itself.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// A session with no message for this long is cut (recorded, anchors unmoved).
    pub idle_timeout: Duration,
    /// Messages waiting for the session thread at most; more are answered busy.
    pub queue: usize,
    /// Bytes the large objects of all open sessions may hold together.
    pub large_objects: u64,
    /// Told of each session's progress and of its end.
    pub observer: Option<Arc<dyn SessionObserver>>,
    /// This process as a node among others serving the same database (`serve` with HTTP).
    pub cluster: Option<Membership>,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            idle_timeout: Duration::from_secs(300),
            queue: 256,
            // Sixteen 4 MiB objects at once.
            large_objects: 64 * 1024 * 1024,
            observer: None,
            cluster: None,
        }
    }
}

/// The running hub: its thread and a handle to it. Dropping it without [`Hub::shutdown`]
/// leaves the thread to end when the last handle is gone.
pub struct Hub {
    requests: mpsc::Sender<HubRequest>,
    thread: Option<JoinHandle<()>>,
    handle: HubHandle,
}

impl Hub {
    /// Starts the hub's thread, which takes the store.
    pub fn start(
        mut store: Store,
        config: std::sync::Arc<ServerConfig>,
        options: HubOptions,
    ) -> Hub {
        let (requests, receiver) = mpsc::channel();
        let handle = HubHandle::new(requests.clone(), options.queue);
        let thread = std::thread::Builder::new()
            .name("handsync-sessions".into())
            .spawn(move || {
                let limits = SessionLimits {
                    total: config.max_sessions,
                    per_device: config.max_sessions_per_device,
                    per_address: config.max_sessions_per_address,
                };
                // Registered before the first message is taken, so every route recorded
                // names a registered node.
                let cluster = options
                    .cluster
                    .map(|membership| ClusterNode::join(&mut store, membership));
                Worker {
                    store,
                    config,
                    sessions: SessionTable::new(options.idle_timeout).with_limits(limits),
                    large_objects: options.large_objects,
                    busy_refusals: 0,
                    observer: options.observer,
                    cluster,
                }
                .run(receiver)
            })
            .expect("spawning the session thread");
        Hub {
            requests,
            thread: Some(thread),
            handle,
        }
    }

    /// A handle for a transport; all handles share one bounded queue.
    pub fn handle(&self) -> HubHandle {
        self.handle.clone()
    }

    /// Cuts every open session (recorded as such) and waits for the thread to end.
    pub fn shutdown(mut self) {
        let _ = self.requests.send(HubRequest::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The one place an incoming SyncML message is decoded, for every transport: the bytes
/// decide the encoding (some phones label WBXML as XML), and a DevInf document is refused.
fn decode_message(bytes: &[u8]) -> Result<(Message, Encoding), HubError> {
    match decode_document(bytes) {
        Ok((Document::Message(message), encoding)) => Ok((message, encoding)),
        Ok((Document::DevInf(_), _)) => {
            tracing::warn!("a DevInf document sent as a SyncML message");
            Err(HubError::NotAMessage)
        }
        Err(error) => {
            tracing::warn!(%error, len = bytes.len(), "unreadable SyncML message");
            Err(HubError::Unreadable(error))
        }
    }
}

struct Worker {
    store: Store,
    config: std::sync::Arc<ServerConfig>,
    sessions: SessionTable<Session>,
    /// The budget of all sessions' large objects together (bytes).
    large_objects: u64,
    /// New sessions refused at the limits so far.
    busy_refusals: u64,
    observer: Option<Arc<dyn SessionObserver>>,
    cluster: Option<ClusterNode>,
}

impl Worker {
    fn run(mut self, receiver: mpsc::Receiver<HubRequest>) {
        loop {
            let wait = self.until_next_expiry();
            match receiver.recv_timeout(wait) {
                Ok(HubRequest::Deliver {
                    arrival,
                    bytes,
                    answer,
                }) => {
                    let result = self.deliver(arrival, &bytes);
                    let _ = answer.send(result);
                }
                Ok(HubRequest::Close { session }) => {
                    if let Some(open) = self.sessions.remove(session) {
                        self.cut(session, open, Ending::Abandoned("transport closed"));
                    }
                }
                Ok(HubRequest::OwnerGone { session, done }) => {
                    if let Some(cluster) = &mut self.cluster {
                        cluster.owner_gone(&mut self.store, &session);
                    }
                    let _ = done.send(());
                }
                Ok(HubRequest::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            for (key, open) in self.sessions.expire(Instant::now()) {
                tracing::info!(session = %key.to_hex(), "session idle too long; cut");
                self.cut(key, open, Ending::Abandoned("idle timeout"));
            }
            self.heartbeat_if_due();
        }
        for (key, open) in self.sessions.drain() {
            self.cut(key, open, Ending::Cut("server shut down"));
        }
        if let Some(cluster) = self.cluster.take() {
            cluster.leave(&mut self.store);
        }
    }

    /// The node's heartbeat, when its time came (checked after every request, so that a
    /// busy hub still beats on time).
    fn heartbeat_if_due(&mut self) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        if Instant::now() < cluster.next_heartbeat() {
            return;
        }
        for key in cluster.heartbeat(&mut self.store) {
            self.sessions.remove(key);
        }
    }

    /// Forgets the route of a session that ended here.
    fn forget_route(&mut self, key: SessionKey) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        if !cluster.holds(key) {
            return;
        }
        if let Err(error) = self.store.transaction(|tx| cluster.forget_in(tx, key)) {
            tracing::warn!(%error, session = %key.to_hex(), "forgetting the route of an ended session failed");
        }
    }

    /// The answer to a message no session here took: the session another node holds, when
    /// the transport may relay there; else unknown.
    fn not_here(&mut self, arrival: &Arrival, message: &Message) -> HubError {
        match self.whereabouts(arrival, message, None) {
            Ok(Whereabouts::Elsewhere(remote)) => HubError::HeldElsewhere(remote),
            Ok(Whereabouts::Here | Whereabouts::Gone) => HubError::UnknownSession,
            Err(error) => error,
        }
    }

    /// Where the session of a message that may be relayed lives, as the routes say; `here`
    /// is the session of this process it would go to.
    fn whereabouts(
        &mut self,
        arrival: &Arrival,
        message: &Message,
        here: Option<SessionKey>,
    ) -> Result<Whereabouts, HubError> {
        let (Some(cluster), Binding::Request { relayed: false }) =
            (&mut self.cluster, arrival.binding)
        else {
            return Ok(Whereabouts::Here);
        };
        let Some(lookup) = RemoteLookup::of(arrival.route, message) else {
            return Ok(Whereabouts::Here);
        };
        cluster
            .whereabouts(&mut self.store, &lookup, here)
            .map_err(|error| {
                tracing::error!(%error, "looking up which node holds a session failed");
                HubError::Engine(error.into())
            })
    }

    /// A message of a client that ignores RespURI, matching a session here by its header:
    /// when the client has since started a session with the same header on another node
    /// (nginx sent its first message there), that one is the client's. The session here is
    /// left behind, as when a client starts anew on one node.
    fn started_anew_elsewhere(
        &mut self,
        arrival: &Arrival,
        message: &Message,
    ) -> Result<(), HubError> {
        let Some(RemoteLookup::Header(header)) = RemoteLookup::of(arrival.route, message) else {
            return Ok(());
        };
        let Some(here) = self.sessions.by_header(&header) else {
            return Ok(());
        };
        let answer = match self.whereabouts(arrival, message, Some(here))? {
            Whereabouts::Here => return Ok(()),
            Whereabouts::Elsewhere(remote) => HubError::HeldElsewhere(remote),
            Whereabouts::Gone => HubError::UnknownSession,
        };
        if let Some(open) = self.sessions.remove(here) {
            let why = "client started a new session on another node";
            self.cut(here, open, Ending::Abandoned(why));
        }
        Err(answer)
    }

    fn until_next_expiry(&self) -> Duration {
        let heartbeat = self.cluster.as_ref().map(ClusterNode::next_heartbeat);
        self.sessions
            .next_expiry()
            .into_iter()
            .chain(heartbeat)
            .min()
            .map_or(Duration::from_secs(3600), |expiry| {
                expiry.saturating_duration_since(Instant::now())
            })
            // Never spin: expiry is checked again after each request anyway.
            .max(Duration::from_millis(10))
    }

    fn deliver(&mut self, arrival: Arrival, bytes: &[u8]) -> Result<Delivered, HubError> {
        let (message, encoding) = decode_message(bytes)?;
        if self.cluster.is_some() {
            self.started_anew_elsewhere(&arrival, &message)?;
        }
        let config = &self.config;
        let routed = self.sessions.route(
            arrival.route,
            arrival.peer,
            &message,
            Instant::now(),
            random_u64,
            |key| {
                let params = SessionParams {
                    transport: arrival.transport.clone(),
                    resp_uri: arrival
                        .resp_uri_template
                        .as_ref()
                        .map(|t| t.replace("{session}", &key.to_hex())),
                    seed: random_u64(),
                };
                Session::new(config.clone(), params)
            },
        );
        let routed = match routed {
            Ok(routed) => routed,
            Err(RouteError::UnknownSession) => return Err(self.not_here(&arrival, &message)),
            Err(RouteError::Busy) => {
                self.busy_refusals += 1;
                if worth_logging(self.busy_refusals) {
                    tracing::warn!(
                        open = self.sessions.len(),
                        refused = self.busy_refusals,
                        "session limit reached: new sessions are refused for now"
                    );
                }
                return Err(HubError::Busy);
            }
        };
        for (old, open) in routed.replaced {
            self.cut(old, open, Ending::Abandoned("client started a new session"));
        }
        let key = routed.key;

        let held_by_others: u64 = self
            .sessions
            .iter()
            .filter(|(other, _)| *other != key)
            .map(|(_, session)| session.large_object_reserved())
            .sum();
        let tx = self.store.begin().map_err(|e| HubError::Engine(e.into()))?;
        if let (true, Binding::Request { .. }, Some(cluster)) =
            (routed.opened, arrival.binding, &mut self.cluster)
        {
            // In the first message's transaction: the route exists exactly when the session's
            // first answer was committed.
            if let Err(error) = cluster.record_opened(&tx, key, self.sessions.header_key(key)) {
                drop(tx);
                self.sessions.remove(key);
                self.forget_route(key);
                return Err(HubError::Engine(error.into()));
            }
        }
        let session = self
            .sessions
            .get_mut(key)
            .expect("session just found or opened");
        // A completed session still takes late Maps: its end is told once, when it completes.
        let completed_before = session.is_completed();
        session.set_large_object_allowance(self.large_objects.saturating_sub(held_by_others));
        // A bug in the engine cuts its own session only: the message's transaction is rolled
        // back, the session (as it was before the message) is recorded as cut, and the hub
        // goes on serving the others.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            #[cfg(debug_assertions)]
            inject_fault(&message);
            session.receive_message(&tx, &message, encoding, unix_now())
        }));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(payload) => {
                drop(tx);
                let what = panic_text(payload.as_ref());
                let header = message.header.as_ref();
                let commands: Vec<&str> = message.body.commands.iter().map(|c| c.name()).collect();
                tracing::error!(
                    session = %key.to_hex(),
                    transport = %arrival.transport,
                    device = header.map(|h| h.source.loc_uri.as_str()),
                    msg_id = header.map(|h| h.msg_id),
                    size = bytes.len(),
                    ?commands,
                    panic = %what,
                    "the engine failed on this message: its session is cut, the others go on"
                );
                if let Some(open) = self.sessions.remove(key) {
                    self.cut(key, open, Ending::Cut("internal error"));
                }
                return Err(HubError::Internal(what));
            }
        };
        let session = self
            .sessions
            .get_mut(key)
            .expect("session just found or opened");
        match outcome {
            Ok(reply) => {
                let completed = session.is_completed();
                let progress = self.observer.is_some().then(|| session.progress().to_vec());
                let store_session = session.store_session();
                let recorded = match &mut self.cluster {
                    Some(cluster) => cluster.record_store_session(&tx, key, store_session),
                    None => Ok(()),
                };
                if let Err(e) = recorded.and_then(|()| tx.commit()) {
                    tracing::error!(error = %e, "commit failed; session closed");
                    self.sessions.remove(key);
                    self.forget_route(key);
                    return Err(HubError::Commit(e));
                }
                self.sessions.mark_answered(key);
                if let (Some(observer), Some(datastores)) = (&self.observer, progress) {
                    observer.progress(&SessionProgress {
                        session: key,
                        transport: arrival.transport.clone(),
                        datastores,
                        message_in: bytes.len() as u64,
                        message_out: reply.bytes.len() as u64,
                    });
                }
                // A completed session stays routable until it idles out: some clients send
                // their Maps, or statuses and Alert 222, after our last package, and the
                // engine still answers them (and applies the Maps). A session that failed
                // takes nothing more.
                if reply.session_finished && !completed {
                    self.forget_route(key);
                    if let Some(failed) = self.sessions.remove(key) {
                        let error = failed
                            .failure()
                            .unwrap_or("the session ended unfinished")
                            .to_string();
                        if let Some(observer) = &self.observer {
                            let outcome = Outcome::Failed { error };
                            observer.ended(&end_report(&mut self.store, key, &failed, outcome));
                        }
                    }
                }
                if completed {
                    self.sessions.mark_completed(key);
                    let session = self.sessions.get_mut(key);
                    if let (Some(observer), Some(session), false) =
                        (&self.observer, session, completed_before)
                    {
                        let counts = session_counts(&mut self.store, session);
                        let datastores = session.progress().iter().map(|p| p.datastore).collect();
                        let outcome = Outcome::Completed { datastores, counts };
                        observer.ended(&end_report(&mut self.store, key, session, outcome));
                    }
                }
                Ok(Delivered {
                    session: key,
                    answer: Answer {
                        bytes: reply.bytes,
                        encoding: reply.encoding,
                        session_finished: reply.session_finished,
                    },
                })
            }
            Err(error) => {
                drop(tx);
                // A first message we could not even answer leaves nothing worth keeping.
                if routed.opened {
                    self.sessions.remove(key);
                    self.forget_route(key);
                }
                Err(HubError::Engine(error))
            }
        }
    }

    /// Ends an unfinished session: recorded as cut, or forgotten when its peer went away
    /// before anything was exchanged.
    fn cut(&mut self, key: SessionKey, mut open: Session, ending: Ending) {
        self.forget_route(key);
        if open.is_finished() {
            return;
        }
        let why = ending.why();
        let store = &mut self.store;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || -> Result<(), EngineError> {
                let tx = store.begin()?;
                match ending {
                    Ending::Abandoned(_) => open.abandon(&tx, unix_now())?,
                    Ending::Cut(_) => open.abort(&tx, unix_now())?,
                }
                tx.commit()?;
                Ok(())
            },
        ));
        if let Some(observer) = &self.observer {
            let outcome = Outcome::Cut {
                why: why.to_string(),
                logged_in: open.store_session().is_some(),
            };
            observer.ended(&end_report(&mut self.store, key, &open, outcome));
        }
        match result {
            Ok(Ok(())) => tracing::info!(session = %key.to_hex(), why, "session cut"),
            Ok(Err(e)) => {
                tracing::error!(session = %key.to_hex(), why, error = %e, "recording the cut session failed")
            }
            Err(payload) => {
                let what = panic_text(payload.as_ref());
                tracing::error!(session = %key.to_hex(), why, panic = %what, "recording the cut session failed")
            }
        }
    }
}

/// What changed in a session, from its record (as `handsync history` shows it).
fn session_counts(store: &mut Store, session: &Session) -> Vec<crate::store::SessionCounts> {
    let Some(id) = session.store_session() else {
        return Vec::new();
    };
    match store.read(|tx| {
        tx.enter_account(session.account())?;
        tx.session(id)
    }) {
        Ok(record) => record.counts,
        Err(error) => {
            tracing::warn!(%error, "reading the session's counts for its report");
            Vec::new()
        }
    }
}

/// A session's end as the observer is told it: the phone by its maker and model when its
/// DevInf is known (this session, or from an earlier one under the same SyncML name).
fn end_report(
    store: &mut Store,
    key: SessionKey,
    session: &Session,
    outcome: Outcome,
) -> SessionEnd {
    let uri = session
        .client_uri()
        .unwrap_or("an unnamed phone")
        .to_string();
    let record = store.read(|tx| {
        tx.enter_account(session.account())?;
        match session.device() {
            Some(device) => tx.device(device).map(Some),
            None => tx.device_by_uri(&uri),
        }
    });
    let phone = match record {
        Ok(Some(device)) => phone_name(&device),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, "reading the phone's record for its report");
            None
        }
    };
    SessionEnd {
        session: key,
        phone: phone.unwrap_or(uri),
        outcome,
    }
}

/// Why an unfinished session ends.
#[derive(Clone, Copy)]
enum Ending {
    /// Its peer went away (transport closed, silent past the idle timeout, started anew).
    Abandoned(&'static str),
    /// Something on our side ended it (a fault, a shutdown): always recorded.
    Cut(&'static str),
}

impl Ending {
    fn why(self) -> &'static str {
        match self {
            Ending::Abandoned(why) | Ending::Cut(why) => why,
        }
    }
}

/// What a panic said (its message, when it has one).
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Fault injection for the test of the handling above, in debug builds only: the message
/// whose `source-LocURI/MsgID` is in `HANDSYNC_INJECT_PANIC` makes the engine's call panic,
/// as a bug would.
#[cfg(debug_assertions)]
fn inject_fault(message: &Message) {
    let Some(wanted) = std::env::var_os("HANDSYNC_INJECT_PANIC") else {
        return;
    };
    if let Some(header) = &message.header {
        let this = format!("{}/{}", header.source.loc_uri, header.msg_id);
        if wanted.to_str() == Some(this.as_str()) {
            panic!("fault injected for {this}");
        }
    }
}

pub(super) fn unix_now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_unix_millis(millis)
}
