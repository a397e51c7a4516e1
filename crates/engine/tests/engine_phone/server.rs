//! The server side of the scripted phone's conversations: an engine [`Session`] driven over
//! a store, one transaction per message, the way the daemon drives it. [`Backend`] is what a
//! store must offer the tests beside the engine's trait, so a scenario runs on any store:
//! [`MemoryStore`] here, the SQLite store in the root package's tests.

use std::sync::Arc;

use handsync_engine::content;
use handsync_engine::storage::{
    Cause, Datastore, DeviceRecord, Guid, ItemContent, ItemRecord, MemoryStore, Reason,
    SessionResult, StoredRejection, StoredVersion, SyncStore, Timestamp,
};
use handsync_engine::{EngineError, Reply, ServerConfig, Session, SessionParams};

/// A session as the tests look at it afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSeen {
    pub result: SessionResult,
    pub has_resume_state: bool,
}

/// A store the tests can drive the engine over and look into.
pub trait Backend {
    /// Runs `f` in one transaction, kept when it returns `Ok`, undone otherwise.
    fn run<T>(
        &mut self,
        f: impl FnOnce(&dyn SyncStore) -> Result<T, EngineError>,
    ) -> Result<T, EngineError>;
    /// An item edited on the PC.
    fn replace_item(&mut self, guid: Guid, content: ItemContent<'_>, cause: &Cause, now: Timestamp);
    fn add_account(&mut self, name: &str, password: &str);
    /// Sessions, newest first.
    fn sessions(&mut self) -> Vec<SessionSeen>;
    /// Every version of an item, oldest first.
    fn history(&mut self, guid: Guid) -> Vec<StoredVersion>;
    /// Refused items, newest first.
    fn rejected_items(&mut self) -> Vec<StoredRejection>;
    fn device_by_uri(&mut self, uri: &str) -> Option<DeviceRecord>;
    /// What is inconsistent in the store (nothing, when all is well).
    fn problems(&mut self) -> Vec<String>;
}

impl Backend for MemoryStore {
    fn run<T>(
        &mut self,
        f: impl FnOnce(&dyn SyncStore) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        self.transaction(|store| f(store))
    }

    fn replace_item(
        &mut self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) {
        MemoryStore::replace_item(self, guid, content, cause, now).unwrap();
    }

    fn add_account(&mut self, name: &str, password: &str) {
        MemoryStore::add_account(self, name, password).unwrap();
    }

    fn sessions(&mut self) -> Vec<SessionSeen> {
        MemoryStore::sessions(self)
            .into_iter()
            .map(|s| SessionSeen {
                result: s.result,
                has_resume_state: s.resume_state.is_some(),
            })
            .collect()
    }

    fn history(&mut self, guid: Guid) -> Vec<StoredVersion> {
        MemoryStore::history(self, guid)
    }

    fn rejected_items(&mut self) -> Vec<StoredRejection> {
        MemoryStore::rejected_items(self)
    }

    fn device_by_uri(&mut self, uri: &str) -> Option<DeviceRecord> {
        MemoryStore::device_by_uri(self, uri)
    }

    fn problems(&mut self) -> Vec<String> {
        self.consistency_problems()
    }
}

/// How the phone reaches a server: straight into an engine session (the engine tests) or over
/// a binding (HTTP tests). One conversation per sync session.
pub trait Wire {
    type Conversation;
    fn open(&mut self) -> Self::Conversation;
    /// One message in, the server's answer out; `None` when the server no longer knows the
    /// session (an HTTP server forgets a session it ended).
    fn send(&mut self, conversation: &mut Self::Conversation, bytes: &[u8]) -> Option<Reply>;
    /// The phone goes away in the middle of the session.
    fn cut(&mut self, conversation: &mut Self::Conversation);
}

impl<B: Backend> Wire for Server<B> {
    type Conversation = Session;

    fn open(&mut self) -> Session {
        self.session()
    }

    fn send(&mut self, session: &mut Session, bytes: &[u8]) -> Option<Reply> {
        Some(self.exchange(session, bytes).expect("the engine answers"))
    }

    fn cut(&mut self, session: &mut Session) {
        Server::cut(self, session)
    }
}

/// The engine over a store; the memory store unless the tests say otherwise.
pub struct Server<B = MemoryStore> {
    pub store: B,
    pub config: Arc<ServerConfig>,
    pub now: i64,
    pub transport: String,
}

impl Server<MemoryStore> {
    pub fn new(config: ServerConfig) -> Server<MemoryStore> {
        Server::with_store(MemoryStore::new(), config)
    }
}

impl<B: Backend> Server<B> {
    pub fn with_store(store: B, config: ServerConfig) -> Server<B> {
        Server {
            store,
            config: Arc::new(config),
            now: 1_700_000_000_000,
            transport: "obex-bluetooth".into(),
        }
    }

    pub fn session(&self) -> Session {
        Session::new(
            self.config.clone(),
            SessionParams {
                transport: self.transport.clone(),
                resp_uri: None,
                seed: 42,
            },
        )
    }

    /// One message in, one answer out: one transaction, committed when the engine answered.
    pub fn exchange(&mut self, session: &mut Session, bytes: &[u8]) -> Result<Reply, EngineError> {
        self.now += 1000;
        let now = Timestamp(self.now);
        self.store.run(|store| session.receive(store, bytes, now))
    }

    /// The transport closed: the driver tells the session.
    pub fn cut(&mut self, session: &mut Session) {
        self.now += 1000;
        let now = Timestamp(self.now);
        self.store.run(|store| session.abort(store, now)).unwrap();
    }

    /// The peer went away (silent, or its transport closed): the driver tells the session.
    pub fn abandon(&mut self, session: &mut Session) {
        self.now += 1000;
        let now = Timestamp(self.now);
        self.store.run(|store| session.abandon(store, now)).unwrap();
    }

    /// Runs `f` on the store in a transaction of its own (to look, or to change as the PC).
    pub fn with<T>(&mut self, f: impl FnOnce(&dyn SyncStore) -> Result<T, EngineError>) -> T {
        self.store.run(f).unwrap()
    }

    /// A contact added on the PC (desktop import).
    pub fn add_contact(&mut self, vcard: &str) -> Guid {
        self.now += 1000;
        let incoming = contact(vcard);
        let now = Timestamp(self.now);
        let cause = Cause::pc(Reason::AddedOnPc);
        self.with(|store| {
            let item = store.add_item(Datastore::Contacts, incoming.as_content(), &cause, now)?;
            Ok(item.guid)
        })
    }

    /// A contact edited on the PC.
    pub fn replace_contact(&mut self, guid: Guid, vcard: &str) {
        self.now += 1000;
        let incoming = contact(vcard);
        let cause = Cause::pc(Reason::ReplacedOnPc);
        let now = Timestamp(self.now);
        self.store
            .replace_item(guid, incoming.as_content(), &cause, now);
    }

    /// A calendar item, to-do or note added on the PC (iCalendar, as the desktop writes it).
    pub fn add_item_text(&mut self, datastore: Datastore, text: &str) -> Guid {
        self.now += 1000;
        let incoming = desktop_item(datastore, text);
        let now = Timestamp(self.now);
        let cause = Cause::pc(Reason::AddedOnPc);
        self.with(|store| {
            Ok(store
                .add_item(datastore, incoming.as_content(), &cause, now)?
                .guid)
        })
    }

    /// An item of another datastore edited on the PC (`text` as the desktop writes it).
    pub fn replace_item_text(&mut self, guid: Guid, text: &str) {
        let datastore = self.item(guid).datastore;
        self.now += 1000;
        let incoming = desktop_item(datastore, text);
        let cause = Cause::pc(Reason::ReplacedOnPc);
        let now = Timestamp(self.now);
        self.store
            .replace_item(guid, incoming.as_content(), &cause, now);
    }

    pub fn delete_contact(&mut self, guid: Guid) {
        self.now += 1000;
        let now = Timestamp(self.now);
        let cause = Cause::pc(Reason::DeletedOnPc);
        self.with(|store| Ok(store.delete_item(guid, &cause, now)?));
    }

    pub fn item(&mut self, guid: Guid) -> ItemRecord {
        self.with(|store| Ok(store.item(guid)?))
    }

    /// The items of a datastore, tombstones only when asked for.
    pub fn items(&mut self, datastore: Datastore, include_deleted: bool) -> Vec<ItemRecord> {
        self.with(|store| Ok(store.items(datastore, include_deleted)?))
    }

    pub fn add_account(&mut self, name: &str, password: &str) {
        self.store.add_account(name, password);
    }

    /// Sessions, newest first.
    pub fn sessions(&mut self) -> Vec<SessionSeen> {
        self.store.sessions()
    }

    /// Every version of an item, oldest first.
    pub fn history(&mut self, guid: Guid) -> Vec<StoredVersion> {
        self.store.history(guid)
    }

    /// Refused items, newest first.
    pub fn rejected_items(&mut self) -> Vec<StoredRejection> {
        self.store.rejected_items()
    }

    pub fn device_by_uri(&mut self, uri: &str) -> Option<DeviceRecord> {
        self.store.device_by_uri(uri)
    }

    /// What is inconsistent in the store (nothing, when all is well).
    pub fn problems(&mut self) -> Vec<String> {
        self.store.problems()
    }

    pub fn contacts(&mut self) -> Vec<ItemRecord> {
        self.items(Datastore::Contacts, false)
    }

    /// Identity keys of the live contacts, sorted (a multiset).
    pub fn contact_keys(&mut self) -> Vec<String> {
        self.keys(Datastore::Contacts)
    }

    /// Identity keys of the live items of a datastore, sorted (a multiset).
    pub fn keys(&mut self, datastore: Datastore) -> Vec<String> {
        let mut keys: Vec<String> = self
            .items(datastore, false)
            .into_iter()
            .map(|i| i.identity_key.unwrap_or_default())
            .collect();
        keys.sort();
        keys
    }
}

/// An iCalendar item as the PC's import stores it.
fn desktop_item(datastore: Datastore, text: &str) -> content::Incoming {
    content::from_phone(
        &content::phone_for(None, None),
        datastore,
        "text/calendar",
        text.as_bytes(),
    )
    .expect("the desktop's item reads")
}

/// A contact as the PC's import stores it.
fn contact(vcard: &str) -> content::Incoming {
    let phone = content::phone_for(None, None);
    content::from_phone(
        &phone,
        Datastore::Contacts,
        "text/x-vcard",
        vcard.as_bytes(),
    )
    .unwrap()
}
