//! The SyncML DS client session: the phone's side of packages 1 to 6.
//!
//! [`Phone`] owns a [`DeviceProfile`], a [`PhoneStore`] and, while a session runs, its state.
//! It is sans-IO: [`Phone::start_sync`] returns the first message, [`Phone::receive`] takes
//! each server message and says what to send next or that the session is over. Anchors move
//! and change logs are cleared only when a session completes; a session cut anywhere
//! ([`Phone::abort`]) leaves the phone as it would a real one: items received so far kept,
//! changes still pending, Maps owed remembered for the next session.

use std::collections::{BTreeMap, VecDeque};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest as _, Md5};

use super::builder::Builder;
use super::error::EmulatorError;
use super::profile::{AnchorStyle, DeviceProfile};
use super::store::{Change, PhoneItem, PhoneStore};
use super::transcript::{Direction, Transcript};
use super::UnixMillis;
use handsync_proto::markup::Version;
use handsync_proto::pim::datetime::DateTime;
use handsync_proto::pim::Datastore;
use handsync_proto::syncml::{
    self, Alert, AlertCode, Anchor, Command, CompactString, Cred, Data, Delete, Encoding, GetPut,
    Item, ItemCommand, Map, MapItem, Message, MetInf, Results, Source, Status, StatusCode, Sync,
    SyncBody, SyncHdr, Target,
};

/// The server's MaxMsgSize until it tells us (the engine's default).
const UNKNOWN_SERVER_MAX_MSG_SIZE: u64 = 64 * 1024;
/// Tries at credentials within one session before giving up (phones ask the user after two).
const MAX_AUTH_ATTEMPTS: u32 = 2;
/// A chunk of a large object smaller than this waits for an emptier message.
const MIN_CHUNK: usize = 256;
/// Statuses any message may have to carry (the server's header, its Alert 222).
pub(super) const MINIMAL_STATUSES: usize = 2;

/// A sync mode, as the phone asks for it and as the session settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncMode {
    TwoWay,
    Slow,
    OneWayFromClient,
    RefreshFromClient,
    OneWayFromServer,
    RefreshFromServer,
}

impl SyncMode {
    /// The Alert code; `server_alerted` gives the 206..210 forms used after a notification.
    pub fn alert_code(self, server_alerted: bool) -> AlertCode {
        let code = match self {
            SyncMode::TwoWay => 200,
            SyncMode::Slow => 201,
            SyncMode::OneWayFromClient => 202,
            SyncMode::RefreshFromClient => 203,
            SyncMode::OneWayFromServer => 204,
            SyncMode::RefreshFromServer => 205,
        };
        let alerted = match self {
            SyncMode::TwoWay => 206,
            SyncMode::Slow => 201,
            SyncMode::OneWayFromClient => 207,
            SyncMode::RefreshFromClient => 208,
            SyncMode::OneWayFromServer => 209,
            SyncMode::RefreshFromServer => 210,
        };
        AlertCode::from_code(if server_alerted { alerted } else { code })
    }

    /// The mode of an Alert code (200..210).
    pub fn from_alert(code: AlertCode) -> Option<SyncMode> {
        match code.code() {
            200 | 206 => Some(SyncMode::TwoWay),
            201 => Some(SyncMode::Slow),
            202 | 207 => Some(SyncMode::OneWayFromClient),
            203 | 208 => Some(SyncMode::RefreshFromClient),
            204 | 209 => Some(SyncMode::OneWayFromServer),
            205 | 210 => Some(SyncMode::RefreshFromServer),
            _ => None,
        }
    }

    /// Whether the phone sends its items (changes, or all of them).
    pub fn client_sends(self) -> bool {
        !matches!(
            self,
            SyncMode::OneWayFromServer | SyncMode::RefreshFromServer
        )
    }

    /// Whether the phone sends everything it holds rather than its changes.
    pub fn sends_everything(self) -> bool {
        matches!(self, SyncMode::Slow | SyncMode::RefreshFromClient)
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::TwoWay => "two-way",
            SyncMode::Slow => "slow",
            SyncMode::OneWayFromClient => "one-way-from-phone",
            SyncMode::RefreshFromClient => "refresh-from-phone",
            SyncMode::OneWayFromServer => "one-way-from-pc",
            SyncMode::RefreshFromServer => "refresh-from-pc",
        }
    }

    /// The mode of a name given by [`SyncMode::name`].
    pub fn from_name(name: &str) -> Option<SyncMode> {
        [
            SyncMode::TwoWay,
            SyncMode::Slow,
            SyncMode::OneWayFromClient,
            SyncMode::RefreshFromClient,
            SyncMode::OneWayFromServer,
            SyncMode::RefreshFromServer,
        ]
        .into_iter()
        .find(|mode| mode.name() == name)
    }
}

/// What to sync in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// The datastores and the mode asked for each. A two-way sync of a datastore that never
    /// completed a sync is asked as slow, as phones do.
    pub datastores: Vec<(Datastore, SyncMode)>,
    /// The server asked for the session (a notification): Alert codes 206..210.
    pub server_alerted: bool,
    /// The SessionID to use (a notification names one); else the phone's own counter.
    pub session_id: Option<String>,
}

impl SyncRequest {
    /// Every datastore of the profile in one mode.
    pub fn all(profile: &DeviceProfile, mode: SyncMode) -> SyncRequest {
        SyncRequest {
            datastores: profile.datastores.iter().map(|d| (d.kind, mode)).collect(),
            server_alerted: false,
            session_id: None,
        }
    }

    /// One datastore.
    pub fn only(kind: Datastore, mode: SyncMode) -> SyncRequest {
        SyncRequest {
            datastores: vec![(kind, mode)],
            server_alerted: false,
            session_id: None,
        }
    }
}

/// How the phone proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `syncml:auth-basic`: base64 of `user:password`.
    Basic,
    /// `syncml:auth-md5`, with the server's nonce.
    Md5,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
    pub kind: AuthKind,
}

/// How the phone is set up by its user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhoneConfig {
    pub credentials: Option<Credentials>,
    /// The server identity to address (header Target); the profile's when `None`.
    pub server_uri: Option<String>,
    /// Forget the Maps a cut session still owed instead of sending them at the start of the
    /// next session (most phones resend them; some forget and rely on the slow sync that
    /// follows a cut).
    pub forget_maps_after_cut: bool,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub bytes: Vec<u8>,
    pub encoding: Encoding,
    pub message: Message,
    /// The last message of its package.
    pub is_final: bool,
}

impl Outgoing {
    /// The MIME type for the transport (OBEX Type, HTTP Content-Type).
    pub fn content_type(&self) -> &'static str {
        self.encoding.syncml_content_type()
    }
}

/// What to do after a server message.
#[derive(Debug, Clone, PartialEq)]
// One per server message: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// Send this message and wait for the server's answer.
    Send(Outgoing),
    /// The session is over; nothing more to send.
    Finished(SessionReport),
}

/// How one datastore fared in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreReport {
    pub kind: Datastore,
    pub requested: SyncMode,
    /// The mode actually run (a 508 or the server's Alert may have made it slow).
    pub mode: SyncMode,
    /// The status the server gave our Alert.
    pub alert_status: Option<StatusCode>,
    /// Items we sent (Add/Replace/Delete), and the statuses they got.
    pub sent: usize,
    pub sent_statuses: Vec<StatusCode>,
    /// Items the server sent that we applied: added, replaced, deleted.
    pub added: usize,
    pub replaced: usize,
    pub deleted: usize,
    /// What went wrong, if the datastore could not be synced.
    pub failure: Option<String>,
    /// Items that stayed on the phone: too large for the server (their change stays pending).
    pub left_out: Vec<String>,
}

/// What a session did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionReport {
    pub session_id: String,
    pub datastores: Vec<DatastoreReport>,
    pub messages_sent: usize,
    pub messages_received: usize,
    /// Every datastore ran to its end (anchors moved).
    pub completed: bool,
}

/// What a command we sent was, to read the status it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Sent {
    Alert(usize),
    Put,
    Results,
    NextMessage,
    Sync(usize),
    Change {
        ds: usize,
        luid: String,
        change: Change,
        last_chunk: bool,
    },
    Map {
        ds: usize,
        entries: Vec<(String, String)>,
        pending: bool,
    },
}

/// A command waiting for room in a message.
#[derive(Debug, Clone, PartialEq)]
enum Outbound {
    Command(Command, Sent),
    /// The Sync of a datastore begins (sent even without changes).
    SyncStart {
        ds: usize,
        number_of_changes: Option<u32>,
    },
    Change {
        ds: usize,
        luid: String,
        change: Change,
        payload: Option<Payload>,
        /// Bytes already sent as chunks of a large object.
        offset: usize,
    },
}

/// Item data as it travels: text, or bytes that are not UTF-8 (WBXML OPAQUE).
#[derive(Debug, Clone, PartialEq)]
struct Payload {
    content_type: String,
    data: PayloadData,
}

#[derive(Debug, Clone, PartialEq)]
enum PayloadData {
    Text(String),
    Binary(Vec<u8>),
}

impl PayloadData {
    fn len(&self) -> usize {
        match self {
            PayloadData::Text(t) => t.len(),
            PayloadData::Binary(b) => b.len(),
        }
    }

    /// The part from `start`, at most `max` bytes, ending on a character boundary.
    fn slice(&self, start: usize, max: usize) -> Data {
        match self {
            PayloadData::Text(text) => {
                let mut end = (start + max).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                Data::Text(text[start..end].to_string())
            }
            PayloadData::Binary(bytes) => {
                Data::Binary(bytes[start..(start + max).min(bytes.len())].to_vec())
            }
        }
    }
}

/// A large object the server is sending us, chunk by chunk.
#[derive(Debug, Clone, PartialEq)]
struct IncomingObject {
    replace_luid: Option<String>,
    guid: Option<String>,
    content_type: String,
    declared_size: Option<u64>,
    data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
struct DatastoreSession {
    kind: Datastore,
    local_uri: String,
    server_uri: String,
    requested: SyncMode,
    mode: SyncMode,
    next_anchor: String,
    alert_status: Option<StatusCode>,
    failure: Option<String>,
    left_out: Vec<String>,
    /// LUIDs whose change the server acknowledged.
    acknowledged: Vec<String>,
    sent: usize,
    sent_statuses: Vec<StatusCode>,
    added: usize,
    replaced: usize,
    deleted: usize,
    incoming: Option<IncomingObject>,
    /// Maps for items the server added in this session, not yet acknowledged.
    new_maps: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Package 1 sent; reading package 2.
    Init,
    /// Sending package 3.
    Changes,
    /// Package 3 sent; reading package 4.
    ServerChanges,
    /// Sending package 5.
    Maps,
    /// Package 5 sent; reading package 6.
    MapStatus,
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    phase: Phase,
    msg_id: u32,
    datastores: Vec<DatastoreSession>,
    /// Package 1, kept to send again with credentials.
    init: Vec<Outbound>,
    statuses: VecDeque<Status>,
    outbox: VecDeque<Outbound>,
    sent: BTreeMap<(u32, String), Sent>,
    server_max_msg_size: Option<u64>,
    server_max_obj_size: Option<u64>,
    auth_attempts: u32,
    authenticated: bool,
    messages_sent: usize,
    messages_received: usize,
    response_uri: Option<String>,
    transcript: Option<Transcript>,
}

/// An emulated phone: profile, memory and the SyncML client.
#[derive(Debug)]
pub struct Phone {
    profile: DeviceProfile,
    store: PhoneStore,
    config: PhoneConfig,
    session: Option<Session>,
    session_counter: u32,
    /// The nonce for md5 credentials, from the server's last challenge or NextNonce.
    nonce: Vec<u8>,
    recording: bool,
    transcripts: Vec<Transcript>,
}

impl Phone {
    pub fn new(profile: DeviceProfile, store: PhoneStore, config: PhoneConfig) -> Phone {
        Phone {
            profile,
            store,
            config,
            session: None,
            session_counter: 0,
            nonce: Vec::new(),
            recording: false,
            transcripts: Vec::new(),
        }
    }

    pub fn profile(&self) -> &DeviceProfile {
        &self.profile
    }

    /// Change the profile (MaxMsgSize for a test...); takes effect at the next session.
    pub fn profile_mut(&mut self) -> &mut DeviceProfile {
        &mut self.profile
    }

    pub fn store(&self) -> &PhoneStore {
        &self.store
    }

    /// The phone's memory, for the user's edits ([`PhoneStore::add`]...).
    pub fn store_mut(&mut self) -> &mut PhoneStore {
        &mut self.store
    }

    pub fn into_store(self) -> PhoneStore {
        self.store
    }

    pub fn config_mut(&mut self) -> &mut PhoneConfig {
        &mut self.config
    }

    /// Whether a session runs.
    pub fn in_session(&self) -> bool {
        self.session.is_some()
    }

    /// The `RespURI` the server gave, where an HTTP driver sends the next message.
    pub fn response_uri(&self) -> Option<&str> {
        self.session.as_ref()?.response_uri.as_deref()
    }

    /// Record a transcript of every session from now on ([`Phone::take_transcripts`]).
    pub fn record_transcripts(&mut self, on: bool) {
        self.recording = on;
    }

    /// The transcripts of the sessions that ended since the last call.
    pub fn take_transcripts(&mut self) -> Vec<Transcript> {
        std::mem::take(&mut self.transcripts)
    }

    /// Writes the transcripts of the sessions that ended since the last call into `dir`
    /// (see [`Transcript::write_to_dir`]); returns the files written.
    pub fn save_transcripts(
        &mut self,
        dir: &std::path::Path,
    ) -> Result<Vec<std::path::PathBuf>, EmulatorError> {
        let transcripts = self.take_transcripts();
        transcripts.iter().map(|t| t.write_to_dir(dir)).collect()
    }

    fn server_uri(&self) -> String {
        self.config
            .server_uri
            .clone()
            .unwrap_or_else(|| self.profile.server_identifier.clone())
    }

    /// Starts a session (package 1): Maps owed, our DevInf, an Alert per datastore.
    pub fn start_sync(
        &mut self,
        request: &SyncRequest,
        now: UnixMillis,
    ) -> Result<Outgoing, EmulatorError> {
        if self.session.is_some() {
            return Err(EmulatorError::WrongState("a session is already running"));
        }
        if request.datastores.is_empty() {
            return Err(EmulatorError::WrongState("a sync of no datastore"));
        }
        self.session_counter += 1;
        self.store.anchor_counter += 1;
        let next_anchor = match self.profile.anchor_style {
            AnchorStyle::Counter => self.store.anchor_counter.to_string(),
            AnchorStyle::Timestamp => DateTime::from_timestamp((now.0 / 1000) as i64, true).basic(),
        };
        let mut datastores = Vec::new();
        for (kind, mode) in &request.datastores {
            let spec = self
                .profile
                .datastore(*kind)
                .ok_or(EmulatorError::WrongState(
                    "the profile has no such datastore",
                ))?;
            if datastores
                .iter()
                .any(|d: &DatastoreSession| d.kind == spec.kind)
            {
                continue;
            }
            let last = &self.store.datastore(spec.kind).last_anchor;
            let mode = if *mode == SyncMode::TwoWay && last.is_none() {
                SyncMode::Slow
            } else {
                *mode
            };
            datastores.push(DatastoreSession {
                kind: spec.kind,
                local_uri: spec.local_uri.clone(),
                server_uri: spec.server_uri.clone(),
                requested: mode,
                mode,
                next_anchor: next_anchor.clone(),
                alert_status: None,
                failure: None,
                left_out: Vec::new(),
                acknowledged: Vec::new(),
                sent: 0,
                sent_statuses: Vec::new(),
                added: 0,
                replaced: 0,
                deleted: 0,
                incoming: None,
                new_maps: Vec::new(),
            });
        }
        let mut init = Vec::new();
        if !self.config.forget_maps_after_cut {
            for (index, ds) in datastores.iter().enumerate() {
                let pending = &self.store.datastore(ds.kind).pending_maps;
                if !pending.is_empty() {
                    init.push(Outbound::Command(
                        map_command(ds, pending),
                        Sent::Map {
                            ds: index,
                            entries: pending.clone(),
                            pending: true,
                        },
                    ));
                }
            }
        }
        if self.profile.sends_devinf {
            init.push(Outbound::Command(self.devinf_put(), Sent::Put));
        }
        for (index, ds) in datastores.iter().enumerate() {
            let last = self.store.datastore(ds.kind).last_anchor.clone();
            init.push(Outbound::Command(
                alert_command(
                    ds,
                    ds.mode.alert_code(request.server_alerted),
                    last,
                    &ds.next_anchor,
                ),
                Sent::Alert(index),
            ));
        }
        let id = request
            .session_id
            .clone()
            .unwrap_or_else(|| self.session_counter.to_string());
        let transcript = self
            .recording
            .then(|| Transcript::new(&self.profile.name, &self.profile.description, &id, now));
        self.session = Some(Session {
            id,
            phase: Phase::Init,
            msg_id: 0,
            datastores,
            init: init.clone(),
            statuses: VecDeque::new(),
            outbox: init.into(),
            sent: BTreeMap::new(),
            server_max_msg_size: None,
            server_max_obj_size: None,
            auth_attempts: 1,
            authenticated: false,
            messages_sent: 0,
            messages_received: 0,
            response_uri: None,
            transcript,
        });
        let outgoing = self.pack(true, false, now);
        if outgoing.is_err() {
            self.end_session(false);
        }
        outgoing
    }

    /// The transport is gone: the session ends where it is. Items applied stay, changes stay
    /// pending, anchors do not move; Maps owed are kept for the next session.
    pub fn abort(&mut self) {
        self.end_session(false);
    }

    /// Takes one server message and says what to send next. An error ends the session as
    /// [`Phone::abort`] does.
    pub fn receive(&mut self, bytes: &[u8], now: UnixMillis) -> Result<Step, EmulatorError> {
        if self.session.is_none() {
            return Err(EmulatorError::WrongState(
                "a server message while no session runs",
            ));
        }
        let result = self.receive_inner(bytes, now);
        if result.is_err() {
            self.end_session(false);
        }
        result
    }

    fn session(&mut self) -> &mut Session {
        self.session.as_mut().expect("checked by the callers")
    }

    fn receive_inner(&mut self, bytes: &[u8], now: UnixMillis) -> Result<Step, EmulatorError> {
        let decoded = syncml::decode(bytes);
        let session = self.session();
        session.messages_received += 1;
        if let Some(transcript) = session.transcript.as_mut() {
            transcript.record(Direction::Received, now, bytes, decoded.as_ref().ok());
        }
        let message = decoded.map_err(|e| EmulatorError::Decode(e.to_string()))?;
        let header = message
            .header
            .as_ref()
            .ok_or_else(|| EmulatorError::Protocol("the message has no SyncHdr".into()))?;
        self.check_header(header, message.version)?;
        let session = self.session();
        if let Some(meta) = header.meta.as_deref() {
            if let Some(size) = meta.max_msg_size {
                session.server_max_msg_size = Some(size);
            }
            if let Some(size) = meta.max_obj_size {
                session.server_max_obj_size = Some(size);
            }
        }
        if let Some(uri) = &header.resp_uri {
            session.response_uri = Some(uri.to_string());
        }
        if !header.no_resp {
            // TargetRef and SourceRef name the server header's Target (us) and Source.
            session
                .statuses
                .push_back(Status::for_header("", header, StatusCode::Ok));
        }

        // The server's status on our header decides whether the rest counts.
        if let Some(retry) = self.read_header_status(&message, now)? {
            return Ok(Step::Send(retry));
        }
        let mut needs_answer = false;
        for command in &message.body.commands {
            if !matches!(command, Command::Status(_)) {
                needs_answer = true;
            }
            self.handle_command(command, header.msg_id)?;
        }
        self.next_step(message.body.final_, needs_answer, now)
    }

    fn check_header(&self, header: &SyncHdr, version: Version) -> Result<(), EmulatorError> {
        let session = self.session.as_ref().expect("checked by the callers");
        let expected = format!("SyncML/{}", self.profile.version.as_str());
        if !header.ver_proto.eq_ignore_ascii_case(&expected) || version != self.profile.version {
            return Err(EmulatorError::Protocol(format!(
                "the server speaks {} (VerDTD {}), the phone {expected}",
                header.ver_proto,
                version.as_str()
            )));
        }
        if header.session_id != session.id.as_str() {
            return Err(EmulatorError::Protocol(format!(
                "SessionID {:?}, expected {:?}",
                header.session_id.as_str(),
                session.id
            )));
        }
        if header.target.loc_uri != self.profile.device_id.as_str() {
            return Err(EmulatorError::Protocol(format!(
                "the message is for {:?}, this phone is {:?}",
                header.target.loc_uri.as_str(),
                self.profile.device_id
            )));
        }
        Ok(())
    }

    /// Reads the status of our header: on a credentials challenge in package 2, package 1
    /// goes again with (new) credentials.
    fn read_header_status(
        &mut self,
        message: &Message,
        now: UnixMillis,
    ) -> Result<Option<Outgoing>, EmulatorError> {
        let our_msg_id = self.session().msg_id;
        let header_status = message.body.commands.iter().find_map(|c| match c {
            Command::Status(s) if s.cmd_ref == "0" && s.msg_ref == our_msg_id => Some(s),
            _ => None,
        });
        let Some(status) = header_status else {
            return Ok(None);
        };
        if let Some(nonce) = status
            .chal
            .as_ref()
            .and_then(|c| c.meta.next_nonce.as_deref())
        {
            self.nonce = BASE64.decode(nonce.trim().as_bytes()).map_err(|e| {
                EmulatorError::Protocol(format!("NextNonce {nonce:?} is not base64: {e}"))
            })?;
        }
        match status.data {
            StatusCode::InvalidCredentials | StatusCode::MissingCredentials => {
                let session = self.session.as_mut().expect("running");
                if session.phase != Phase::Init || session.authenticated {
                    return Err(EmulatorError::Authentication {
                        code: status.data,
                        detail: "credentials refused in the middle of a session".into(),
                    });
                }
                if self.config.credentials.is_none() {
                    return Err(EmulatorError::Authentication {
                        code: status.data,
                        detail: "the server wants credentials and the phone has none".into(),
                    });
                }
                if session.auth_attempts >= MAX_AUTH_ATTEMPTS {
                    return Err(EmulatorError::Authentication {
                        code: status.data,
                        detail: format!("refused {} times", session.auth_attempts),
                    });
                }
                session.auth_attempts += 1;
                // The refused message was not processed: package 1 again, statuses included.
                session.outbox = session.init.clone().into();
                session.sent.clear();
                Ok(Some(self.pack(true, false, now)?))
            }
            code if code.is_success() => {
                self.session().authenticated = true;
                Ok(None)
            }
            code => Err(EmulatorError::SessionRefused(code)),
        }
    }

    fn handle_command(&mut self, command: &Command, msg_ref: u32) -> Result<(), EmulatorError> {
        let status_for = |code: StatusCode| {
            Status::for_command(
                "",
                msg_ref,
                command.cmd_id().unwrap_or(""),
                command.name(),
                code,
            )
        };
        match command {
            Command::Status(status) => self.handle_status(status),
            Command::Alert(alert) => {
                let code = alert.data.unwrap_or(AlertCode::Other(0));
                let status = self.handle_alert(alert, code);
                if !alert.no_resp {
                    let mut answer = status_for(status);
                    if let Some(item) = alert.items.first() {
                        refs_from_item(&mut answer, item);
                        // The status of a sync Alert echoes the server's Next anchor.
                        if let Some(anchor) = item.meta.as_deref().and_then(|m| m.anchor.as_ref()) {
                            answer.items.push(Item {
                                data: Some(Data::MetInf(Box::new(MetInf {
                                    anchor: Some(Anchor {
                                        last: None,
                                        next: anchor.next.clone(),
                                        ..Anchor::default()
                                    }),
                                    ..MetInf::default()
                                }))),
                                ..Item::default()
                            });
                        }
                    }
                    self.session().statuses.push_back(answer);
                }
                Ok(())
            }
            Command::Get(get) => {
                let wants_devinf = get.items.iter().any(|i| {
                    i.target
                        .as_ref()
                        .is_some_and(|t| t.loc_uri.to_ascii_lowercase().contains("devinf"))
                });
                let code = if wants_devinf {
                    StatusCode::Ok
                } else {
                    StatusCode::NotFound
                };
                if !get.no_resp {
                    let mut answer = status_for(code);
                    if let Some(item) = get.items.first() {
                        refs_from_item(&mut answer, item);
                    }
                    self.session().statuses.push_back(answer);
                }
                if wants_devinf {
                    let results = self.devinf_results(msg_ref, get.cmd_id.clone());
                    self.session()
                        .outbox
                        .push_front(Outbound::Command(results, Sent::Results));
                }
                Ok(())
            }
            Command::Put(put) => {
                if !put.no_resp {
                    self.session()
                        .statuses
                        .push_back(status_for(StatusCode::Ok));
                }
                Ok(())
            }
            Command::Results(_) => {
                self.session()
                    .statuses
                    .push_back(status_for(StatusCode::Ok));
                Ok(())
            }
            Command::Sync(sync) => self.handle_sync(sync, msg_ref),
            Command::Add(_) | Command::Replace(_) | Command::Delete(_) => {
                // Data commands belong in a Sync.
                self.session()
                    .statuses
                    .push_back(status_for(StatusCode::CommandNotAllowed));
                Ok(())
            }
            other => {
                if !other.no_resp() {
                    self.session()
                        .statuses
                        .push_back(status_for(StatusCode::OptionalFeatureNotSupported));
                }
                Ok(())
            }
        }
    }

    fn handle_alert(&mut self, alert: &Alert, code: AlertCode) -> StatusCode {
        let session = self.session();
        match code {
            AlertCode::NextMessage => return StatusCode::Ok,
            AlertCode::NoEndOfData => {
                for ds in &mut session.datastores {
                    ds.incoming = None;
                }
                return StatusCode::Ok;
            }
            _ => {}
        }
        let Some(mode) = SyncMode::from_alert(code) else {
            return StatusCode::OptionalFeatureNotSupported;
        };
        let Some(item) = alert.items.first() else {
            return StatusCode::IncompleteCommand;
        };
        let names = [
            item.target.as_ref().map(|t| t.loc_uri.as_str()),
            item.source.as_ref().map(|s| s.loc_uri.as_str()),
        ];
        let found = session.datastores.iter_mut().find(|ds| {
            names
                .iter()
                .flatten()
                .any(|name| same_uri(name, &ds.local_uri) || same_uri(name, &ds.server_uri))
        });
        match found {
            Some(ds) => {
                if ds.failure.is_none() {
                    ds.mode = mode;
                }
                StatusCode::Ok
            }
            None => StatusCode::NotFound,
        }
    }

    fn handle_status(&mut self, status: &Status) -> Result<(), EmulatorError> {
        let session = self.session.as_mut().expect("running");
        let key = (status.msg_ref, status.cmd_ref.to_string());
        let Some(sent) = session.sent.get(&key).cloned() else {
            // The header's status (read first) or one for a command we do not track.
            return Ok(());
        };
        let code = status.data;
        match sent {
            Sent::Alert(index) => {
                let ds = &mut session.datastores[index];
                ds.alert_status = Some(code);
                if code == StatusCode::RefreshRequired {
                    ds.mode = SyncMode::Slow;
                } else if !code.is_success() {
                    ds.failure = Some(format!("the server refused the Alert: {code}"));
                }
            }
            Sent::Sync(index) => {
                if code.is_error() {
                    session.datastores[index].failure =
                        Some(format!("the server refused the Sync: {code}"));
                }
            }
            Sent::Change {
                ds,
                luid,
                last_chunk,
                ..
            } => {
                let datastore = &mut session.datastores[ds];
                if code == StatusCode::ChunkedItemAccepted && !last_chunk {
                    return Ok(());
                }
                datastore.sent_statuses.push(code);
                // 419: the server kept its own version (and sends it); the change is settled.
                let settled = code.is_success()
                    || code == StatusCode::ItemNotDeleted
                    || code == StatusCode::ConflictResolvedWithServerData;
                if settled {
                    datastore.acknowledged.push(luid);
                }
            }
            Sent::Map {
                ds,
                entries,
                pending,
            } => {
                if code.is_success() {
                    let kind = session.datastores[ds].kind;
                    if pending {
                        let store = self.store.datastore_mut(kind);
                        store.pending_maps.retain(|m| !entries.contains(m));
                    } else {
                        session.datastores[ds]
                            .new_maps
                            .retain(|m| !entries.contains(m));
                    }
                }
            }
            Sent::Put | Sent::Results | Sent::NextMessage => {}
        }
        Ok(())
    }

    fn handle_sync(&mut self, sync: &Sync, msg_ref: u32) -> Result<(), EmulatorError> {
        let target = sync
            .target
            .as_ref()
            .map(|t| t.loc_uri.as_str())
            .unwrap_or("");
        let source = sync
            .source
            .as_ref()
            .map(|s| s.loc_uri.as_str())
            .unwrap_or("");
        let session = self.session();
        let index = session.datastores.iter().position(|ds| {
            [target, source]
                .iter()
                .any(|name| same_uri(name, &ds.local_uri) || same_uri(name, &ds.server_uri))
        });
        let status_code = match index {
            Some(i) if session.datastores[i].failure.is_none() => StatusCode::Ok,
            _ => StatusCode::NotFound,
        };
        if !sync.no_resp {
            let mut status = Status::for_command(
                "",
                msg_ref,
                sync.cmd_id.as_deref().unwrap_or(""),
                "Sync",
                status_code,
            );
            status.target_refs.push(target.into());
            status.source_refs.push(source.into());
            session.statuses.push_back(status);
        }
        for command in &sync.commands {
            let applies_to = index.filter(|_| status_code == StatusCode::Ok);
            match applies_to {
                Some(i) => self.apply_server_change(i, command, msg_ref)?,
                None => {
                    if !command.no_resp() {
                        self.session().statuses.push_back(Status::for_command(
                            "",
                            msg_ref,
                            command.cmd_id().unwrap_or(""),
                            command.name(),
                            StatusCode::NotFound,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies one Add/Replace/Delete of the server to the datastore `index`; one status per
    /// item.
    fn apply_server_change(
        &mut self,
        index: usize,
        command: &Command,
        msg_ref: u32,
    ) -> Result<(), EmulatorError> {
        let (items, command_meta) = match command {
            Command::Add(c) | Command::Replace(c) => (&c.items, c.meta.as_deref()),
            Command::Delete(d) => (&d.items, d.meta.as_deref()),
            other => {
                if !other.no_resp() {
                    let code = match other {
                        Command::Atomic(_)
                        | Command::Sequence(_)
                        | Command::Copy(_)
                        | Command::Move(_) => StatusCode::OptionalFeatureNotSupported,
                        _ => StatusCode::CommandNotAllowed,
                    };
                    self.session().statuses.push_back(Status::for_command(
                        "",
                        msg_ref,
                        other.cmd_id().unwrap_or(""),
                        other.name(),
                        code,
                    ));
                }
                return Ok(());
            }
        };
        if items.is_empty() {
            self.session().statuses.push_back(Status::for_command(
                "",
                msg_ref,
                command.cmd_id().unwrap_or(""),
                command.name(),
                StatusCode::IncompleteCommand,
            ));
            return Ok(());
        }
        for item in items {
            let code = self.apply_item(index, command, item, command_meta);
            if !command.no_resp() {
                let mut status = Status::for_command(
                    "",
                    msg_ref,
                    command.cmd_id().unwrap_or(""),
                    command.name(),
                    code,
                );
                refs_from_item(&mut status, item);
                self.session().statuses.push_back(status);
            }
        }
        Ok(())
    }

    fn apply_item(
        &mut self,
        index: usize,
        command: &Command,
        item: &Item,
        command_meta: Option<&MetInf>,
    ) -> StatusCode {
        let max_items = {
            let kind = self.session.as_ref().expect("running").datastores[index].kind;
            self.profile.datastore(kind).and_then(|d| d.max_items)
        };
        let session = self.session.as_mut().expect("running");
        let ds = &mut session.datastores[index];
        let kind = ds.kind;
        let target = item.target.as_ref().map(|t| t.loc_uri.to_string());
        let source = item.source.as_ref().map(|s| s.loc_uri.to_string());
        if let Command::Delete(_) = command {
            let Some(luid) = target else {
                return StatusCode::IncompleteCommand;
            };
            ds.incoming = None;
            return if self.store.apply_delete(kind, &luid) {
                ds.deleted += 1;
                StatusCode::Ok
            } else {
                StatusCode::ItemNotDeleted
            };
        }
        let content_type = item
            .meta
            .as_deref()
            .and_then(|m| m.type_.as_deref())
            .or_else(|| command_meta.and_then(|m| m.type_.as_deref()))
            .map(str::to_string)
            .or_else(|| self.profile.datastore(kind).map(|d| d.content_type.clone()))
            .unwrap_or_else(|| "text/plain".into());
        let declared_size = item
            .meta
            .as_deref()
            .and_then(|m| m.size)
            .or_else(|| command_meta.and_then(|m| m.size));
        let chunk: Vec<u8> = match &item.data {
            Some(Data::Text(text)) => text.as_bytes().to_vec(),
            Some(Data::Binary(bytes)) => bytes.clone(),
            Some(_) => return StatusCode::UnsupportedMediaType,
            None => return StatusCode::IncompleteCommand,
        };
        let is_replace = matches!(command, Command::Replace(_));
        // A chunk continuing the large object we are receiving, or a new object.
        let continues = ds
            .incoming
            .as_ref()
            .is_some_and(|o| o.guid == source && (!is_replace || o.replace_luid == target));
        let mut object = if continues {
            ds.incoming.take().expect("checked")
        } else {
            ds.incoming = None;
            IncomingObject {
                replace_luid: if is_replace { target.clone() } else { None },
                guid: source.clone(),
                content_type,
                declared_size,
                data: Vec::new(),
            }
        };
        object.data.extend_from_slice(&chunk);
        if item.more_data {
            if object.declared_size.is_none() {
                return StatusCode::SizeRequired;
            }
            ds.incoming = Some(object);
            return StatusCode::ChunkedItemAccepted;
        }
        if object
            .declared_size
            .is_some_and(|size| size != object.data.len() as u64)
        {
            return StatusCode::SizeMismatch;
        }
        let new_item = PhoneItem::new(object.content_type, object.data);
        if let Some(luid) = object.replace_luid.as_deref() {
            if self.store.apply_replace(kind, luid, new_item.clone()) {
                // The server's version is what the phone holds now: nothing left to send.
                self.store.mark_synced(kind, luid);
                ds.replaced += 1;
                return StatusCode::Ok;
            }
        }
        if max_items.is_some_and(|max| self.store.datastore(kind).len() as u64 >= max) {
            return StatusCode::DeviceFull;
        }
        let luid = self.store.apply_add(kind, new_item);
        ds.added += 1;
        if let Some(guid) = object.guid {
            ds.new_maps.push((guid, luid));
        }
        StatusCode::ItemAdded
    }

    /// Decides what follows a server message.
    fn next_step(
        &mut self,
        final_: bool,
        needs_answer: bool,
        now: UnixMillis,
    ) -> Result<Step, EmulatorError> {
        let phase = self.session().phase;
        match phase {
            Phase::Init | Phase::ServerChanges | Phase::MapStatus if !final_ => {
                // The server's package goes on: statuses and "next message, please".
                Ok(Step::Send(self.pack(false, true, now)?))
            }
            Phase::Init => {
                self.prepare_changes();
                self.session().phase = Phase::Changes;
                Ok(Step::Send(self.pack(true, false, now)?))
            }
            Phase::Changes | Phase::Maps => Ok(Step::Send(self.pack(true, false, now)?)),
            Phase::ServerChanges => {
                let session = self.session();
                for (index, ds) in session.datastores.iter().enumerate() {
                    if !ds.new_maps.is_empty() {
                        session.outbox.push_back(Outbound::Command(
                            map_command(ds, &ds.new_maps),
                            Sent::Map {
                                ds: index,
                                entries: ds.new_maps.clone(),
                                pending: false,
                            },
                        ));
                    }
                }
                session.phase = Phase::Maps;
                if needs_answer || !session.outbox.is_empty() {
                    Ok(Step::Send(self.pack(true, false, now)?))
                } else {
                    Ok(Step::Finished(self.complete()))
                }
            }
            Phase::MapStatus => {
                if needs_answer {
                    // Something after package 6 that wants an answer: answer and wait.
                    self.session().phase = Phase::Maps;
                    return Ok(Step::Send(self.pack(true, false, now)?));
                }
                Ok(Step::Finished(self.complete()))
            }
        }
    }

    /// Package 3: the changes (or every item) of each datastore that sends.
    fn prepare_changes(&mut self) {
        let session = self.session.as_mut().expect("running");
        let version_1_1 = self.profile.version != Version::V1_0;
        let mut outbox = Vec::new();
        for (index, ds) in session.datastores.iter_mut().enumerate() {
            if ds.failure.is_some() {
                continue;
            }
            if ds.mode == SyncMode::RefreshFromServer {
                // The phone empties the datastore; the server sends everything.
                self.store.apply_clear(ds.kind);
            }
            let store = self.store.datastore(ds.kind);
            let mut changes: Vec<(String, Change)> = Vec::new();
            if ds.mode.sends_everything() {
                changes.extend(
                    store
                        .items()
                        .keys()
                        .map(|luid| (luid.clone(), Change::Replaced)),
                );
            } else if ds.mode.client_sends() {
                changes.extend(store.changes().iter().map(|(l, c)| (l.clone(), *c)));
            }
            let number_of_changes = (version_1_1 && self.profile.supports_number_of_changes)
                .then_some(changes.len() as u32);
            outbox.push(Outbound::SyncStart {
                ds: index,
                number_of_changes,
            });
            for (luid, change) in changes {
                let payload = match change {
                    Change::Deleted => None,
                    _ => store.get(&luid).map(|item| Payload {
                        content_type: item.content_type.clone(),
                        data: payload_data(item, self.profile.encoding),
                    }),
                };
                outbox.push(Outbound::Change {
                    ds: index,
                    luid,
                    change,
                    payload,
                    offset: 0,
                });
            }
        }
        session.outbox.extend(outbox);
    }

    /// The session completed: anchors move, acknowledged changes are forgotten.
    fn complete(&mut self) -> SessionReport {
        let session = self.session.as_ref().expect("running");
        for ds in &session.datastores {
            if ds.failure.is_some() {
                continue;
            }
            let kind = ds.kind;
            for luid in &ds.acknowledged {
                self.store.mark_synced(kind, luid);
            }
            if ds.mode.sends_everything() {
                // The server now has everything: deletions before the slow sync are moot.
                let deleted: Vec<String> = self
                    .store
                    .datastore(kind)
                    .changes()
                    .iter()
                    .filter(|(_, c)| **c == Change::Deleted)
                    .map(|(l, _)| l.clone())
                    .collect();
                for luid in deleted {
                    self.store.mark_synced(kind, &luid);
                }
            }
            self.store.datastore_mut(kind).last_anchor = Some(ds.next_anchor.clone());
        }
        self.end_session(true)
    }

    fn end_session(&mut self, completed: bool) -> SessionReport {
        let Some(mut session) = self.session.take() else {
            return SessionReport::default();
        };
        for ds in &session.datastores {
            if !ds.new_maps.is_empty() && !self.config.forget_maps_after_cut {
                let store = self.store.datastore_mut(ds.kind);
                for map in &ds.new_maps {
                    if !store.pending_maps.contains(map) {
                        store.pending_maps.push(map.clone());
                    }
                }
            }
        }
        if let Some(mut transcript) = session.transcript.take() {
            transcript.completed = completed;
            self.transcripts.push(transcript);
        }
        let all_ok = completed && session.datastores.iter().all(|d| d.failure.is_none());
        SessionReport {
            session_id: session.id,
            messages_sent: session.messages_sent,
            messages_received: session.messages_received,
            completed: all_ok,
            datastores: session
                .datastores
                .into_iter()
                .map(|ds| DatastoreReport {
                    kind: ds.kind,
                    requested: ds.requested,
                    mode: ds.mode,
                    alert_status: ds.alert_status,
                    sent: ds.sent,
                    sent_statuses: ds.sent_statuses,
                    added: ds.added,
                    replaced: ds.replaced,
                    deleted: ds.deleted,
                    failure: ds.failure,
                    left_out: ds.left_out,
                })
                .collect(),
        }
    }

    fn devinf_item(&self) -> Item {
        Item {
            source: Some(Source::new(self.profile.devinf_uri())),
            data: Some(Data::DevInf(Box::new(self.profile.devinf()))),
            ..Item::default()
        }
    }

    fn devinf_put(&self) -> Command {
        Command::Put(GetPut {
            meta: Some(Box::new(MetInf::with_type(
                self.profile.encoding.devinf_content_type(),
            ))),
            items: vec![self.devinf_item()],
            ..GetPut::default()
        })
    }

    fn devinf_results(&self, msg_ref: u32, cmd_ref: Option<CompactString>) -> Command {
        Command::Results(Box::new(Results {
            msg_ref: Some(msg_ref),
            cmd_ref,
            meta: Some(Box::new(MetInf::with_type(
                self.profile.encoding.devinf_content_type(),
            ))),
            items: vec![self.devinf_item()],
            ..Results::default()
        }))
    }

    fn header(&self, msg_id: u32, with_cred: bool) -> SyncHdr {
        let session = self.session.as_ref().expect("running");
        let mut source = Source::new(self.profile.device_id.clone());
        let cred = if with_cred {
            self.config.credentials.as_ref().map(|c| {
                source.loc_name = Some(c.user.clone().into());
                Box::new(credentials(c, &self.nonce))
            })
        } else {
            None
        };
        let at_least_1_1 = self.profile.version != Version::V1_0;
        SyncHdr {
            ver_proto: format!("SyncML/{}", self.profile.version.as_str()).into(),
            session_id: session.id.clone().into(),
            msg_id,
            target: Target::new(self.server_uri()),
            source,
            resp_uri: None,
            no_resp: false,
            cred,
            meta: Some(Box::new(MetInf {
                max_msg_size: Some(self.profile.max_msg_size),
                max_obj_size: (at_least_1_1 && self.profile.supports_large_objects)
                    .then_some(self.profile.max_obj_size),
                ..MetInf::default()
            })),
            extensions: Default::default(),
        }
    }

    pub(super) fn encode(&self, message: &Message) -> Result<Vec<u8>, EmulatorError> {
        encode_message(&self.profile, message)
    }

    /// Builds the next message: statuses first, then queued commands while they fit. With
    /// `ask_more`, the message asks for the rest of the server's package (Alert 222) and is
    /// never final; otherwise it is final when `may_end` and nothing is left.
    fn pack(
        &mut self,
        may_end: bool,
        ask_more: bool,
        now: UnixMillis,
    ) -> Result<Outgoing, EmulatorError> {
        let (msg_id, with_cred, limit) = {
            let session = self.session();
            session.msg_id += 1;
            let server_limit = session
                .server_max_msg_size
                .unwrap_or(UNKNOWN_SERVER_MAX_MSG_SIZE);
            (
                session.msg_id,
                session.phase == Phase::Init && !session.authenticated,
                server_limit,
            )
        };
        // Past package 1 the phone also keeps its own messages within its own buffer.
        let limit = if self.session().phase == Phase::Init {
            limit
        } else {
            limit.min(self.profile.max_msg_size)
        } as usize;
        let header = self.header(msg_id, with_cred);
        let mut builder = Builder {
            message: Message {
                version: self.profile.version,
                header: Some(header),
                body: SyncBody::default(),
                extensions: Default::default(),
            },
            next_id: 1,
            limit,
            registered: Vec::new(),
        };
        // Statuses: all that fit; the first goes in whatever its size.
        loop {
            let Some(status) = self.session().statuses.pop_front() else {
                break;
            };
            let forced = builder.message.body.commands.is_empty();
            if forced {
                builder.push_forced(Command::Status(status), None);
            } else if !builder.try_push(self, Command::Status(status.clone()), None)? {
                self.session().statuses.push_front(status);
                break;
            }
        }
        if ask_more {
            let alert = Command::Alert(Alert {
                data: Some(AlertCode::NextMessage),
                items: vec![Item {
                    target: Some(Target::new(self.server_uri())),
                    source: Some(Source::new(self.profile.device_id.clone())),
                    ..Item::default()
                }],
                ..Alert::default()
            });
            // After the statuses, making room by leaving the last ones for the next message.
            while !builder.try_push(self, alert.clone(), Some(Sent::NextMessage))? {
                if builder.message.body.commands.len() <= 1 {
                    builder.push_forced(alert, Some(Sent::NextMessage));
                    break;
                }
                if let Some(Command::Status(status)) = builder.message.body.commands.pop() {
                    builder.next_id -= 1;
                    self.session().statuses.push_front(status);
                }
            }
        }
        let statuses_left = !self.session().statuses.is_empty();
        let statuses_sent = builder
            .message
            .body
            .commands
            .iter()
            .filter(|c| matches!(c, Command::Status(_)))
            .count();
        if statuses_left && statuses_sent < MINIMAL_STATUSES {
            // Each server message owes it more statuses than a message can carry: the
            // session could never end.
            return Err(EmulatorError::Protocol(format!(
                "a MaxMsgSize of {limit} bytes leaves no room for the statuses a message must \
                 carry"
            )));
        }
        if !ask_more && !statuses_left {
            self.pack_commands(&mut builder)?;
        }
        let session = self.session.as_mut().expect("running");
        let done = session.outbox.is_empty() && session.statuses.is_empty();
        let is_final = !ask_more && may_end && done;
        builder.message.body.final_ = is_final;
        for (cmd_id, sent) in builder.registered.drain(..) {
            session.sent.insert((msg_id, cmd_id), sent);
        }
        if is_final {
            session.phase = match session.phase {
                Phase::Init => Phase::Init,
                Phase::Changes => Phase::ServerChanges,
                Phase::ServerChanges => Phase::ServerChanges,
                Phase::Maps | Phase::MapStatus => Phase::MapStatus,
            };
        }
        let message = builder.message;
        let bytes = encode_message(&self.profile, &message)?;
        let session = self.session.as_mut().expect("running");
        session.messages_sent += 1;
        if let Some(transcript) = session.transcript.as_mut() {
            transcript.record(Direction::Sent, now, &bytes, Some(&message));
        }
        Ok(Outgoing {
            bytes,
            encoding: self.profile.encoding,
            message,
            is_final,
        })
    }

    /// Queued commands and changes into the message, while they fit.
    fn pack_commands(&mut self, builder: &mut Builder) -> Result<(), EmulatorError> {
        // The Sync the changes go into, in this message: (datastore, index in the body).
        let mut open_sync: Option<(usize, usize)> = None;
        loop {
            let Some(next) = self.session().outbox.pop_front() else {
                return Ok(());
            };
            match next {
                Outbound::Command(
                    Command::Map(map),
                    Sent::Map {
                        ds,
                        entries,
                        pending,
                    },
                ) => {
                    if !self.pack_map(builder, *map, ds, entries, pending)? {
                        return Ok(());
                    }
                }
                Outbound::Command(command, sent) => {
                    if !builder.try_push_or_first(self, command.clone(), Some(sent.clone()))? {
                        self.session()
                            .outbox
                            .push_front(Outbound::Command(command, sent));
                        return Ok(());
                    }
                }
                Outbound::SyncStart {
                    ds,
                    number_of_changes,
                } => {
                    let sync = self.sync_command(ds, number_of_changes);
                    if !builder.try_push_or_first(self, sync, Some(Sent::Sync(ds)))? {
                        self.session().outbox.push_front(Outbound::SyncStart {
                            ds,
                            number_of_changes,
                        });
                        return Ok(());
                    }
                    open_sync = Some((ds, builder.message.body.commands.len() - 1));
                }
                Outbound::Change {
                    ds,
                    luid,
                    change,
                    payload,
                    offset,
                } => {
                    let sync_index = match open_sync {
                        Some((open, index)) if open == ds => index,
                        _ => {
                            // The datastore's Sync continues in this message.
                            let sync = self.sync_command(ds, None);
                            if !builder.try_push_or_first(self, sync, Some(Sent::Sync(ds)))? {
                                self.session().outbox.push_front(Outbound::Change {
                                    ds,
                                    luid,
                                    change,
                                    payload,
                                    offset,
                                });
                                return Ok(());
                            }
                            let index = builder.message.body.commands.len() - 1;
                            open_sync = Some((ds, index));
                            index
                        }
                    };
                    let keep_going =
                        self.pack_change(builder, sync_index, ds, luid, change, payload, offset)?;
                    if !keep_going {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// A Map, split over messages when its items do not all fit: as many as fit go now, the
    /// rest in a Map of their own in the next message. Returns whether there is room for more.
    fn pack_map(
        &mut self,
        builder: &mut Builder,
        map: Map,
        ds: usize,
        entries: Vec<(String, String)>,
        pending: bool,
    ) -> Result<bool, EmulatorError> {
        let part = |count: usize| {
            let mut part = map.clone();
            part.map_items.truncate(count);
            let sent = Sent::Map {
                ds,
                entries: entries[..count.min(entries.len())].to_vec(),
                pending,
            };
            (Command::Map(Box::new(part)), sent)
        };
        let total = map.map_items.len();
        let (whole, sent) = part(total);
        if builder.try_push(self, whole, Some(sent))? {
            return Ok(true);
        }
        // The most items that fit, at least one when the message holds nothing else.
        let (mut low, mut high) = (0usize, total);
        while low < high {
            let middle = (low + high).div_ceil(2);
            if builder.fits(self, part(middle).0)? {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        if low == 0 && builder.is_minimal(None) {
            low = 1;
        }
        if low > 0 {
            let (command, sent) = part(low);
            builder.push_forced(command, Some(sent));
        }
        let mut rest = map;
        rest.map_items.drain(..low);
        if rest.map_items.is_empty() {
            return Ok(false);
        }
        let rest_entries = entries[low.min(entries.len())..].to_vec();
        self.session().outbox.push_front(Outbound::Command(
            Command::Map(Box::new(rest)),
            Sent::Map {
                ds,
                entries: rest_entries,
                pending,
            },
        ));
        Ok(false)
    }

    /// One change into the Sync at `sync_index`: whole, as a chunk of a large object, or not
    /// now (back in the queue). Returns whether the message has room for more.
    #[allow(clippy::too_many_arguments)]
    fn pack_change(
        &mut self,
        builder: &mut Builder,
        sync_index: usize,
        ds: usize,
        luid: String,
        change: Change,
        payload: Option<Payload>,
        offset: usize,
    ) -> Result<bool, EmulatorError> {
        let requeue = |phone: &mut Phone, payload: Option<Payload>, offset: usize| {
            phone.session().outbox.push_front(Outbound::Change {
                ds,
                luid: luid.clone(),
                change,
                payload,
                offset,
            });
        };
        let sent_whole = Sent::Change {
            ds,
            luid: luid.clone(),
            change,
            last_chunk: true,
        };
        let Some(payload) = payload else {
            // A Delete, or an item gone from the store meanwhile.
            let command = if change == Change::Deleted {
                Command::Delete(Delete {
                    items: vec![Item {
                        source: Some(Source::new(luid.clone())),
                        ..Item::default()
                    }],
                    ..Delete::default()
                })
            } else {
                return Ok(true);
            };
            if builder.try_push_in_sync(self, sync_index, command, sent_whole)? {
                self.session().datastores[ds].sent += 1;
                return Ok(true);
            }
            requeue(self, None, offset);
            return Ok(false);
        };
        let total = payload.data.len();
        let large_ok = self.profile.supports_large_objects && self.profile.version != Version::V1_0;
        if offset == 0 {
            let whole = change_command(
                change,
                &luid,
                &payload,
                payload.data.slice(0, total),
                None,
                false,
            );
            if builder.try_push_in_sync(self, sync_index, whole, sent_whole.clone())? {
                self.session().datastores[ds].sent += 1;
                return Ok(true);
            }
            let too_big_for_server = self
                .session()
                .server_max_obj_size
                .is_some_and(|max| total as u64 > max);
            if !large_ok || too_big_for_server {
                if builder.is_minimal(Some(sync_index)) {
                    // Even alone it does not fit, and it cannot be cut: it stays on the phone.
                    self.session().datastores[ds].left_out.push(format!(
                        "item {luid} ({total} bytes) is too large to send to this server"
                    ));
                    return Ok(true);
                }
                requeue(self, Some(payload), offset);
                return Ok(false);
            }
        }
        // A chunk: as much as fits, the first with the whole size, all but the last MoreData.
        let remaining = total - offset;
        let fits = |builder: &mut Builder,
                    phone: &mut Phone,
                    length: usize|
         -> Result<bool, EmulatorError> {
            let last = length >= remaining;
            let command = change_command(
                change,
                &luid,
                &payload,
                payload.data.slice(offset, length),
                (offset == 0).then_some(total as u64),
                !last,
            );
            builder.fits_in_sync(phone, sync_index, command)
        };
        let (mut low, mut high) = (0usize, remaining);
        while low < high {
            let middle = (low + high).div_ceil(2);
            if fits(builder, self, middle)? {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        let chunk_len = match &payload.data {
            PayloadData::Text(text) => {
                let mut end = offset + low;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                end - offset
            }
            PayloadData::Binary(_) => low,
        };
        if chunk_len < MIN_CHUNK.min(remaining) && !builder.is_minimal(Some(sync_index)) {
            // Too little room here: the chunk goes first in the next message.
            requeue(self, Some(payload), offset);
            return Ok(false);
        }
        if chunk_len == 0 {
            return Err(EmulatorError::Protocol(format!(
                "a MaxMsgSize of {} bytes leaves no room for item data",
                builder.limit
            )));
        }
        let last = chunk_len >= remaining;
        let command = change_command(
            change,
            &luid,
            &payload,
            payload.data.slice(offset, chunk_len),
            (offset == 0).then_some(total as u64),
            !last,
        );
        let sent = Sent::Change {
            ds,
            luid: luid.clone(),
            change,
            last_chunk: last,
        };
        if !builder.try_push_in_sync(self, sync_index, command, sent)? {
            requeue(self, Some(payload), offset);
            return Ok(false);
        }
        if last {
            self.session().datastores[ds].sent += 1;
            Ok(true)
        } else {
            // A chunk ends its message.
            requeue(self, Some(payload), offset + chunk_len);
            Ok(false)
        }
    }

    fn sync_command(&mut self, ds: usize, number_of_changes: Option<u32>) -> Command {
        let datastore = &self.session().datastores[ds];
        Command::Sync(Box::new(Sync {
            target: Some(Target::new(datastore.server_uri.clone())),
            source: Some(Source::new(datastore.local_uri.clone())),
            number_of_changes,
            ..Sync::default()
        }))
    }

    /// What the server's notification asks: SAN 1.2 (binary), or SAN 1.1 (a SyncML message
    /// with Alerts 206..210). Datastores are matched by the server's URI or, in a SAN 1.2
    /// without one, by content type; a notification naming none means every datastore.
    pub fn notification_request(&self, bytes: &[u8]) -> Result<SyncRequest, EmulatorError> {
        super::notification::request_from_notification(&self.profile, bytes)
    }
}

/// A message in the profile's encoding.
pub fn encode_message(
    profile: &DeviceProfile,
    message: &Message,
) -> Result<Vec<u8>, EmulatorError> {
    match profile.encoding {
        Encoding::Xml => syncml::to_xml(message, syncml::xml::XmlOptions::default())
            .map(String::into_bytes)
            .map_err(|e| EmulatorError::Encode(e.to_string())),
        Encoding::Wbxml => syncml::to_wbxml(
            message,
            &handsync_proto::wbxml::WriterOptions {
                public_id_as_text: profile.wbxml_public_id_as_text,
                ..handsync_proto::wbxml::WriterOptions::default()
            },
        )
        .map_err(|e| EmulatorError::Encode(e.to_string())),
    }
}

/// The item's bytes as they travel: UTF-8 as text; other bytes as OPAQUE in WBXML, or, as
/// XML cannot carry them, decoded into text from the 8-bit charsets these phones use
/// (windows-1252, a superset of ISO-8859-1).
fn payload_data(item: &PhoneItem, encoding: Encoding) -> PayloadData {
    match std::str::from_utf8(&item.data) {
        Ok(text) => PayloadData::Text(text.to_string()),
        Err(_) if encoding == Encoding::Wbxml => PayloadData::Binary(item.data.clone()),
        Err(_) => PayloadData::Text(encoding_rs::WINDOWS_1252.decode(&item.data).0.into_owned()),
    }
}

fn change_command(
    change: Change,
    luid: &str,
    payload: &Payload,
    data: Data,
    size: Option<u64>,
    more_data: bool,
) -> Command {
    let item = Item {
        source: Some(Source::new(luid.to_string())),
        meta: size.map(|size| {
            Box::new(MetInf {
                size: Some(size),
                ..MetInf::default()
            })
        }),
        data: Some(data),
        more_data,
        ..Item::default()
    };
    let command = ItemCommand {
        meta: Some(Box::new(MetInf::with_type(payload.content_type.clone()))),
        items: vec![item],
        ..ItemCommand::default()
    };
    match change {
        Change::Added => Command::Add(command),
        _ => Command::Replace(command),
    }
}

fn alert_command(
    ds: &DatastoreSession,
    code: AlertCode,
    last: Option<String>,
    next: &str,
) -> Command {
    Command::Alert(Alert {
        data: Some(code),
        items: vec![Item {
            target: Some(Target::new(ds.server_uri.clone())),
            source: Some(Source::new(ds.local_uri.clone())),
            meta: Some(Box::new(MetInf {
                anchor: Some(Anchor {
                    last: last.map(Into::into),
                    next: next.into(),
                    ..Anchor::default()
                }),
                ..MetInf::default()
            })),
            ..Item::default()
        }],
        ..Alert::default()
    })
}

fn map_command(ds: &DatastoreSession, entries: &[(String, String)]) -> Command {
    Command::Map(Box::new(Map {
        target: Target::new(ds.server_uri.clone()),
        source: Source::new(ds.local_uri.clone()),
        map_items: entries
            .iter()
            .map(|(guid, luid)| MapItem {
                target: Target::new(guid.clone()),
                source: Source::new(luid.clone()),
                ..MapItem::default()
            })
            .collect(),
        ..Map::default()
    }))
}

fn credentials(credentials: &Credentials, nonce: &[u8]) -> Cred {
    let (type_, data) = match credentials.kind {
        AuthKind::Basic => (
            "syncml:auth-basic",
            BASE64.encode(format!("{}:{}", credentials.user, credentials.password)),
        ),
        AuthKind::Md5 => {
            // SyncML 1.1: b64(md5(b64(md5(user:password)) ":" nonce)).
            let inner =
                Md5::digest(format!("{}:{}", credentials.user, credentials.password).as_bytes());
            let mut outer = Md5::new();
            outer.update(BASE64.encode(inner).as_bytes());
            outer.update(b":");
            outer.update(nonce);
            ("syncml:auth-md5", BASE64.encode(outer.finalize()))
        }
    };
    Cred {
        meta: Some(Box::new(MetInf {
            type_: Some(type_.into()),
            format: Some("b64".into()),
            ..MetInf::default()
        })),
        data,
        ..Cred::default()
    }
}

fn same_uri(a: &str, b: &str) -> bool {
    let clean = |s: &str| s.trim().trim_start_matches("./").to_ascii_lowercase();
    !a.trim().is_empty() && clean(a) == clean(b)
}

/// A status names the item it answers: its Target as TargetRef, its Source as SourceRef.
fn refs_from_item(status: &mut Status, item: &Item) {
    if let Some(target) = &item.target {
        status.target_refs.push(target.loc_uri.clone());
    }
    if let Some(source) = &item.source {
        status.source_refs.push(source.loc_uri.clone());
    }
}
