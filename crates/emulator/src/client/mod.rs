//! The SyncML DS client session: the phone's side of packages 1 to 6.
//!
//! [`EmulatedPhone`] owns a [`DeviceProfile`], a [`PhoneStore`] and, while a session runs,
//! its state. It is sans-IO: [`EmulatedPhone::start_sync`] returns the first message,
//! [`EmulatedPhone::receive`] takes each server message and says what to send next or that the
//! session is over. Anchors move and change logs are cleared only when a session completes; a
//! session cut anywhere ([`EmulatedPhone::abort`]) leaves the phone as it would a real one:
//! items received so far kept, changes still pending, Maps owed remembered for the next
//! session.
//!
//! By concern: `session` (the course of a session, packages 1 and the step after each server
//! message), `outgoing` (our messages and what goes in them), `incoming` (the server's
//! commands and statuses), `large_objects` (items whole or in chunks, both ways), `auth`
//! (credentials and challenges), `builder` (one message within MaxMsgSize).

mod auth;
mod builder;
mod incoming;
mod large_objects;
mod outgoing;
mod session;

use std::collections::{BTreeMap, VecDeque};

use super::error::EmulatorError;
use super::profile::DeviceProfile;
use super::store::{Change, PhoneStore};
use super::transcript::Transcript;
pub use handsync_proto::ds::SyncMode;
use handsync_proto::pim::Datastore;
use handsync_proto::syncml::{self, Command, Encoding, Message, Status, StatusCode};
use large_objects::{IncomingObject, Payload};

/// Statuses any message may have to carry (the server's header, its Alert 222).
const MINIMAL_STATUSES: usize = 2;

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
pub struct EmulatedPhone {
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

impl EmulatedPhone {
    pub fn new(profile: DeviceProfile, store: PhoneStore, config: PhoneConfig) -> EmulatedPhone {
        EmulatedPhone {
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

    /// Record a transcript of every session from now on ([`EmulatedPhone::take_transcripts`]).
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

    fn session(&mut self) -> &mut Session {
        self.session.as_mut().expect("checked by the callers")
    }

    pub(super) fn encode(&self, message: &Message) -> Result<Vec<u8>, EmulatorError> {
        encode_message(&self.profile, message)
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
