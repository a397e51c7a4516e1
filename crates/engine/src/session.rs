//! One SyncML DS server session: fed the phone's messages one at a time, it answers each with
//! one message. Sans-IO: the clock is passed in, storage is a [`SyncStore`] (one transaction
//! per message, opened and committed by the driver).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest, Md5};

use super::config::{AuthPolicy, ConflictPolicy, ServerConfig};
use super::content::{self, Incoming};
use super::credentials;
use super::devinf::{devinf_uri, is_devinf_uri, server_devinf, summary};
use super::model::{self, meta, some_meta, text};
use super::storage::{
    AppliedOutcome, Cause, ChangeKind, Datastore, DevInfEncoding, DeviceChange, DeviceId, Guid,
    ItemRecord, NewRejectedItem, NewSession, Reason, Revision, SessionId, SessionResult,
    StorageError, StorageErrorKind, SyncStore, Timestamp,
};
use handsync_proto::markup::Version;
use handsync_proto::pim::phone::Phone;
use handsync_proto::syncml::{
    decode_document, document_to_wbxml, document_to_xml, to_wbxml, to_xml, xml::XmlOptions, Alert,
    AlertCode, Command, Container, Data, Delete, DevInf, Document, Encoding, GetPut, Item,
    ItemCommand, Map, Message, MetInf, Results, Source, Status, StatusCode, Sync, SyncBody,
    SyncHdr, SyncMlError, Target,
};
use handsync_proto::wbxml::WriterOptions;

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

/// The sync types of SyncML DS (the 206..210 server-alerted forms fold into these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    TwoWay,
    Slow,
    OneWayFromClient,
    RefreshFromClient,
    OneWayFromServer,
    RefreshFromServer,
}

impl SyncMode {
    pub fn from_alert(code: AlertCode) -> Option<SyncMode> {
        Some(match code.code() {
            200 | 206 => SyncMode::TwoWay,
            201 => SyncMode::Slow,
            202 | 207 => SyncMode::OneWayFromClient,
            203 | 208 => SyncMode::RefreshFromClient,
            204 | 209 => SyncMode::OneWayFromServer,
            205 | 210 => SyncMode::RefreshFromServer,
            _ => return None,
        })
    }

    pub fn alert_code(self) -> AlertCode {
        match self {
            SyncMode::TwoWay => AlertCode::TwoWay,
            SyncMode::Slow => AlertCode::SlowSync,
            SyncMode::OneWayFromClient => AlertCode::OneWayFromClient,
            SyncMode::RefreshFromClient => AlertCode::RefreshFromClient,
            SyncMode::OneWayFromServer => AlertCode::OneWayFromServer,
            SyncMode::RefreshFromServer => AlertCode::RefreshFromServer,
        }
    }

    /// Whether we send our changes in this mode.
    pub fn server_sends(self) -> bool {
        !matches!(
            self,
            SyncMode::OneWayFromClient | SyncMode::RefreshFromClient
        )
    }

    /// Whether the phone sends its changes in this mode.
    pub fn client_sends(self) -> bool {
        !matches!(
            self,
            SyncMode::OneWayFromServer | SyncMode::RefreshFromServer
        )
    }

    /// The phone sends everything it holds, matched against the store.
    fn sends_everything(self) -> bool {
        matches!(self, SyncMode::Slow | SyncMode::RefreshFromClient)
    }
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
    /// LUIDs the phone sent in this session (slow sync: what it still holds).
    seen_luids: HashSet<String>,
}

/// One of our changes waiting to be sent.
#[derive(Debug, Clone)]
enum Outgoing {
    /// Opens our Sync for a datastore (sent even when no change follows).
    Open(Datastore),
    Change(PendingChange),
}

#[derive(Debug, Clone)]
struct PendingChange {
    datastore: Datastore,
    kind: ChangeKind,
    guid: Guid,
    revision: Revision,
    luid: Option<String>,
    content_type: String,
    data: Vec<u8>,
    /// Bytes already sent in chunks (large objects).
    sent_bytes: usize,
}

/// What a suspended session leaves for its resume (stored as TOML in the session row).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct ResumeState {
    datastores: Vec<ResumeDatastore>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ResumeDatastore {
    datastore: String,
    /// The `SyncMode` name.
    mode: String,
    /// The phone's Next anchor of the suspended session: its resume Alert carries it again.
    client_next: String,
    /// What the phone had sent of a slow sync.
    seen_luids: Vec<String>,
}

impl ResumeDatastore {
    fn mode(&self) -> Result<SyncMode> {
        Ok(match self.mode.as_str() {
            "TwoWay" => SyncMode::TwoWay,
            "Slow" => SyncMode::Slow,
            "OneWayFromClient" => SyncMode::OneWayFromClient,
            "RefreshFromClient" => SyncMode::RefreshFromClient,
            "OneWayFromServer" => SyncMode::OneWayFromServer,
            "RefreshFromServer" => SyncMode::RefreshFromServer,
            other => {
                return Err(EngineError::Store(StorageError::invalid(format!(
                    "unknown sync mode {other:?} in a resume state"
                ))))
            }
        })
    }
}

/// A large object being received in chunks.
#[derive(Debug, Clone)]
struct Partial {
    datastore: Datastore,
    /// The command that carried its first chunk (`Add`, `Replace`).
    command: &'static str,
    luid: String,
    content_type: String,
    /// The declared size (Meta Size of the first chunk).
    size: u64,
    data: Vec<u8>,
}

/// Where an item the phone sent came from: what the store keeps beside its bytes when it is
/// refused.
#[derive(Debug, Clone)]
struct ItemOrigin {
    /// Our datastore; `None` when the phone's name for it matched none of ours.
    datastore: Option<Datastore>,
    /// The phone's name for its datastore.
    device_datastore: String,
    /// The command that carried it (`Add`, `Replace`).
    command: &'static str,
    luid: Option<String>,
}

/// An item the phone sent that we refused, to be kept in the store with its bytes.
#[derive(Debug, Clone)]
struct Rejection {
    origin: ItemOrigin,
    content_type: String,
    raw: Vec<u8>,
    status: u16,
    reason: String,
}

/// What became of one item of an Add, Replace or Delete, and the references naming it.
struct ItemOutcome {
    code: StatusCode,
    source_ref: Option<String>,
    target_ref: Option<String>,
}

impl ItemOutcome {
    fn of(item: &Item, code: StatusCode) -> ItemOutcome {
        ItemOutcome {
            code,
            source_ref: item.source.as_ref().map(|s| s.loc_uri.to_string()),
            target_ref: item.target.as_ref().map(|t| t.loc_uri.to_string()),
        }
    }
}

/// The LUID an item of the phone names: its Source, else its Target.
fn item_luid(item: &Item) -> Option<String> {
    item.source
        .as_ref()
        .map(|s| s.loc_uri.to_string())
        .or_else(|| item.target.as_ref().map(|t| t.loc_uri.to_string()))
        .filter(|l| !l.is_empty())
}

/// A change we sent, waiting for its Status.
#[derive(Debug, Clone)]
struct Sent {
    datastore: Datastore,
    kind: ChangeKind,
    guid: Guid,
    revision: Revision,
}

#[derive(Debug, Clone)]
struct State {
    phase: Phase,
    version: Version,
    encoding: Encoding,
    started: bool,
    ver_proto: String,
    syncml_session_id: String,
    client_uri: String,
    server_uri: String,
    device: Option<DeviceId>,
    store_session: Option<SessionId>,
    session_ended: bool,
    authenticated: bool,
    auth_failures: u32,
    client_msg_id: u32,
    next_msg_id: u32,
    client_max_msg_size: Option<u64>,
    client_max_obj_size: Option<u64>,
    client_devinf: Option<DevInf>,
    devinf_requested: bool,
    phones: HashMap<Datastore, Phone>,
    active: Vec<Active>,
    statuses: VecDeque<Status>,
    commands: VecDeque<Command>,
    changes: VecDeque<Outgoing>,
    awaiting: HashMap<(u32, String), Sent>,
    partial: Option<Partial>,
    /// Items refused while handling the current message; written to the store when the
    /// message is done, so that an Atomic's rollback does not take them with it.
    rejected: Vec<Rejection>,
    suspend_requested: bool,
    /// The device's suspended session when this one began.
    suspended: Option<SessionId>,
    /// The suspended session's datastores, once a resume Alert asked for them.
    resume: Option<Vec<ResumeDatastore>>,
    /// The package we are sending is complete once the queues drain.
    package_complete: bool,
    /// Our last message ended a package.
    last_reply_final: bool,
    nonce_counter: u64,
}

/// A SyncML DS server session. Create one per phone session; feed it every message.
pub struct Session {
    config: Arc<ServerConfig>,
    params: SessionParams,
    state: State,
    span: tracing::Span,
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
                version: Version::V1_2,
                encoding: Encoding::Wbxml,
                started: false,
                ver_proto: String::new(),
                syncml_session_id: String::new(),
                client_uri: String::new(),
                server_uri: String::new(),
                device: None,
                store_session: None,
                session_ended: false,
                authenticated: false,
                auth_failures: 0,
                client_msg_id: 0,
                next_msg_id: 1,
                client_max_msg_size: None,
                client_max_obj_size: None,
                client_devinf: None,
                devinf_requested: false,
                phones: HashMap::new(),
                active: Vec::new(),
                statuses: VecDeque::new(),
                commands: VecDeque::new(),
                changes: VecDeque::new(),
                awaiting: HashMap::new(),
                partial: None,
                rejected: Vec::new(),
                suspend_requested: false,
                suspended: None,
                resume: None,
                package_complete: false,
                last_reply_final: true,
                nonce_counter: 0,
            },
            span,
        }
    }

    /// Whether the session is over (no more messages are expected).
    pub fn is_finished(&self) -> bool {
        self.state.phase == Phase::Finished
    }

    /// The store's id of the session, once the first message came.
    pub fn store_session(&self) -> Option<SessionId> {
        self.state.store_session
    }

    /// The device, once the first message came.
    pub fn device(&self) -> Option<DeviceId> {
        self.state.device
    }

    /// The phone's DevInf, once it sent it (this session or before).
    pub fn client_devinf(&self) -> Option<&DevInf> {
        self.state.client_devinf.as_ref()
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
        let result = self.handle(store, message, encoding, now);
        if let Err(error) = &result {
            tracing::warn!(%error, "message not answered; session state kept as before it");
            self.state = saved;
        }
        result
    }

    /// The transport went away: records the session as cut (anchors do not move).
    pub fn abort<S: SyncStore + ?Sized>(&mut self, store: &S, now: Timestamp) -> Result<()> {
        let _guard = self.span.clone().entered();
        if let (Some(session), false) = (self.state.store_session, self.state.session_ended) {
            store.end_session(session, SessionResult::Cut, Some("transport closed"), now)?;
            self.state.session_ended = true;
            tracing::info!("session cut");
        }
        self.state.phase = Phase::Finished;
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
            self.start(store, message, header, encoding, now)?;
        }
        self.state.client_msg_id = header.msg_id;
        if let Some(size) = meta(&header.meta).and_then(|m| m.max_msg_size) {
            self.state.client_max_msg_size = Some(size);
        }
        if let Some(size) = meta(&header.meta).and_then(|m| m.max_obj_size) {
            self.state.client_max_obj_size = Some(size);
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
            // A message after the end (a late package 5): answer its header, apply its Maps.
            for command in &message.body.commands {
                if let Command::Map(map) = command {
                    let code = self.handle_map(store, map, now)?;
                    self.push_status(command, code, no_resp);
                }
            }
            let status = Status::for_header("0", header, StatusCode::Ok);
            return self.reply(Some(status), true);
        }

        let mut header_status = if self.state.authenticated {
            Status::for_header("0", header, StatusCode::Ok)
        } else {
            match self.authenticate(store, header)? {
                Ok(status) => status,
                Err(status) => {
                    self.state.auth_failures += 1;
                    if self.state.auth_failures >= self.config.max_auth_failures {
                        tracing::warn!(
                            failures = self.state.auth_failures,
                            "authentication failed; ending the session"
                        );
                        self.end(
                            store,
                            SessionResult::Failed,
                            Some("authentication failed"),
                            now,
                        )?;
                    }
                    self.state.last_reply_final = true;
                    return self.reply(Some(status), true);
                }
            }
        };
        if no_resp {
            header_status.data = StatusCode::Ok;
        }

        let continuation = !self.state.last_reply_final;
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

        if self.state.suspend_requested {
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
        let client_final = message.body.final_;
        self.reply(header_status, client_final)
    }

    fn start<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        message: &Message,
        header: &SyncHdr,
        encoding: Encoding,
        now: Timestamp,
    ) -> Result<()> {
        let state = &mut self.state;
        state.started = true;
        state.version = message.version;
        state.encoding = encoding;
        state.ver_proto = header.ver_proto.to_string();
        state.syncml_session_id = header.session_id.to_string();
        state.client_uri = header.source.loc_uri.to_string();
        state.server_uri = header.target.loc_uri.to_string();
        let uri = if state.client_uri.trim().is_empty() {
            // A phone that does not say who it is still gets its statuses; it is one device.
            "unknown-device"
        } else {
            state.client_uri.as_str()
        };
        let device = store.upsert_device(uri, now)?;
        state.device = Some(device);
        // Before this session becomes the device's latest: a suspended one may be resumed.
        state.suspended = store.suspended_session(device)?.map(|(id, _)| id);
        let session = store.begin_session(&NewSession {
            device,
            transport: &self.params.transport,
            syncml_session_id: Some(&state.syncml_session_id),
            started_at: now,
        })?;
        state.store_session = Some(session);
        self.span.record("device", uri);
        self.span.record("session", session.0);
        let record = store.device(device)?;
        if let Some(raw) = &record.devinf_raw {
            match decode_document(raw) {
                Ok((Document::DevInf(devinf), _)) => state.client_devinf = Some(devinf),
                _ => tracing::warn!("the stored DevInf of the device is unreadable"),
            }
        }
        tracing::info!(
            version = message.version.as_str(),
            ?encoding,
            "session started"
        );
        Ok(())
    }

    fn end<S: SyncStore + ?Sized>(
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
        self.state.phase = Phase::Finished;
        Ok(())
    }

    // ----- authentication -----

    /// `Ok(header status)` when the phone may go on, `Err(header status with a challenge)`
    /// when it may not.
    fn authenticate<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        header: &SyncHdr,
    ) -> Result<std::result::Result<Status, Status>> {
        let policy = self.config.auth_for(&self.params.transport);
        if policy == AuthPolicy::None {
            self.state.authenticated = true;
            return Ok(Ok(Status::for_header("0", header, StatusCode::Ok)));
        }
        let device = self.state.device.expect("started");
        let Some(cred) = &header.cred else {
            tracing::info!("no credentials; challenging");
            let mut status = Status::for_header("0", header, StatusCode::MissingCredentials);
            status.chal = Some(self.challenge(store, policy, device)?.into());
            return Ok(Err(status));
        };
        let auth_type = meta(&cred.meta)
            .and_then(|m| text(&m.type_))
            .unwrap_or("syncml:auth-basic")
            .to_ascii_lowercase();
        let accepted = match auth_type.as_str() {
            "syncml:auth-basic" if policy == AuthPolicy::Basic => {
                let decoded = BASE64
                    .decode(cred.data.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    Some((name, password)) => {
                        credentials::basic_matches(store.account_digest(name)?, name, password)
                    }
                    None => false,
                }
            }
            "syncml:auth-md5" => {
                let name = text(&header.source.loc_name).unwrap_or("");
                let nonce = store.device(device)?.next_nonce;
                match nonce {
                    Some(nonce) if !name.is_empty() => {
                        credentials::md5_matches(store.account_digest(name)?, &cred.data, &nonce)
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if !accepted {
            tracing::warn!(auth_type, "credentials refused");
            let mut status = Status::for_header("0", header, StatusCode::InvalidCredentials);
            status.chal = Some(self.challenge(store, policy, device)?.into());
            return Ok(Err(status));
        }
        tracing::info!(auth_type, "authenticated");
        self.state.authenticated = true;
        let mut status = Status::for_header("0", header, StatusCode::AuthenticationAccepted);
        if auth_type == "syncml:auth-md5" {
            // The nonce for the next session.
            status.chal = Some(self.challenge(store, policy, device)?.into());
        }
        Ok(Ok(status))
    }

    fn challenge<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        policy: AuthPolicy,
        device: DeviceId,
    ) -> Result<handsync_proto::syncml::Chal> {
        let mut meta = MetInf {
            format: Some("b64".into()),
            ..MetInf::default()
        };
        if policy == AuthPolicy::Md5 {
            let nonce = self.new_nonce();
            store.set_next_nonce(device, &nonce)?;
            meta.type_ = Some("syncml:auth-md5".into());
            meta.next_nonce = Some(BASE64.encode(nonce).into());
        } else {
            meta.type_ = Some("syncml:auth-basic".into());
        }
        Ok(model::chal(meta))
    }

    fn new_nonce(&mut self) -> Vec<u8> {
        self.state.nonce_counter += 1;
        let mut hasher = Md5::new();
        hasher.update(self.params.seed.to_le_bytes());
        hasher.update(self.state.nonce_counter.to_le_bytes());
        hasher.update(self.state.client_uri.as_bytes());
        hasher.update(self.state.syncml_session_id.as_bytes());
        hasher.finalize()[..12].to_vec()
    }

    // ----- commands -----

    fn push_status(&mut self, command: &Command, code: StatusCode, header_no_resp: bool) {
        if header_no_resp || command.no_resp() {
            return;
        }
        let status = self.status_for(command, code);
        self.state.statuses.push_back(status);
    }

    fn status_for(&self, command: &Command, code: StatusCode) -> Status {
        Status::for_command(
            "0",
            self.state.client_msg_id,
            command.cmd_id().unwrap_or("0"),
            command.name(),
            code,
        )
    }

    /// The statuses of a command with several items: one per distinct outcome, in the order
    /// the outcomes first appear, each naming the items it covers by their Source and Target
    /// (SyncML allows several SourceRef/TargetRef in one Status). A command without items
    /// gets 400.
    fn push_item_statuses(&mut self, command: &Command, outcomes: &[ItemOutcome], no_resp: bool) {
        if no_resp || command.no_resp() {
            return;
        }
        if outcomes.is_empty() {
            self.push_status(command, StatusCode::BadRequest, no_resp);
            return;
        }
        let mut codes: Vec<StatusCode> = Vec::new();
        for outcome in outcomes {
            if !codes.contains(&outcome.code) {
                codes.push(outcome.code);
            }
        }
        for code in codes {
            let mut status = self.status_for(command, code);
            for outcome in outcomes.iter().filter(|o| o.code == code) {
                status
                    .source_refs
                    .extend(outcome.source_ref.clone().map(Into::into));
                status
                    .target_refs
                    .extend(outcome.target_ref.clone().map(Into::into));
            }
            self.state.statuses.push_back(status);
        }
    }

    /// Notes an item the phone sent that we refuse; it is kept in the store (with its bytes)
    /// once the message is handled. Returns `code`, the status the phone gets for it.
    fn refuse(
        &mut self,
        origin: &ItemOrigin,
        content_type: &str,
        raw: &[u8],
        code: StatusCode,
        reason: String,
    ) -> StatusCode {
        tracing::warn!(
            datastore = origin.device_datastore,
            command = origin.command,
            luid = origin.luid,
            content_type,
            status = code.code(),
            reason,
            "item refused; kept with its bytes"
        );
        self.state.rejected.push(Rejection {
            origin: origin.clone(),
            content_type: content_type.to_string(),
            raw: raw.to_vec(),
            status: code.code(),
            reason,
        });
        code
    }

    /// Refuses every item with data of an Add or Replace not applied at all (the whole
    /// command got `code`).
    fn refuse_command_items(
        &mut self,
        command: &Command,
        datastore: Option<Datastore>,
        device_datastore: &str,
        code: StatusCode,
        reason: &str,
    ) {
        let (Command::Add(c) | Command::Replace(c)) = command else {
            return;
        };
        let command_type = meta(&c.meta).and_then(|m| text(&m.type_));
        for item in &c.items {
            let Some(bytes) = item.data.as_ref().and_then(|d| d.as_bytes()) else {
                continue;
            };
            let content_type = meta(&item.meta)
                .and_then(|m| text(&m.type_))
                .or(command_type)
                .or(datastore.map(content::default_content_type))
                .unwrap_or("application/octet-stream")
                .to_string();
            let origin = ItemOrigin {
                datastore,
                device_datastore: device_datastore.to_string(),
                command: command.name(),
                luid: item_luid(item),
            };
            self.refuse(&origin, &content_type, bytes, code, reason.to_string());
        }
    }

    /// A large object that will not be completed: what arrived of it is kept.
    fn abandon_partial(&mut self, partial: Partial, why: &str) {
        let origin = ItemOrigin {
            datastore: Some(partial.datastore),
            device_datastore: self.phone_uri_of(partial.datastore),
            command: partial.command,
            luid: Some(partial.luid.clone()),
        };
        self.refuse(
            &origin,
            &partial.content_type,
            &partial.data,
            // The phone got our Alert 223 for it, not a status.
            StatusCode::from_code(AlertCode::NoEndOfData.code()),
            format!(
                "large object not completed ({why}): {} of {} bytes arrived",
                partial.data.len(),
                partial.size
            ),
        );
    }

    fn phone_uri_of(&self, datastore: Datastore) -> String {
        self.state
            .active
            .iter()
            .find(|a| a.datastore == datastore)
            .map(|a| a.phone_uri.clone())
            .unwrap_or_default()
    }

    /// Writes the items refused in this message to the store.
    fn keep_rejected<S: SyncStore + ?Sized>(&mut self, store: &S, now: Timestamp) -> Result<()> {
        let rejected = std::mem::take(&mut self.state.rejected);
        let Some(device) = self.state.device else {
            return Ok(());
        };
        for rejection in &rejected {
            store.record_rejected_item(
                &NewRejectedItem {
                    device,
                    session: self.state.store_session,
                    datastore: rejection.origin.datastore,
                    device_datastore: &rejection.origin.device_datastore,
                    luid: rejection.origin.luid.as_deref(),
                    command: rejection.origin.command,
                    content_type: &rejection.content_type,
                    raw: &rejection.raw,
                    status: rejection.status,
                    reason: &rejection.reason,
                },
                now,
            )?;
        }
        Ok(())
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
                    self.state.statuses.push_back(status);
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

    fn handle_status<S: SyncStore + ?Sized>(&mut self, store: &S, status: &Status) -> Result<()> {
        let key = (status.msg_ref, status.cmd_ref.to_string());
        let Some(sent) = self.state.awaiting.remove(&key) else {
            if status.data.is_error() {
                tracing::warn!(cmd = %status.cmd, code = %status.data, "the phone refused a command");
            }
            return Ok(());
        };
        let delivered = status.data.is_success()
            || (sent.kind == ChangeKind::Delete && status.data == StatusCode::ItemNotDeleted);
        if delivered {
            store.record_delivered(
                self.state.device.expect("started"),
                sent.datastore,
                self.state.store_session,
                sent.kind,
                sent.guid,
                sent.revision,
            )?;
        } else {
            tracing::warn!(guid = %sent.guid, kind = %sent.kind, code = %status.data, "the phone refused our change; it is sent again next time");
        }
        Ok(())
    }

    /// Returns the status code and, for sync alerts, the phone's Next anchor to echo.
    fn handle_alert<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        alert: &Alert,
        now: Timestamp,
    ) -> Result<(StatusCode, Option<String>)> {
        let Some(code) = alert.data else {
            return Ok((StatusCode::BadRequest, None));
        };
        let resuming = code == AlertCode::Resume;
        if code == AlertCode::Suspend {
            tracing::info!("the phone suspends the session");
            self.state.suspend_requested = true;
            return Ok((StatusCode::Ok, None));
        }
        // A resumed datastore continues in the mode of the suspended session (found below).
        let requested = if resuming {
            Some(SyncMode::TwoWay)
        } else {
            SyncMode::from_alert(code)
        };
        let Some(requested) = requested else {
            return Ok(match code {
                AlertCode::NoEndOfData => {
                    if let Some(partial) = self.state.partial.take() {
                        tracing::warn!(luid = partial.luid, "the phone gave up a large object");
                    }
                    (StatusCode::Ok, None)
                }
                AlertCode::NextMessage | AlertCode::Display => (StatusCode::Ok, None),
                _ => {
                    tracing::info!(%code, "alert not supported");
                    (StatusCode::OptionalFeatureNotSupported, None)
                }
            });
        };
        let Some(item) = alert.items.first() else {
            return Ok((StatusCode::BadRequest, None));
        };
        let target = item
            .target
            .as_ref()
            .map(|t| t.loc_uri.to_string())
            .unwrap_or_default();
        let source = item
            .source
            .as_ref()
            .map(|s| s.loc_uri.to_string())
            .unwrap_or_default();
        let Some(datastore) = self
            .config
            .datastore_for(&target)
            .or_else(|| self.config.datastore_for(&source))
        else {
            tracing::warn!(target, source, known = ?self.config.known_names(), "unknown datastore");
            return Ok((StatusCode::NotFound, None));
        };
        let device = self.state.device.expect("started");
        let session = self.state.store_session.expect("started");
        let anchor = meta(&item.meta).and_then(|m| m.anchor.as_ref());
        let client_next = anchor
            .map(|a| a.next.to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| now.0.to_string());
        let client_last = anchor.and_then(|a| text(&a.last)).map(str::to_string);
        let phone_uri = if source.is_empty() {
            target.clone()
        } else {
            source
        };
        let state = store.set_up_device_datastore(device, datastore, &phone_uri)?;

        let mut mode = requested;
        let mut status = StatusCode::Ok;
        let mut resumed: Option<ResumeDatastore> = None;
        if resuming {
            resumed = self.resumable(store, datastore, &client_next)?;
            match &resumed {
                Some(saved) => {
                    mode = saved.mode()?;
                    tracing::info!(%datastore, ?mode, "resuming the suspended sync");
                }
                None => {
                    tracing::info!(%datastore, "nothing to resume: slow sync");
                    mode = SyncMode::Slow;
                    status = StatusCode::RefreshRequired;
                }
            }
        } else if matches!(
            requested,
            SyncMode::TwoWay | SyncMode::OneWayFromClient | SyncMode::OneWayFromServer
        ) {
            let anchors_match = state.client_last_anchor.is_some()
                && state.client_last_anchor == client_last
                && state.last_session_completed;
            if !anchors_match {
                tracing::info!(%datastore, stored = ?state.client_last_anchor, sent = ?client_last, completed = state.last_session_completed, "anchors do not match: slow sync");
                mode = SyncMode::Slow;
                status = StatusCode::RefreshRequired;
            }
        }
        let mut server_next = now.0.to_string();
        if state.server_last_anchor.as_deref() == Some(server_next.as_str()) {
            server_next.push_str("-1");
        }
        store.begin_datastore_sync(device, datastore, session, &client_next, &server_next, now)?;
        // A resumed sync goes on from where it stopped: what was exchanged stays as it is.
        let preparation = if resumed.is_some() { None } else { Some(mode) };
        match preparation {
            Some(SyncMode::Slow | SyncMode::RefreshFromClient) => {
                // Items sent but never mapped: the phone holds them under LUIDs we do not
                // know, so they must be matchable again.
                for held in store.device_items(device, datastore)? {
                    if held.luid.is_none() {
                        store.forget_device_item(device, datastore, held.guid)?;
                    }
                }
            }
            Some(SyncMode::RefreshFromServer) => {
                store.forget_device_items(device, datastore)?;
            }
            _ => {}
        }
        tracing::info!(%datastore, ?requested, ?mode, phone_uri, "datastore sync begins");

        self.state.active.retain(|a| a.datastore != datastore);
        self.state.active.push(Active {
            datastore,
            phone_uri: phone_uri.clone(),
            server_uri: target.clone(),
            mode,
            seen_luids: resumed
                .map(|saved| saved.seen_luids.into_iter().collect())
                .unwrap_or_default(),
        });
        let mut our_item = model::item(Some(&phone_uri), Some(&target));
        our_item.meta = some_meta(MetInf {
            anchor: Some(model::anchor(
                state.server_last_anchor.as_deref(),
                &server_next,
            )),
            ..MetInf::default()
        });
        self.state.commands.push_back(Command::Alert(Alert {
            data: Some(mode.alert_code()),
            items: vec![our_item],
            ..Alert::default()
        }));
        Ok((status, Some(client_next)))
    }

    /// The suspended sync of a datastore this Alert 225 resumes: the device's latest session
    /// was suspended with this datastore and the same phone Next anchor.
    fn resumable<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        client_next: &str,
    ) -> Result<Option<ResumeDatastore>> {
        if self.state.resume.is_none() {
            let mut saved = Vec::new();
            if let Some(session) = self.state.suspended {
                if let Some(bytes) = store.take_resume_state(session)? {
                    match std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|text| toml::from_str::<ResumeState>(text).ok())
                    {
                        Some(state) => saved = state.datastores,
                        None => tracing::warn!("unreadable resume state"),
                    }
                }
            }
            self.state.resume = Some(saved);
        }
        let saved = self.state.resume.as_ref().expect("just loaded");
        Ok(saved
            .iter()
            .find(|d| d.datastore == datastore.as_str() && d.client_next == client_next)
            .cloned())
    }

    /// The phone asked to suspend: what a resume needs is stored, the session ends
    /// suspended, the anchors stay.
    fn suspend<S: SyncStore + ?Sized>(&mut self, store: &S, now: Timestamp) -> Result<()> {
        let device = self.state.device.expect("started");
        let mut datastores = Vec::new();
        for active in &self.state.active {
            let state =
                store.set_up_device_datastore(device, active.datastore, &active.phone_uri)?;
            let mut seen_luids: Vec<String> = active.seen_luids.iter().cloned().collect();
            seen_luids.sort();
            datastores.push(ResumeDatastore {
                datastore: active.datastore.as_str().to_string(),
                mode: format!("{:?}", active.mode),
                client_next: state.pending_client_anchor.unwrap_or_default(),
                seen_luids,
            });
        }
        let text = toml::to_string(&ResumeState { datastores })
            .map_err(|e| EngineError::Store(StorageError::invalid(e.to_string())))?;
        if let (Some(session), false) = (self.state.store_session, self.state.session_ended) {
            store.suspend_session(session, text.as_bytes(), now)?;
            self.state.session_ended = true;
        }
        self.state.commands.clear();
        self.state.changes.clear();
        self.state.package_complete = true;
        self.state.phase = Phase::Finished;
        tracing::info!("session suspended");
        Ok(())
    }

    fn handle_put<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        items: &[Item],
    ) -> Result<StatusCode> {
        let mut code = StatusCode::OptionalFeatureNotSupported;
        for item in items {
            if let Some(Data::DevInf(devinf)) = &item.data {
                self.store_devinf(store, devinf)?;
                code = StatusCode::Ok;
            }
        }
        Ok(code)
    }

    fn store_devinf<S: SyncStore + ?Sized>(&mut self, store: &S, devinf: &DevInf) -> Result<()> {
        let document = Document::DevInf(devinf.clone());
        let (raw, encoding) = match self.state.encoding {
            Encoding::Xml => (
                document_to_xml(&document, XmlOptions::default())
                    .map_err(EngineError::Encode)?
                    .into_bytes(),
                DevInfEncoding::Xml,
            ),
            Encoding::Wbxml => (
                document_to_wbxml(&document, &WriterOptions::default())
                    .map_err(EngineError::Encode)?,
                DevInfEncoding::Wbxml,
            ),
        };
        let device = self.state.device.expect("started");
        store.set_device_info(device, &raw, encoding, &summary(devinf))?;
        tracing::info!(
            man = text(&devinf.man).unwrap_or(""),
            model = text(&devinf.model).unwrap_or(""),
            sw = text(&devinf.sw_v).unwrap_or(""),
            datastores = devinf.data_stores.len(),
            "phone DevInf stored"
        );
        self.state.client_devinf = Some(devinf.clone());
        self.state.phones.clear();
        Ok(())
    }

    fn handle_get(&mut self, get: &GetPut) -> StatusCode {
        let Some(item) = get.items.first() else {
            return StatusCode::BadRequest;
        };
        let target = item
            .target
            .as_ref()
            .map(|t| t.loc_uri.to_string())
            .unwrap_or_default();
        if !is_devinf_uri(&target) {
            return StatusCode::NotFound;
        }
        let version = self.state.version;
        let devinf = server_devinf(&self.config, version);
        let mut result_item = model::item(None, Some(devinf_uri(version)));
        result_item.data = Some(Data::DevInf(Box::new(devinf)));
        self.state.commands.push_back(Command::Results(
            Results {
                msg_ref: Some(self.state.client_msg_id),
                cmd_ref: get.cmd_id.as_ref().map(|c| c.to_string().into()),
                meta: some_meta(MetInf::with_type(self.state.encoding.devinf_content_type())),
                target_refs: Vec::new(),
                source_refs: vec![devinf_uri(version).to_string().into()],
                items: vec![result_item],
                ..Results::default()
            }
            .into(),
        ));
        StatusCode::Ok
    }

    fn handle_map<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        map: &Map,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let target = map.target.loc_uri.to_string();
        let source = map.source.loc_uri.to_string();
        let Some(datastore) = self
            .config
            .datastore_for(&target)
            .or_else(|| self.config.datastore_for(&source))
        else {
            tracing::warn!(target, source, "Map for an unknown datastore");
            return Ok(StatusCode::NotFound);
        };
        let device = self.state.device.expect("started");
        if !self.state.active.iter().any(|a| a.datastore == datastore) {
            store.set_up_device_datastore(device, datastore, &source)?;
        }
        let mut code = StatusCode::Ok;
        for map_item in &map.map_items {
            let luid = map_item.source.loc_uri.to_string();
            let guid = match map_item.target.loc_uri.parse::<Guid>() {
                Ok(guid) => guid,
                Err(_) => {
                    tracing::warn!(guid = %map_item.target.loc_uri, "Map names no GUID of ours");
                    code = StatusCode::NotFound;
                    continue;
                }
            };
            match store.map_device_item(device, datastore, guid, &luid, None, now) {
                Ok(()) => {}
                Err(e) if e.kind() != StorageErrorKind::Failed => {
                    tracing::warn!(error = %e, "Map item refused");
                    code = StatusCode::NotFound;
                }
                Err(e) => return Err(e.into()),
            }
        }
        tracing::debug!(%datastore, items = map.map_items.len(), "Map applied");
        Ok(code)
    }

    // ----- the phone's changes -----

    fn handle_sync<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        command: &Command,
        sync: &Sync,
        no_resp: bool,
        now: Timestamp,
    ) -> Result<()> {
        let target = sync
            .target
            .as_ref()
            .map(|t| t.loc_uri.to_string())
            .unwrap_or_default();
        let source = sync
            .source
            .as_ref()
            .map(|s| s.loc_uri.to_string())
            .unwrap_or_default();
        let index = self
            .state
            .active
            .iter()
            .position(|a| a.server_uri == target)
            .or_else(|| {
                let datastore = self
                    .config
                    .datastore_for(&target)
                    .or_else(|| self.config.datastore_for(&source))?;
                self.state
                    .active
                    .iter()
                    .position(|a| a.datastore == datastore)
            });
        let mut status = self.status_for(command, StatusCode::Ok);
        status.target_refs.push(target.clone().into());
        status.source_refs.push(source.clone().into());
        let Some(index) = index else {
            tracing::warn!(target, "Sync for a datastore not alerted in this session");
            status.data = StatusCode::NotFound;
            if !no_resp && !sync.no_resp {
                self.state.statuses.push_back(status);
            }
            for inner in &sync.commands {
                self.refuse_command_items(
                    inner,
                    self.config
                        .datastore_for(&target)
                        .or_else(|| self.config.datastore_for(&source)),
                    &source,
                    StatusCode::NotFound,
                    "a Sync for a datastore the phone did not alert in this session",
                );
                self.push_status(inner, StatusCode::NotFound, no_resp);
            }
            return Ok(());
        };
        if let Some(count) = sync.number_of_changes {
            tracing::info!(datastore = %self.state.active[index].datastore, count, "phone announces its changes");
        }
        if !no_resp && !sync.no_resp {
            self.state.statuses.push_back(status);
        }
        for inner in &sync.commands {
            self.handle_sync_command(store, index, inner, no_resp, now)?;
        }
        Ok(())
    }

    fn handle_sync_command<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        command: &Command,
        no_resp: bool,
        now: Timestamp,
    ) -> Result<()> {
        let mode = self.state.active[index].mode;
        match command {
            Command::Add(c) | Command::Replace(c) => {
                if !mode.client_sends() {
                    let active = &self.state.active[index];
                    let (datastore, phone_uri) = (active.datastore, active.phone_uri.clone());
                    self.refuse_command_items(
                        command,
                        Some(datastore),
                        &phone_uri,
                        StatusCode::CommandNotAllowed,
                        "the sync mode takes no changes from the phone",
                    );
                    self.push_status(command, StatusCode::CommandNotAllowed, no_resp);
                    return Ok(());
                }
                let is_add = matches!(command, Command::Add(_));
                // Each item has its own outcome: one bad item does not cost the others.
                let mut outcomes = Vec::with_capacity(c.items.len());
                for item in &c.items {
                    let code = self.apply_item(store, index, c, item, is_add, now)?;
                    outcomes.push(ItemOutcome::of(item, code));
                }
                self.push_item_statuses(command, &outcomes, no_resp);
            }
            Command::Delete(d) => {
                if !mode.client_sends() {
                    self.push_status(command, StatusCode::CommandNotAllowed, no_resp);
                    return Ok(());
                }
                let outcomes = self.apply_delete(store, index, d, now)?;
                self.push_item_statuses(command, &outcomes, no_resp);
            }
            Command::Sequence(c) => {
                self.push_status(command, StatusCode::Ok, no_resp);
                for inner in &c.commands {
                    self.handle_sync_command(store, index, inner, no_resp, now)?;
                }
            }
            Command::Atomic(c) => self.handle_atomic(store, index, command, c, no_resp, now)?,
            Command::Copy(_) | Command::Move(_) => {
                // Hierarchies and server-side copies are not something these phones do.
                self.push_status(command, StatusCode::OptionalFeatureNotSupported, no_resp);
            }
            Command::Status(status) => self.handle_status(store, status)?,
            other => {
                tracing::warn!(command = other.name(), "command not allowed inside Sync");
                self.push_status(other, StatusCode::CommandNotAllowed, no_resp);
            }
        }
        Ok(())
    }

    fn handle_atomic<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        command: &Command,
        container: &Container,
        no_resp: bool,
        now: Timestamp,
    ) -> Result<()> {
        // All or nothing: a savepoint in the message's transaction undoes the commands of a
        // failed Atomic, and what the session learnt from them is put back.
        let before = self.state.statuses.len();
        let seen_before = self.state.active[index].seen_luids.clone();
        let partial_before = self.state.partial.clone();
        store.savepoint("engine_atomic")?;
        if !no_resp && !container.no_resp {
            self.state
                .statuses
                .push_back(self.status_for(command, StatusCode::Ok));
        }
        let first_inner = self.state.statuses.len();
        for inner in &container.commands {
            if matches!(inner, Command::Atomic(_)) {
                // Atomic does not nest (SyncML Representation Protocol).
                self.push_status(inner, StatusCode::BadRequest, no_resp);
                continue;
            }
            self.handle_sync_command(store, index, inner, no_resp, now)?;
        }
        let failed = self
            .state
            .statuses
            .iter()
            .skip(first_inner)
            .any(|s| s.data.is_error());
        if !failed {
            store.release_savepoint("engine_atomic")?;
            return Ok(());
        }
        store.rollback_to_savepoint("engine_atomic")?;
        tracing::info!("Atomic failed; its commands were rolled back");
        self.state.active[index].seen_luids = seen_before;
        self.state.partial = partial_before;
        for status in self.state.statuses.iter_mut().skip(first_inner) {
            if status.data.is_success() {
                status.data = StatusCode::AtomicRollBackOk;
            }
        }
        if first_inner > before {
            self.state.statuses[before].data = StatusCode::AtomicFailed;
        }
        Ok(())
    }

    fn phone_for_datastore(&mut self, datastore: Datastore) -> Phone {
        match self
            .state
            .active
            .iter()
            .position(|a| a.datastore == datastore)
        {
            Some(index) => self.phone(index),
            None => content::phone_for(self.state.client_devinf.as_ref(), None),
        }
    }

    fn phone(&mut self, index: usize) -> Phone {
        let active = &self.state.active[index];
        let datastore = active.datastore;
        if let Some(phone) = self.state.phones.get(&datastore) {
            return phone.clone();
        }
        let phone = content::phone_for(self.state.client_devinf.as_ref(), Some(&active.phone_uri));
        self.state.phones.insert(datastore, phone.clone());
        phone
    }

    /// Applies one Add or Replace item; returns its status. An item refused is kept in the
    /// store with its bytes ([`Self::refuse`]).
    fn apply_item<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        command: &ItemCommand,
        item: &Item,
        is_add: bool,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let command_name = if is_add { "Add" } else { "Replace" };
        let datastore = self.state.active[index].datastore;
        let origin = ItemOrigin {
            datastore: Some(datastore),
            device_datastore: self.state.active[index].phone_uri.clone(),
            command: command_name,
            luid: item_luid(item),
        };
        let mut content_type = meta(&item.meta)
            .and_then(|m| text(&m.type_))
            .or_else(|| meta(&command.meta).and_then(|m| text(&m.type_)))
            .unwrap_or(content::default_content_type(datastore))
            .to_string();
        let chunk = item.data.as_ref().and_then(|d| d.as_bytes());
        let Some(luid) = origin.luid.clone() else {
            return Ok(self.refuse(
                &origin,
                &content_type,
                chunk.unwrap_or_default(),
                StatusCode::BadRequest,
                "the item names no LUID (no Source or Target)".into(),
            ));
        };
        let assembled;
        let bytes: &[u8] = match self.state.partial.take() {
            Some(mut partial) if partial.datastore == datastore && partial.luid == luid => {
                let Some(chunk) = chunk else {
                    // What had arrived of the object is kept.
                    let reason = format!(
                        "a chunk without data; {} of {} bytes had arrived",
                        partial.data.len(),
                        partial.size
                    );
                    let origin = ItemOrigin {
                        command: partial.command,
                        ..origin
                    };
                    return Ok(self.refuse(
                        &origin,
                        &partial.content_type,
                        &partial.data,
                        StatusCode::IncompleteCommand,
                        reason,
                    ));
                };
                partial.data.extend_from_slice(chunk);
                if partial.data.len() as u64 > partial.size
                    || (!item.more_data && partial.data.len() as u64 != partial.size)
                {
                    let reason = format!(
                        "large object of {} bytes declared, {} received",
                        partial.size,
                        partial.data.len()
                    );
                    let origin = ItemOrigin {
                        command: partial.command,
                        ..origin
                    };
                    return Ok(self.refuse(
                        &origin,
                        &partial.content_type,
                        &partial.data,
                        StatusCode::SizeMismatch,
                        reason,
                    ));
                }
                if item.more_data {
                    self.state.partial = Some(partial);
                    return Ok(StatusCode::ChunkedItemAccepted);
                }
                content_type = partial.content_type;
                assembled = partial.data;
                &assembled
            }
            other => {
                if let Some(abandoned) = other {
                    // A new item while chunks of another were expected: that one is dropped
                    // and the phone told so.
                    self.queue_no_end_of_data(&abandoned.luid);
                    self.abandon_partial(abandoned, "another item came before its last chunk");
                }
                let Some(chunk) = chunk else {
                    return Ok(self.refuse(
                        &origin,
                        &content_type,
                        &[],
                        StatusCode::IncompleteCommand,
                        "the item carries no data".into(),
                    ));
                };
                if item.more_data {
                    let size = meta(&item.meta)
                        .and_then(|m| m.size)
                        .or_else(|| meta(&command.meta).and_then(|m| m.size));
                    let refused = match size {
                        None => Some((
                            StatusCode::SizeRequired,
                            "the first chunk of a large object declares no size".to_string(),
                        )),
                        Some(size) if size > self.config.max_obj_size => Some((
                            StatusCode::RequestEntityTooLarge,
                            format!(
                                "a large object of {size} bytes, over our MaxObjSize of {}",
                                self.config.max_obj_size
                            ),
                        )),
                        Some(size) if chunk.len() as u64 > size => Some((
                            StatusCode::SizeMismatch,
                            format!(
                                "a first chunk of {} bytes for a large object of {size}",
                                chunk.len()
                            ),
                        )),
                        Some(_) => None,
                    };
                    if let Some((code, reason)) = refused {
                        return Ok(self.refuse(&origin, &content_type, chunk, code, reason));
                    }
                    self.state.partial = Some(Partial {
                        datastore,
                        command: command_name,
                        luid: luid.clone(),
                        content_type,
                        size: size.unwrap_or_default(),
                        data: chunk.to_vec(),
                    });
                    return Ok(StatusCode::ChunkedItemAccepted);
                }
                chunk
            }
        };
        let phone = self.phone(index);
        let incoming = match content::from_phone(&phone, datastore, &content_type, bytes) {
            Ok(incoming) => incoming,
            Err(reason) => {
                return Ok(self.refuse(
                    &origin,
                    &content_type,
                    bytes,
                    StatusCode::UnsupportedMediaType,
                    reason,
                ));
            }
        };
        self.state.active[index].seen_luids.insert(luid.clone());
        let code = if self.state.active[index].mode.sends_everything() {
            self.apply_slow(store, datastore, &luid, &incoming, now)?
        } else {
            self.apply_fast(store, datastore, &luid, &incoming, is_add, now)?
        };
        Ok(code)
    }

    fn queue_no_end_of_data(&mut self, luid: &str) {
        self.state.commands.push_back(Command::Alert(Alert {
            data: Some(AlertCode::NoEndOfData),
            items: vec![model::item(None, Some(luid))],
            ..Alert::default()
        }));
    }

    fn cause(&self, reason: Reason) -> Cause {
        Cause::device(
            reason,
            self.state.device.expect("started"),
            self.state.store_session,
        )
    }

    /// A change in a two-way or one-way sync: applied, unless the PC changed the item too and
    /// the conflict policy says otherwise.
    fn apply_fast<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        luid: &str,
        incoming: &Incoming,
        is_add: bool,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let device = self.state.device.expect("started");
        let session = self.state.store_session;
        let held = store.device_item_by_luid(device, datastore, luid)?;
        // A new version of something the PC holds keeps what the phone cannot hold.
        let merged;
        let incoming = match &held {
            Some(held) => {
                let stored = store.item(held.guid)?;
                let phone = self.phone_for_datastore(datastore);
                let unchanged = held.item_revision <= held.seen_revision;
                merged = content::merge_into_stored(&phone, &stored, incoming.clone(), unchanged);
                &merged
            }
            None => incoming,
        };
        let content = incoming.as_content();
        if let Some(held) = held {
            if held.item_revision > held.seen_revision {
                let item = store.item(held.guid)?;
                let same = !item.is_deleted() && item.canonical == incoming.canonical;
                if !same {
                    let policy = settle(self.config.conflicts, &item, Some(incoming));
                    tracing::info!(%datastore, guid = %held.guid, ?policy, "conflict: changed on both sides");
                    match policy {
                        ConflictPolicy::PcWins => {
                            let cause = self.cause(Reason::ReplacedByPhone).with_note(format!(
                                "conflict: PC revision {} won",
                                held.item_revision
                            ));
                            store.record_conflict_loser(held.guid, content, &cause, now)?;
                            return Ok(StatusCode::ConflictResolvedWithServerData);
                        }
                        ConflictPolicy::KeepBoth if !item.is_deleted() => {
                            let cause = self
                                .cause(Reason::AddedByPhone)
                                .with_note(format!("conflict: kept beside item {}", held.guid));
                            let added = store.add_item(datastore, content, &cause, now)?;
                            store.map_device_item(
                                device,
                                datastore,
                                added.guid,
                                luid,
                                Some(added.revision),
                                now,
                            )?;
                            return Ok(StatusCode::ConflictResolvedWithDuplicate);
                        }
                        _ => {
                            store.apply_from_device(
                                device,
                                datastore,
                                session,
                                DeviceChange::Replace { luid, content },
                                now,
                            )?;
                            return Ok(StatusCode::ConflictResolvedWithClientWinning);
                        }
                    }
                }
            }
        }
        let change = if is_add {
            DeviceChange::Add { luid, content }
        } else {
            DeviceChange::Replace { luid, content }
        };
        let applied = store.apply_from_device(device, datastore, session, change, now)?;
        Ok(match applied.outcome {
            AppliedOutcome::Added => StatusCode::ItemAdded,
            _ => StatusCode::Ok,
        })
    }

    /// An item of a slow sync: the phone sends all it holds, so each item is matched to what
    /// it already is on the PC (its mapping, else its identity key) before anything is added.
    fn apply_slow<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        datastore: Datastore,
        luid: &str,
        incoming: &Incoming,
        now: Timestamp,
    ) -> Result<StatusCode> {
        let device = self.state.device.expect("started");
        if let Some(held) = store.device_item_by_luid(device, datastore, luid)? {
            let item = store.item(held.guid)?;
            let same_item = !item.is_deleted()
                && (item.canonical == incoming.canonical
                    || (item.identity_key.is_some() && item.identity_key == incoming.identity_key));
            if same_item {
                return self.apply_fast(store, datastore, luid, incoming, false, now);
            }
            // The phone reused the LUID for something else (it was reset): the old mapping
            // no longer holds.
            store.forget_device_item(device, datastore, held.guid)?;
        }
        let candidate = match &incoming.identity_key {
            Some(key) => store
                .unheld_items_by_identity_key(device, datastore, key)?
                .into_iter()
                .next(),
            None => None,
        };
        let Some(item) = candidate else {
            return self.apply_fast(store, datastore, luid, incoming, true, now);
        };
        // What the phone cannot hold is not a difference.
        let phone = self.phone_for_datastore(datastore);
        let incoming = &content::merge_into_stored(&phone, &item, incoming.clone(), false);
        if item.canonical == incoming.canonical {
            store.map_device_item(device, datastore, item.guid, luid, Some(item.revision), now)?;
            return Ok(StatusCode::Ok);
        }
        // Both sides have a version of the item: a conflict, settled by the policy.
        match settle(self.config.conflicts, &item, Some(incoming)) {
            // `settle` never gives NewerWins back.
            ConflictPolicy::PhoneWins | ConflictPolicy::NewerWins => {
                store.map_device_item(
                    device,
                    datastore,
                    item.guid,
                    luid,
                    Some(item.revision),
                    now,
                )?;
                store.apply_from_device(
                    device,
                    datastore,
                    self.state.store_session,
                    DeviceChange::Replace {
                        luid,
                        content: incoming.as_content(),
                    },
                    now,
                )?;
                Ok(StatusCode::Ok)
            }
            ConflictPolicy::PcWins => {
                // Seen revision 0: the PC's version goes to the phone.
                store.map_device_item(
                    device,
                    datastore,
                    item.guid,
                    luid,
                    Some(Revision(0)),
                    now,
                )?;
                let cause = self
                    .cause(Reason::ReplacedByPhone)
                    .with_note("slow sync: PC version won");
                store.record_conflict_loser(item.guid, incoming.as_content(), &cause, now)?;
                Ok(StatusCode::ConflictResolvedWithServerData)
            }
            ConflictPolicy::KeepBoth => {
                self.apply_fast(store, datastore, luid, incoming, true, now)?;
                Ok(StatusCode::ConflictResolvedWithDuplicate)
            }
        }
    }

    /// Applies the items of a Delete; returns each item's outcome.
    fn apply_delete<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        index: usize,
        delete: &Delete,
        now: Timestamp,
    ) -> Result<Vec<ItemOutcome>> {
        let device = self.state.device.expect("started");
        let datastore = self.state.active[index].datastore;
        let mut outcomes = Vec::with_capacity(delete.items.len());
        for item in &delete.items {
            let Some(luid) = item_luid(item) else {
                tracing::warn!("Delete item names no LUID");
                outcomes.push(ItemOutcome::of(item, StatusCode::BadRequest));
                continue;
            };
            let held = store.device_item_by_luid(device, datastore, &luid)?;
            let conflict = held
                .as_ref()
                .is_some_and(|h| !h.item_deleted && h.item_revision > h.seen_revision);
            if let (true, Some(held)) = (conflict, &held) {
                let stored = store.item(held.guid)?;
                if settle(self.config.conflicts, &stored, None) != ConflictPolicy::PhoneWins {
                    // The PC's edit wins over the phone's delete: the phone gets it again.
                    tracing::info!(guid = %held.guid, "conflict: phone deleted what the PC changed; PC version kept");
                    store.forget_device_item(device, datastore, held.guid)?;
                    outcomes.push(ItemOutcome::of(
                        item,
                        StatusCode::ConflictResolvedWithServerData,
                    ));
                    continue;
                }
            }
            let applied = store.apply_from_device(
                device,
                datastore,
                self.state.store_session,
                DeviceChange::Delete { luid: &luid },
                now,
            )?;
            let code = match applied.outcome {
                AppliedOutcome::NotFound => StatusCode::ItemNotDeleted,
                _ if conflict => StatusCode::ConflictResolvedWithClientWinning,
                _ => StatusCode::Ok,
            };
            outcomes.push(ItemOutcome::of(item, code));
        }
        Ok(outcomes)
    }

    // ----- packages -----

    /// The phone's package ended (a message with Final): move to the next phase and queue
    /// what our next package holds.
    fn client_package_ended<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
    ) -> Result<()> {
        match self.state.phase {
            Phase::Init => {
                if self.state.client_devinf.is_none() && !self.state.devinf_requested {
                    self.request_devinf();
                }
                self.state.phase = Phase::ClientSync;
                self.state.package_complete = true;
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
                self.state.package_complete = true;
                if self.state.changes.is_empty() {
                    // Nothing we send needs an answer: the session is complete now.
                    self.complete(store, now)?;
                } else {
                    self.state.phase = Phase::ClientMap;
                }
            }
            Phase::ClientMap => {
                self.complete(store, now)?;
                self.state.package_complete = true;
            }
            Phase::Finished => {}
        }
        Ok(())
    }

    fn request_devinf(&mut self) {
        let version = self.state.version;
        self.state.devinf_requested = true;
        self.state.commands.push_back(Command::Get(GetPut {
            meta: some_meta(MetInf::with_type(self.state.encoding.devinf_content_type())),
            items: vec![model::item(Some(devinf_uri(version)), None)],
            ..GetPut::default()
        }));
    }

    /// After a slow sync or refresh from the phone: what the phone did not send, it no longer
    /// holds; after a refresh from the phone, the PC keeps only what the phone sent.
    fn settle_full_syncs<S: SyncStore + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
    ) -> Result<()> {
        let device = self.state.device.expect("started");
        for active in self.state.active.clone() {
            if !active.mode.sends_everything() {
                continue;
            }
            let mut held = HashSet::new();
            for item in store.device_items(device, active.datastore)? {
                match &item.luid {
                    Some(luid) if !active.seen_luids.contains(luid) => {
                        store.forget_device_item(device, active.datastore, item.guid)?;
                    }
                    _ => {
                        held.insert(item.guid);
                    }
                }
            }
            if active.mode == SyncMode::RefreshFromClient {
                let cause = self
                    .cause(Reason::DeletedByPhone)
                    .with_note("refresh from the phone: not on the phone");
                for item in store.items(active.datastore, false)? {
                    if !held.contains(&item.guid) {
                        store.delete_item(item.guid, &cause, now)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn queue_changes<S: SyncStore + ?Sized>(&mut self, store: &S) -> Result<()> {
        let device = self.state.device.expect("started");
        for index in 0..self.state.active.len() {
            let active = self.state.active[index].clone();
            if !active.mode.server_sends() {
                continue;
            }
            self.state
                .changes
                .push_back(Outgoing::Open(active.datastore));
            let (max_guid_size, preferred) = self.phone_datastore_facts(&active.phone_uri);
            let phone = self.phone(index);
            for change in store.changes_for_device(device, active.datastore)? {
                let guid_text = change.item.guid.to_string();
                if max_guid_size.is_some_and(|max| guid_text.len() > max as usize) {
                    tracing::warn!(
                        guid = guid_text,
                        ?max_guid_size,
                        "GUID longer than the phone takes; not sent"
                    );
                    continue;
                }
                if change.kind != ChangeKind::Add && change.luid.is_none() {
                    // The phone holds it under a LUID whose Map has not come: it cannot be
                    // addressed until it does.
                    tracing::debug!(guid = guid_text, "change waits for a Map");
                    continue;
                }
                let (content_type, data) = if change.kind == ChangeKind::Delete {
                    (String::new(), Vec::new())
                } else {
                    content::to_phone(&phone, &change.item, preferred.as_deref())
                };
                if let Some(max) = self.state.client_max_obj_size {
                    if data.len() as u64 > max {
                        tracing::warn!(
                            guid = guid_text,
                            size = data.len(),
                            max,
                            "item larger than the phone's MaxObjSize; not sent"
                        );
                        continue;
                    }
                }
                self.state
                    .changes
                    .push_back(Outgoing::Change(PendingChange {
                        datastore: active.datastore,
                        kind: change.kind,
                        guid: change.item.guid,
                        revision: change.item.revision,
                        luid: change.luid,
                        content_type,
                        data,
                        sent_bytes: 0,
                    }));
            }
        }
        Ok(())
    }

    /// MaxGUIDSize and the preferred content type of a phone datastore, from its DevInf.
    fn phone_datastore_facts(&self, phone_uri: &str) -> (Option<u32>, Option<String>) {
        let Some(devinf) = &self.state.client_devinf else {
            return (None, None);
        };
        let Some(store) = devinf
            .data_stores
            .iter()
            .find(|d| d.source_ref.trim_start_matches("./") == phone_uri.trim_start_matches("./"))
        else {
            return (None, None);
        };
        let preferred = store.rx_pref.first().map(|c| c.ct_type.to_string());
        (store.max_guid_size.filter(|m| *m > 0), preferred)
    }

    /// The session completed: anchors move for every datastore synced.
    fn complete<S: SyncStore + ?Sized>(&mut self, store: &S, now: Timestamp) -> Result<()> {
        let device = self.state.device.expect("started");
        let session = self.state.store_session.expect("started");
        for active in &self.state.active {
            store.complete_datastore_sync(device, active.datastore, session, now)?;
        }
        if !self.state.awaiting.is_empty() {
            tracing::warn!(
                unanswered = self.state.awaiting.len(),
                "changes without a status; they are sent again next time"
            );
        }
        tracing::info!(datastores = self.state.active.len(), "session completed");
        self.end(store, SessionResult::Completed, None, now)
    }

    // ----- our messages -----

    fn our_header(&self, msg_id: u32) -> SyncHdr {
        let mut meta = MetInf {
            max_msg_size: Some(self.config.max_msg_size),
            ..MetInf::default()
        };
        if self.state.version != Version::V1_0 {
            meta.max_obj_size = Some(self.config.max_obj_size);
        }
        SyncHdr {
            ver_proto: self.state.ver_proto.clone().into(),
            session_id: self.state.syncml_session_id.clone().into(),
            msg_id,
            target: Target::new(self.state.client_uri.clone()),
            source: Source::new(self.state.server_uri.clone()),
            resp_uri: self.params.resp_uri.clone().map(Into::into),
            no_resp: false,
            cred: None,
            meta: some_meta(meta),
            extensions: Default::default(),
        }
    }

    fn encode(&self, message: &Message) -> Result<Vec<u8>> {
        match self.state.encoding {
            Encoding::Xml => to_xml(message, XmlOptions::default())
                .map(String::into_bytes)
                .map_err(EngineError::Encode),
            Encoding::Wbxml => {
                to_wbxml(message, &WriterOptions::default()).map_err(EngineError::Encode)
            }
        }
    }

    /// The size limit of our messages.
    fn limit(&self) -> usize {
        let limit = self
            .state
            .client_max_msg_size
            .unwrap_or(self.config.default_client_max_msg_size);
        usize::try_from(limit).unwrap_or(usize::MAX)
    }

    /// Builds our next message: the header status, then as many queued statuses, commands
    /// and changes as fit in the phone's MaxMsgSize.
    fn reply(&mut self, header_status: Option<Status>, client_final: bool) -> Result<Reply> {
        let msg_id = self.state.next_msg_id;
        self.state.next_msg_id += 1;
        let limit = self.limit();
        let mut message = Message {
            version: self.state.version,
            header: Some(self.our_header(msg_id)),
            body: SyncBody::default(),
            extensions: Default::default(),
        };
        let mut next_id = 1u32;
        if let Some(status) = header_status {
            let mut command = Command::Status(status);
            model::set_cmd_id(&mut command, next_id);
            next_id += 1;
            message.body.commands.push(command);
        }
        let mut full = false;
        let mut budget = SizeBudget::new(self, &message, limit)?;
        while let Some(status) = self.state.statuses.pop_front() {
            let mut command = Command::Status(status);
            model::set_cmd_id(&mut command, next_id);
            let command = budget.measure(self, command)?;
            message.body.commands.push(command);
            if !budget.fits(self, &message)? {
                if message.body.commands.len() > 1 {
                    let Some(Command::Status(status)) = message.body.commands.pop() else {
                        unreachable!()
                    };
                    self.state.statuses.push_front(status);
                    full = true;
                    break;
                }
                budget.resync(self, &message)?;
            }
            next_id += 1;
        }
        while !full {
            let Some(mut command) = self.state.commands.pop_front() else {
                break;
            };
            model::set_cmd_id(&mut command, next_id);
            let command = budget.measure(self, command)?;
            message.body.commands.push(command);
            if !budget.fits(self, &message)? {
                let command = message.body.commands.pop().expect("just pushed");
                self.state.commands.push_front(command);
                full = true;
                break;
            }
            next_id += 1;
        }
        if !full {
            self.fill_changes(&mut message, &mut next_id, msg_id, &mut budget)?;
        }
        let drained = self.state.statuses.is_empty()
            && self.state.commands.is_empty()
            && self.state.changes.is_empty();
        let is_final = drained && self.state.package_complete;
        if !is_final && !client_final && self.phase_expects_more_from_client() {
            // The phone's package goes on and we have nothing but statuses: ask for more.
            let only_statuses = message
                .body
                .commands
                .iter()
                .all(|c| matches!(c, Command::Status(_)));
            if only_statuses {
                let mut alert = Command::Alert(Alert {
                    data: Some(AlertCode::NextMessage),
                    items: vec![model::item(
                        Some(&self.state.client_uri),
                        Some(&self.state.server_uri),
                    )],
                    ..Alert::default()
                });
                model::set_cmd_id(&mut alert, next_id);
                message.body.commands.push(alert);
            }
        }
        message.body.final_ = is_final;
        if is_final {
            self.state.package_complete = false;
        }
        self.state.last_reply_final = is_final || drained;
        let bytes = self.encode(&message)?;
        if bytes.len() > limit {
            tracing::warn!(
                size = bytes.len(),
                limit,
                "our message exceeds the phone's MaxMsgSize"
            );
        }
        tracing::debug!(
            msg_id,
            size = bytes.len(),
            commands = message.body.commands.len(),
            is_final,
            "reply"
        );
        Ok(Reply {
            message,
            bytes,
            encoding: self.state.encoding,
            is_final,
            session_finished: self.state.phase == Phase::Finished,
        })
    }

    fn phase_expects_more_from_client(&self) -> bool {
        self.state.phase != Phase::Finished
    }

    /// Adds queued changes inside per-datastore Sync commands while they fit.
    fn fill_changes(
        &mut self,
        message: &mut Message,
        next_id: &mut u32,
        msg_id: u32,
        budget: &mut SizeBudget,
    ) -> Result<()> {
        let limit = budget.limit;
        // The datastore of the Sync at the end of the body, if the body ends with one.
        let mut open: Option<Datastore> = None;
        while let Some(outgoing) = self.state.changes.pop_front() {
            let datastore = match &outgoing {
                Outgoing::Open(d) => *d,
                Outgoing::Change(c) => c.datastore,
            };
            let mut opened_here = false;
            if open != Some(datastore) || matches!(outgoing, Outgoing::Open(_)) {
                let sync = self.sync_for(datastore, *next_id);
                let sync = budget.measure(self, Command::Sync(sync.into()))?;
                message.body.commands.push(sync);
                opened_here = true;
                if !budget.fits(self, message)? {
                    message.body.commands.pop();
                    self.state.changes.push_front(outgoing);
                    return Ok(());
                }
                *next_id += 1;
                open = Some(datastore);
            }
            let Outgoing::Change(change) = outgoing else {
                continue;
            };
            let mut command = change_command(&change);
            model::set_cmd_id(&mut command, *next_id);
            let command = budget.measure_in_sync(self, command)?;
            last_sync(message).commands.push(command);
            if budget.fits(self, message)? {
                self.state.awaiting.insert(
                    (msg_id, next_id.to_string()),
                    Sent {
                        datastore: change.datastore,
                        kind: change.kind,
                        guid: change.guid,
                        revision: change.revision,
                    },
                );
                *next_id += 1;
                continue;
            }
            last_sync(message).commands.pop();
            budget.resync(self, message)?;
            let alone = last_sync(message).commands.is_empty()
                && message
                    .body
                    .commands
                    .iter()
                    .filter(|c| !matches!(c, Command::Status(_)))
                    .count()
                    == 1;
            if alone {
                if self.phone_takes_large_objects() && change.kind != ChangeKind::Delete {
                    if let Some(length) = self.largest_chunk(message, &change, *next_id, limit)? {
                        let mut change = change;
                        let mut command = chunk_command(&change, length);
                        model::set_cmd_id(&mut command, *next_id);
                        last_sync(message).commands.push(command);
                        budget.resync(self, message)?;
                        *next_id += 1;
                        change.sent_bytes += length;
                        self.state.changes.push_front(Outgoing::Change(change));
                        return Ok(());
                    }
                }
                // Too large for any message of this phone, which cannot take it in chunks:
                // it stays on the PC and is reported, not sent.
                tracing::warn!(guid = %change.guid, size = change.data.len(), limit, "item too large for the phone's MaxMsgSize; not sent");
                continue;
            }
            if opened_here && last_sync(message).commands.is_empty() {
                message.body.commands.pop();
                *next_id -= 1;
            }
            self.state.changes.push_front(Outgoing::Change(change));
            return Ok(());
        }
        Ok(())
    }

    /// Whether the phone said it takes items in chunks (DevInf `SupportLargeObjs`, 1.1+).
    fn phone_takes_large_objects(&self) -> bool {
        self.state.version != Version::V1_0
            && self
                .state
                .client_devinf
                .as_ref()
                .is_some_and(|d| d.support_large_objs)
    }

    /// The most bytes of the change's remaining data that fit, as a chunk, at the end of the
    /// message; `None` when not even a small chunk does.
    fn largest_chunk(
        &self,
        message: &mut Message,
        change: &PendingChange,
        cmd_id: u32,
        limit: usize,
    ) -> Result<Option<usize>> {
        let remaining = change.data.len() - change.sent_bytes;
        let text = std::str::from_utf8(&change.data).ok();
        let boundary = |length: usize| {
            let mut end = change.sent_bytes + length;
            if let Some(text) = text {
                while end > change.sent_bytes && !text.is_char_boundary(end) {
                    end -= 1;
                }
            }
            end - change.sent_bytes
        };
        let mut fits = |length: usize| -> Result<bool> {
            let mut command = chunk_command(change, length);
            model::set_cmd_id(&mut command, cmd_id);
            last_sync(message).commands.push(command);
            let size = self.encode(message)?.len();
            last_sync(message).commands.pop();
            Ok(size <= limit)
        };
        let (mut low, mut high) = (0usize, remaining);
        while low < high {
            let middle = boundary(low + (high - low).div_ceil(2));
            if middle <= low {
                break;
            }
            if fits(middle)? {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        Ok((low >= 64.min(remaining)).then_some(low))
    }

    fn sync_for(&self, datastore: Datastore, cmd_id: u32) -> Sync {
        let active = self
            .state
            .active
            .iter()
            .find(|a| a.datastore == datastore)
            .expect("queued for an active datastore");
        let number_of_changes = (self.state.version != Version::V1_0).then(|| {
            self.state
                .changes
                .iter()
                .filter(|c| matches!(c, Outgoing::Change(c) if c.datastore == datastore))
                .count() as u32
        });
        Sync {
            cmd_id: Some(cmd_id.to_string().into()),
            target: Some(Target::new(active.phone_uri.clone())),
            source: Some(Source::new(active.server_uri.clone())),
            number_of_changes,
            ..Sync::default()
        }
    }
}

/// The policy that settles one conflict: `NewerWins` becomes the side changed last, by the
/// phone's own timestamp (vCard REV, iCalendar LAST-MODIFIED) against the PC's modification
/// time; without one the phone wins an edit, and the PC's edit wins over a phone's delete.
fn settle(policy: ConflictPolicy, pc: &ItemRecord, phone: Option<&Incoming>) -> ConflictPolicy {
    if policy != ConflictPolicy::NewerWins {
        return policy;
    }
    let Some(phone) = phone else {
        return ConflictPolicy::PcWins;
    };
    match content::modified_at(&phone.canonical) {
        Some(at) if at < pc.modified_at => ConflictPolicy::PcWins,
        _ => ConflictPolicy::PhoneWins,
    }
}

/// The encoded size of the message being built, tracked as commands are added without
/// encoding the whole message each time (that made building quadratic in its size).
///
/// Each command's cost is measured by encoding it alone in a probe message (our header and
/// nothing else, or an empty Sync for changes) plus a few bytes for a WBXML code page switch
/// the context may need. That makes `size` an upper bound: while it stays under the limit the
/// command certainly fits; past it, one exact encode decides and resets the bound.
struct SizeBudget {
    limit: usize,
    /// An upper bound of the message's encoded size (exact after `resync`).
    size: usize,
    /// The cost of the command measured last.
    pending: usize,
    probe: Message,
    probe_len: usize,
    /// The probe with one empty Sync, and its size, for changes inside a Sync.
    sync_probe: Option<(Message, usize)>,
}

/// A WBXML SWITCH_PAGE back to SyncML's code page (2 bytes) and a little more, per command.
const CONTEXT_SLACK: usize = 4;

impl SizeBudget {
    fn new(session: &Session, message: &Message, limit: usize) -> Result<SizeBudget> {
        let probe = Message {
            version: message.version,
            header: message.header.clone(),
            body: SyncBody::default(),
            extensions: Default::default(),
        };
        let probe_len = session.encode(&probe)?.len();
        Ok(SizeBudget {
            limit,
            size: session.encode(message)?.len(),
            pending: 0,
            probe,
            probe_len,
            sync_probe: None,
        })
    }

    /// Measures a command for the body; hands it back.
    fn measure(&mut self, session: &Session, command: Command) -> Result<Command> {
        self.probe.body.commands.push(command);
        let len = session.encode(&self.probe)?.len();
        let command = self.probe.body.commands.pop().expect("just pushed");
        self.pending = len.saturating_sub(self.probe_len) + CONTEXT_SLACK;
        Ok(command)
    }

    /// Measures a change for the Sync at the end of the body; hands it back.
    fn measure_in_sync(&mut self, session: &Session, command: Command) -> Result<Command> {
        if self.sync_probe.is_none() {
            let mut probe = self.probe.clone();
            probe
                .body
                .commands
                .push(Command::Sync(Sync::default().into()));
            let len = session.encode(&probe)?.len();
            self.sync_probe = Some((probe, len));
        }
        let (probe, base) = self.sync_probe.as_mut().expect("just made");
        last_sync(probe).commands.push(command);
        let len = session.encode(probe)?.len();
        let command = last_sync(probe).commands.pop().expect("just pushed");
        self.pending = len.saturating_sub(*base) + CONTEXT_SLACK;
        Ok(command)
    }

    /// Whether the message, with the command measured last now in it, fits the limit.
    fn fits(&mut self, session: &Session, message: &Message) -> Result<bool> {
        if self.size + self.pending <= self.limit {
            self.size += self.pending;
            return Ok(true);
        }
        let exact = session.encode(message)?.len();
        if exact <= self.limit {
            self.size = exact;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// After a command was taken out again or changed: the exact size.
    fn resync(&mut self, session: &Session, message: &Message) -> Result<()> {
        self.size = session.encode(message)?.len();
        Ok(())
    }
}

fn last_sync(message: &mut Message) -> &mut Sync {
    match message.body.commands.last_mut() {
        Some(Command::Sync(sync)) => sync,
        _ => unreachable!("a Sync was opened"),
    }
}

/// A chunk of a large object: `length` bytes from where the last chunk ended, `MoreData`,
/// and on the first chunk the whole size.
fn chunk_command(change: &PendingChange, length: usize) -> Command {
    let mut command = change_command(change);
    if let Command::Add(c) | Command::Replace(c) = &mut command {
        let item = &mut c.items[0];
        let bytes = &change.data[change.sent_bytes..change.sent_bytes + length];
        item.data = Some(match std::str::from_utf8(bytes) {
            Ok(text) => Data::Text(text.to_string()),
            Err(_) => Data::Binary(bytes.to_vec()),
        });
        item.more_data = true;
        if change.sent_bytes == 0 {
            item.meta = some_meta(MetInf {
                size: Some(change.data.len() as u64),
                ..MetInf::default()
            });
        }
    }
    command
}

fn change_command(change: &PendingChange) -> Command {
    let guid = change.guid.to_string();
    match change.kind {
        ChangeKind::Delete => Command::Delete(Delete {
            items: vec![model::item(change.luid.as_deref(), Some(&guid))],
            ..Delete::default()
        }),
        ChangeKind::Add | ChangeKind::Replace => {
            let mut item = match change.kind {
                ChangeKind::Add => model::item(None, Some(&guid)),
                _ => model::item(change.luid.as_deref(), Some(&guid)),
            };
            let rest = &change.data[change.sent_bytes..];
            item.data = Some(match std::str::from_utf8(rest) {
                Ok(text) => Data::Text(text.to_string()),
                Err(_) => Data::Binary(rest.to_vec()),
            });
            let command = ItemCommand {
                meta: some_meta(MetInf::with_type(change.content_type.clone())),
                items: vec![item],
                ..ItemCommand::default()
            };
            if change.kind == ChangeKind::Add {
                Command::Add(command)
            } else {
                Command::Replace(command)
            }
        }
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
    fn server_alerted_sync_types_fold_into_the_plain_ones() {
        for (code, mode) in [
            (200, SyncMode::TwoWay),
            (206, SyncMode::TwoWay),
            (201, SyncMode::Slow),
            (207, SyncMode::OneWayFromClient),
            (208, SyncMode::RefreshFromClient),
            (209, SyncMode::OneWayFromServer),
            (210, SyncMode::RefreshFromServer),
        ] {
            assert_eq!(SyncMode::from_alert(AlertCode::from_code(code)), Some(mode));
        }
        assert_eq!(SyncMode::from_alert(AlertCode::NextMessage), None);
        assert!(!SyncMode::RefreshFromClient.server_sends());
        assert!(!SyncMode::OneWayFromServer.client_sends());
        assert_eq!(SyncMode::Slow.alert_code(), AlertCode::SlowSync);
    }

    #[test]
    fn only_syncml_protocol_versions_are_served() {
        assert!(supported_protocol("SyncML/1.1"));
        assert!(supported_protocol(" syncml/1.2 "));
        assert!(!supported_protocol("DM/1.2"));
        assert!(!supported_protocol("SyncML/2.0"));
    }
}
