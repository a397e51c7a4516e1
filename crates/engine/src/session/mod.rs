//! One SyncML DS server session: fed the phone's messages one at a time, it answers each with
//! one message. Sans-IO: the clock is passed in, storage is a [`SyncStore`] (one transaction
//! per message, opened and committed by the driver).
//!
//! This file holds the session's types, the message loop and the command dispatch; the rest
//! of `impl Session` is split by concern: `auth` (credentials, nonces), `alerts` (sync modes,
//! anchors, suspend and resume), `device_info` (DevInf both ways), `incoming` (the phone's
//! Sync, Atomic, refused items), `apply` (its items against the store: large objects,
//! slow-sync matching, conflicts), `outgoing` (our changes and what comes back for them) and
//! `reply` (our messages within the phone's MaxMsgSize).

mod alerts;
mod apply;
mod auth;
mod combined;
mod device_info;
mod incoming;
mod outgoing;
mod progress;
mod reply;

pub use alerts::SyncMode;
pub use progress::DatastoreProgress;

use std::sync::Arc;

use super::config::ServerConfig;
use super::model::{self, meta};
use super::storage::SyncStore;
use crate::storage::{
    AnchorBase, Datastore, DeviceId, NewSession, SessionId, SessionResult, StorageError, Timestamp,
};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    decode_document, AlertCode, Command, DevInf, Document, Encoding, Message, Status, StatusCode,
    SyncHdr, SyncMlError,
};

use alerts::Suspension;
use apply::Partial;
use auth::Auth;
use device_info::PhoneInfo;
use incoming::Rejection;
use reply::Outbox;

/// How a session reached us, and what its binding needs.
#[derive(Debug, Clone)]
pub struct SessionParams {
    /// "http", "obex-bluetooth", "obex-usb"... (logs, the session record, auth policy).
    pub transport: String,
    /// The `RespURI` to put in our headers (HTTP bindings; OBEX needs none).
    pub resp_uri: Option<String>,
    /// Entropy for the nonces we hand out (the driver takes it from the OS; tests fix it).
    pub seed: u64,
}

impl SessionParams {
    pub fn new(transport: impl Into<String>) -> SessionParams {
        SessionParams {
            transport: transport.into(),
            resp_uri: None,
            seed: 0,
        }
    }
}

/// What stops the engine from answering a message. The session is left as it was before
/// the message: the driver rolls back the transaction and may go on or close the transport.
#[derive(Debug)]
pub enum EngineError {
    /// The bytes are not a SyncML message (garbage, truncated): where and why.
    Decode(SyncMlError),
    /// A message without `SyncHdr` cannot be answered.
    NoHeader,
    /// Our answer could not be encoded (a bug).
    Encode(SyncMlError),
    Store(StorageError),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Decode(e) => write!(f, "unreadable message: {e}"),
            EngineError::NoHeader => f.write_str("message without SyncHdr"),
            EngineError::Encode(e) => write!(f, "could not encode our answer: {e}"),
            EngineError::Store(e) => write!(f, "store: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<StorageError> for EngineError {
    fn from(e: StorageError) -> Self {
        EngineError::Store(e)
    }
}

type Result<T> = std::result::Result<T, EngineError>;

/// Our answer to one message.
#[derive(Debug, Clone)]
pub struct Reply {
    pub message: Message,
    /// `message` encoded as the phone encoded its message.
    pub bytes: Vec<u8>,
    pub encoding: Encoding,
    /// `<Final/>`: the last message of our package.
    pub is_final: bool,
    /// The session is over: the driver may close the transport after sending this.
    pub session_finished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Receiving package 1 (client initialisation).
    Init,
    /// Receiving package 3 (the phone's changes).
    ClientSync,
    /// Receiving package 5 (statuses and maps).
    ClientMap,
    Finished,
}

/// A datastore being synced in this session.
#[derive(Debug, Clone)]
struct Active {
    datastore: Datastore,
    /// The phone's name for it (Source of its Alert), where our changes go.
    phone_uri: String,
    /// Our name as the phone addressed it (Target of its Alert).
    server_uri: String,
    mode: SyncMode,
    /// The anchors the phone started from, kept as the previous ones when the sync completes.
    base: Option<AnchorBase>,
    /// Mappings made up to then are known to the phone (it saw the sync that made them
    /// complete); an Add for such a LUID is a new item. `None`: none is known.
    confirmed_until: Option<Timestamp>,
    /// A slow sync we asked for while the phone's anchors are ours (it kept its memory): a
    /// LUID it held and no longer sends is an item it deleted.
    absent_means_deleted: bool,
    /// The SIF type the phone's items came in this session, and whether as base64 (Meta
    /// Format b64): what we send to this datastore is written the same way.
    sif_used: Option<(String, bool)>,
    /// The phone sent an item of this datastore in base64 (Meta Format b64) this session:
    /// what we send it is base64 too, whatever the type.
    items_in_b64: bool,
    /// The Tasks half of a phone calendar that holds to-dos (see `combined`): it shares the
    /// Calendar active's phone datastore, Sync and anchors.
    tasks_of_calendar: bool,
    /// Our Adds whose Map never came were outstanding when this sync began: a slow sync's
    /// items that match no live item are looked for among them (see `pending_match`).
    unmapped_adds: bool,
}

/// All a session learns and queues. Cloned before each message, so that a message not
/// answered leaves the session as it was: what grows with the session (changes queued and
/// awaiting their status, a large object's data) is held in persistent or shared
/// collections, so the copy costs the same at the 50,000th item as at the first; the LUIDs a
/// slow sync has seen are kept in the store (`SyncStore::record_luid_sent`), so the session
/// holds none of them.
#[derive(Debug, Clone)]
struct State {
    phase: Phase,
    started: bool,
    peer: Peer,
    device: Option<DeviceId>,
    store_session: Option<SessionId>,
    session_ended: bool,
    /// The session completed ([`Session::is_completed`]).
    completed: bool,
    auth: Auth,
    phone_info: PhoneInfo,
    active: Vec<Active>,
    partial: Option<Partial>,
    /// Items refused while handling the current message; written to the store when the
    /// message is done, so that an Atomic's rollback does not take them with it.
    rejected: Vec<Rejection>,
    outbox: Outbox,
    suspension: Suspension,
    /// Per datastore, how far the session got ([`Session::progress`]).
    progress: Vec<DatastoreProgress>,
    /// Why the engine ended the session unfinished ([`Session::failure`]).
    failure: Option<String>,
}

/// What the phone's headers tell: fixed by its first message (protocol, encoding, the ids
/// our headers echo), then its current message and its limits.
#[derive(Debug, Clone)]
struct Peer {
    version: Version,
    encoding: Encoding,
    ver_proto: String,
    syncml_session_id: String,
    client_uri: String,
    server_uri: String,
    /// The MsgID of the phone's message being handled.
    msg_id: u32,
    max_msg_size: Option<u64>,
    max_obj_size: Option<u64>,
    /// The phone's MaxMsgSize is under twice our smallest workable message: our headers
    /// after the first leave out their Meta.
    tiny_messages: bool,
}

/// A SyncML DS server session. Create one per phone session; feed it every message.
pub struct Session {
    config: Arc<ServerConfig>,
    params: SessionParams,
    state: State,
    span: tracing::Span,
    /// The most a new large object of this session may declare, besides MaxObjSize: what
    /// the server's budget for all sessions' large objects leaves (see
    /// [`Session::set_large_object_allowance`]).
    large_object_allowance: u64,
}

impl Session {
    pub fn new(config: Arc<ServerConfig>, params: SessionParams) -> Session {
        let span = tracing::info_span!(
            "syncml_session",
            transport = %params.transport,
            device = tracing::field::Empty,
            session = tracing::field::Empty,
        );
        Session {
            config,
            params,
            state: State {
                phase: Phase::Init,
                started: false,
                peer: Peer {
                    version: Version::V1_2,
                    encoding: Encoding::Wbxml,
                    ver_proto: String::new(),
                    syncml_session_id: String::new(),
                    client_uri: String::new(),
                    server_uri: String::new(),
                    msg_id: 0,
                    max_msg_size: None,
                    max_obj_size: None,
                    tiny_messages: false,
                },
                device: None,
                store_session: None,
                session_ended: false,
                completed: false,
                auth: Auth::default(),
                phone_info: PhoneInfo::default(),
                active: Vec::new(),
                partial: None,
                rejected: Vec::new(),
                outbox: Outbox::new(),
                suspension: Suspension::default(),
                progress: Vec::new(),
                failure: None,
            },
            span,
            large_object_allowance: u64::MAX,
        }
    }

    /// Bytes this session holds for a large object being received (its declared size,
    /// reserved at its first chunk); 0 when none.
    pub fn large_object_reserved(&self) -> u64 {
        self.state
            .partial
            .as_ref()
            .map_or(0, |partial| partial.declared_size())
    }

    /// Caps the size a new large object may declare, for the next message: the server gives
    /// each session what its budget for all sessions' large objects has left, so that many
    /// sessions cannot together hold more memory than it allows. An object over it is
    /// refused with 413 (and kept, as every refused item).
    pub fn set_large_object_allowance(&mut self, bytes: u64) {
        self.large_object_allowance = bytes;
    }

    /// Whether the session is over (no more messages are expected).
    pub fn is_finished(&self) -> bool {
        self.state.phase == Phase::Finished
    }

    /// Whether the session completed (anchors moved). A completed session still answers a
    /// late message and applies its Maps; a failed, suspended or cut one takes nothing more.
    pub fn is_completed(&self) -> bool {
        self.state.completed
    }

    /// The store's id of the session, once the first message came.
    pub fn store_session(&self) -> Option<SessionId> {
        self.state.store_session
    }

    /// The account the phone logged in as; `None` before, or on a transport without login.
    /// Its device and session records are in that account's data.
    pub fn account(&self) -> Option<&str> {
        self.state.auth.account.as_deref()
    }

    /// The device, once the first message came.
    pub fn device(&self) -> Option<DeviceId> {
        self.state.device
    }

    /// The phone's DevInf, once it sent it (this session or before).
    pub fn client_devinf(&self) -> Option<&DevInf> {
        self.state.phone_info.devinf.as_ref()
    }

    /// Answers one message given as bytes (XML or WBXML; the answer uses the same encoding).
    pub fn receive<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<Reply> {
        let _guard = self.span.clone().entered();
        let (document, encoding) = decode_document(bytes).map_err(|e| {
            tracing::warn!(error = %e, len = bytes.len(), "unreadable message");
            EngineError::Decode(e)
        })?;
        match document {
            Document::Message(message) => self.receive_message(store, &message, encoding, now),
            Document::DevInf(_) => Err(EngineError::Decode(SyncMlError::new(
                "DevInf".into(),
                None,
                "a device information document, not a SyncML message",
            ))),
        }
    }

    /// Answers one decoded message.
    pub fn receive_message<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        message: &Message,
        encoding: Encoding,
        now: Timestamp,
    ) -> Result<Reply> {
        let _guard = self.span.clone().entered();
        let saved = self.state.clone();
        let result = self
            .handle(store, message, encoding, now)
            .and_then(|reply| {
                self.record_adds_sent(store, &saved.outbox)?;
                Ok(reply)
            });
        if let Err(error) = &result {
            tracing::warn!(%error, "message not answered; session state kept as before it");
            self.state = saved;
        }
        result
    }

    /// The session ends unfinished (the transport went away, a fault, a shutdown): records
    /// it as cut (anchors do not move).
    pub fn abort<S: SyncStore + ?Sized>(&mut self, store: &S, now: Timestamp) -> Result<()> {
        let _guard = self.span.clone().entered();
        if self.state.auth.authenticated {
            store.enter_account(self.state.auth.account.as_deref())?;
        }
        if let (Some(session), false) = (self.state.store_session, self.state.session_ended) {
            store.end_session(session, SessionResult::Cut, Some("transport closed"), now)?;
            self.state.session_ended = true;
            tracing::info!("session cut");
        }
        self.state.phase = Phase::Finished;
        Ok(())
    }

    /// The peer went away (its transport closed, it fell silent, it started anew): recorded
    /// as cut, and of the devices that never exchanged anything only the most recent
    /// [`ServerConfig::empty_devices_kept`] stay, so that first messages from ever-new devices
    /// (on a transport without authentication) cannot fill the store.
    pub fn abandon<S: SyncStore + ?Sized>(&mut self, store: &S, now: Timestamp) -> Result<()> {
        self.abort(store, now)?;
        let _guard = self.span.clone().entered();
        store.prune_empty_devices(self.config.empty_devices_kept)?;
        Ok(())
    }

    fn handle<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        message: &Message,
        encoding: Encoding,
        now: Timestamp,
    ) -> Result<Reply> {
        let header = message.header.as_ref().ok_or(EngineError::NoHeader)?;
        if !self.state.started {
            self.start(message, header, encoding);
        }
        if self.state.auth.authenticated {
            store.enter_account(self.state.auth.account.as_deref())?;
        }
        self.state.peer.msg_id = header.msg_id;
        if let Some(size) = meta(&header.meta).and_then(|m| m.max_msg_size) {
            self.state.peer.max_msg_size = Some(size);
        }
        if let Some(size) = meta(&header.meta).and_then(|m| m.max_obj_size) {
            self.state.peer.max_obj_size = Some(size);
        }
        let no_resp = header.no_resp;

        if !supported_protocol(&header.ver_proto) {
            tracing::warn!(ver_proto = %header.ver_proto, "unsupported protocol version");
            let status = Status::for_header("0", header, StatusCode::ProtocolVersionNotSupported);
            self.end(
                store,
                SessionResult::Failed,
                Some("unsupported protocol"),
                now,
            )?;
            return self.reply(Some(status), true);
        }
        if self.state.phase == Phase::Finished {
            // A message after the end (a late package 5): answer its header, apply its Maps
            // (only those of a session that authenticated and began).
            let began = self.state.device.is_some();
            for command in &message.body.commands {
                if let (Command::Map(map), true) = (command, began) {
                    let code = self.handle_map(store, map, now)?;
                    self.push_status(command, code, no_resp);
                }
            }
            let status = Status::for_header("0", header, StatusCode::Ok);
            self.state.outbox.package_complete = true;
            return self.reply(Some(status), true);
        }

        let mut header_status = if self.state.auth.authenticated {
            Status::for_header("0", header, StatusCode::Ok)
        } else {
            let alert_cred = message.body.commands.iter().find_map(|c| match c {
                Command::Alert(alert) => alert.cred.as_deref(),
                _ => None,
            });
            match self.authenticate(store, header, alert_cred)? {
                Ok(status) => status,
                Err(status) => {
                    self.state.auth.failures += 1;
                    if self.state.auth.failures >= self.config.max_auth_failures {
                        tracing::warn!(
                            failures = self.state.auth.failures,
                            "authentication failed; ending the session"
                        );
                        self.end(
                            store,
                            SessionResult::Failed,
                            Some("authentication failed"),
                            now,
                        )?;
                    }
                    self.state.outbox.last_reply_final = true;
                    return self.reply(Some(status), true);
                }
            }
        };
        // Authenticated (or needing no authentication): from here on the session is recorded.
        if self.state.device.is_none() {
            self.open_records(store, message, encoding, now)?;
        }
        if no_resp {
            header_status.data = StatusCode::Ok;
        }
        if let Some(smallest) = self.phone_messages_too_small(&header_status)? {
            let limit = self.limit();
            tracing::warn!(
                limit,
                smallest,
                "the phone's MaxMsgSize cannot hold a message that makes progress; ending the session"
            );
            let error = format!(
                "the phone's MaxMsgSize ({limit} bytes) is below our smallest workable message \
                 ({smallest} bytes)"
            );
            self.end(store, SessionResult::Failed, Some(&error), now)?;
            header_status.data = StatusCode::CommandFailed;
            self.state.outbox.package_complete = true;
            return self.reply(Some(header_status), true);
        }

        let continuation = !self.state.outbox.last_reply_final;
        // Maps first: a Map left over from a cut session must land before an Alert decides
        // what the phone holds.
        for command in &message.body.commands {
            if let Command::Map(map) = command {
                let code = self.handle_map(store, map, now)?;
                self.push_status(command, code, no_resp);
            }
        }
        for command in &message.body.commands {
            self.handle_command(store, command, no_resp, now)?;
        }
        self.keep_rejected(store, now)?;

        if self.state.suspension.requested {
            self.suspend(store, now)?;
            let header_status = (!no_resp).then_some(header_status);
            return self.reply(header_status, true);
        }

        let only_asks_for_more = message.body.commands.iter().all(|c| match c {
            Command::Status(_) => true,
            Command::Alert(a) => a.data == Some(AlertCode::NextMessage),
            _ => false,
        });
        if message.body.final_ && !(continuation && only_asks_for_more) {
            self.client_package_ended(store, now)?;
            // An unfinished large object the package end abandoned.
            self.keep_rejected(store, now)?;
        }
        let header_status = (!no_resp).then_some(header_status);
        // A phone that ended its package, or asks for our next message with an Alert 222,
        // waits for us: answering its 222 with ours would have both sides asking for ever.
        let asks_for_our_next = message
            .body
            .commands
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.data == Some(AlertCode::NextMessage)));
        self.read_changes(store)?;
        self.reply(header_status, message.body.final_ || asks_for_our_next)
    }

    /// The phone's first message: what its header fixes for the session. Nothing is written
    /// yet: a client that never authenticates leaves no device or session in the store.
    fn start(&mut self, message: &Message, header: &SyncHdr, encoding: Encoding) {
        let state = &mut self.state;
        state.started = true;
        state.peer.version = message.version;
        state.peer.encoding = encoding;
        state.peer.ver_proto = header.ver_proto.to_string();
        state.peer.syncml_session_id = header.session_id.to_string();
        state.peer.client_uri = header.source.loc_uri.to_string();
        state.peer.server_uri = header.target.loc_uri.to_string();
    }

    /// The session is authenticated: its device and session records begin.
    fn open_records<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        message: &Message,
        encoding: Encoding,
        now: Timestamp,
    ) -> Result<()> {
        let state = &mut self.state;
        let uri = if state.peer.client_uri.trim().is_empty() {
            // A phone that does not say who it is still gets its statuses; it is one device.
            "unknown-device"
        } else {
            state.peer.client_uri.as_str()
        };
        let device = store.upsert_device(uri, now)?;
        state.device = Some(device);
        // Before this session becomes the device's latest: a suspended one may be resumed.
        state.suspension.suspended = store.suspended_session(device)?.map(|(id, _)| id);
        let session = store.begin_session(&NewSession {
            device,
            transport: &self.params.transport,
            syncml_session_id: Some(&state.peer.syncml_session_id),
            started_at: now,
        })?;
        state.store_session = Some(session);
        self.span.record("device", uri);
        self.span.record("session", session.0);
        let record = store.device(device)?;
        if let Some(raw) = &record.devinf_raw {
            match decode_document(raw) {
                Ok((Document::DevInf(devinf), _)) => state.phone_info.devinf = Some(devinf),
                _ => tracing::warn!("the stored DevInf of the device is unreadable"),
            }
        }
        tracing::info!(
            version = message.version.as_str(),
            ?encoding,
            "session started"
        );
        self.store_next_nonce(store, device)
    }

    pub(super) fn end<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        result: SessionResult,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        if let (Some(session), false) = (self.state.store_session, self.state.session_ended) {
            store.end_session(session, result, error, now)?;
            self.state.session_ended = true;
        }
        if result == SessionResult::Failed {
            self.state.failure = error.map(str::to_string);
        }
        self.state.phase = Phase::Finished;
        Ok(())
    }

    pub(super) fn push_status(
        &mut self,
        command: &Command,
        code: StatusCode,
        header_no_resp: bool,
    ) {
        if header_no_resp || command.no_resp() {
            return;
        }
        let status = self.status_for(command, code);
        self.state.outbox.statuses.push_back(status);
    }

    pub(super) fn status_for(&self, command: &Command, code: StatusCode) -> Status {
        Status::for_command(
            "0",
            self.state.peer.msg_id,
            command.cmd_id().unwrap_or("0"),
            command.name(),
            code,
        )
    }

    fn handle_command<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        command: &Command,
        no_resp: bool,
        now: Timestamp,
    ) -> Result<()> {
        match command {
            Command::Status(status) => self.handle_status(store, status)?,
            Command::Map(_) => {} // done first
            Command::Alert(alert) => {
                let (code, extra) = self.handle_alert(store, alert, now)?;
                if !no_resp && !alert.no_resp {
                    let mut status = self.status_for(command, code);
                    if let Some(item) = alert.items.first() {
                        if let Some(target) = &item.target {
                            status.target_refs.push(target.loc_uri.to_string().into());
                        }
                        if let Some(source) = &item.source {
                            status.source_refs.push(source.loc_uri.to_string().into());
                        }
                    }
                    if let Some(next) = extra {
                        status.items.push(model::anchor_item(&next));
                    }
                    self.state.outbox.statuses.push_back(status);
                }
            }
            Command::Sync(sync) => self.handle_sync(store, command, sync, no_resp, now)?,
            Command::Put(put) => {
                let code = self.handle_put(store, &put.items)?;
                self.push_status(command, code, no_resp);
            }
            Command::Results(results) => {
                let code = self.handle_put(store, &results.items)?;
                self.push_status(command, code, no_resp);
            }
            Command::Get(get) => {
                let code = self.handle_get(get);
                self.push_status(command, code, no_resp);
            }
            Command::Atomic(c) | Command::Sequence(c) => {
                // Outside a Sync only initialisation commands make sense here.
                self.push_status(command, StatusCode::Ok, no_resp);
                for inner in &c.commands {
                    self.handle_command(store, inner, no_resp, now)?;
                }
            }
            Command::Add(_)
            | Command::Replace(_)
            | Command::Delete(_)
            | Command::Copy(_)
            | Command::Move(_) => {
                tracing::warn!(command = command.name(), "data command outside a Sync");
                self.refuse_command_items(
                    command,
                    None,
                    "",
                    StatusCode::CommandNotAllowed,
                    "a data command outside a Sync",
                );
                self.push_status(command, StatusCode::CommandNotAllowed, no_resp);
            }
            Command::Exec(_) | Command::Search(_) => {
                self.push_status(command, StatusCode::OptionalFeatureNotSupported, no_resp);
            }
        }
        Ok(())
    }

    /// The phone's package ended (a message with Final): move to the next phase and queue
    /// what our next package holds.
    fn client_package_ended<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
    ) -> Result<()> {
        match self.state.phase {
            Phase::Init => {
                if self.state.phone_info.devinf.is_none() && !self.state.phone_info.devinf_requested
                {
                    self.request_devinf();
                }
                self.state.phase = Phase::ClientSync;
                self.state.outbox.package_complete = true;
            }
            Phase::ClientSync => {
                if let Some(partial) = self.state.partial.take() {
                    self.queue_no_end_of_data(&partial.luid);
                    self.abandon_partial(
                        partial,
                        "the phone's package ended before its last chunk",
                    );
                }
                self.settle_full_syncs(store, now)?;
                self.queue_changes(store)?;
                self.state.outbox.package_complete = true;
                if !self.state.outbox.has_changes() {
                    // Nothing we send needs an answer: the session is complete now.
                    self.complete(store, now)?;
                } else {
                    self.state.phase = Phase::ClientMap;
                }
            }
            Phase::ClientMap => {
                self.complete(store, now)?;
                self.state.outbox.package_complete = true;
            }
            Phase::Finished => {}
        }
        Ok(())
    }
}

fn supported_protocol(ver_proto: &str) -> bool {
    matches!(
        ver_proto.trim().to_ascii_uppercase().as_str(),
        "SYNCML/1.0" | "SYNCML/1.1" | "SYNCML/1.2"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_syncml_protocol_versions_are_served() {
        assert!(supported_protocol("SyncML/1.1"));
        assert!(supported_protocol(" syncml/1.2 "));
        assert!(!supported_protocol("DM/1.2"));
        assert!(!supported_protocol("SyncML/2.0"));
    }
}
