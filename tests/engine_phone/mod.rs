//! The engine tests' scripted phone (`crates/engine/tests/engine_phone`), serving the
//! binding tests here, and the SQLite store as one of its [`Backend`]s: the same scenarios run
//! on it as on the engine's memory store.
#![allow(dead_code)]

#[path = "../../crates/engine/tests/engine_phone/mod.rs"]
mod shared;
#[path = "../support/postgres.rs"]
pub mod test_postgres;

pub use shared::*;

use handsync::engine::storage::{
    Cause, DeviceRecord, Guid, ItemContent, StoredRejection, StoredVersion, SyncStore, Timestamp,
};
use handsync::engine::{EngineError, ServerConfig};
use handsync::store::Store;

/// The engine over the SQLite store.
pub type Server = shared::Server<Store>;

impl shared::Server<Store> {
    /// A server on a fresh store: in memory on SQLite, or a new PostgreSQL database in the
    /// binary that holds the engine's contract to PostgreSQL.
    pub fn new(config: ServerConfig) -> Server {
        let store = if env!("CARGO_CRATE_NAME") == "engine_contract_postgres" {
            thread_local! {
                // Dropped (the database with it) when the test's thread ends, after the
                // server and its connection.
                static DATABASES: std::cell::RefCell<Vec<test_postgres::TestDatabase>> =
                    const { std::cell::RefCell::new(Vec::new()) };
            }
            if test_postgres::server_url().is_none() {
                panic!(
                    "{} is not set: the engine's contract on PostgreSQL needs a server \
                     (scripts/test-all sets one up as root)",
                    test_postgres::SERVER_VARIABLE
                );
            }
            let database = test_postgres::TestDatabase::create("contract");
            let store = Store::open(database.url()).unwrap();
            DATABASES.with(|databases| databases.borrow_mut().push(database));
            store
        } else {
            Store::open_in_memory().unwrap()
        };
        Server::with_store(store, config)
    }
}

impl Backend for Store {
    fn run<T>(
        &mut self,
        f: impl FnOnce(&dyn SyncStore) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let tx = self.begin()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn replace_item(
        &mut self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) {
        self.transaction(|tx| tx.replace_item(guid, content, cause, now))
            .unwrap();
    }

    fn add_account(&mut self, name: &str, password: &str) {
        // The household's data on either database, as on the memory store: the contract's
        // checks read it (tests/store_tenants.rs holds accounts with data of their own).
        self.transaction(|tx| tx.add_account_with(name, password, false, Timestamp(0)))
            .unwrap();
    }

    fn sessions(&mut self) -> Vec<SessionSeen> {
        let records = self.read(|tx| tx.sessions(None, usize::MAX)).unwrap();
        records
            .into_iter()
            .map(|record| SessionSeen {
                result: record.result,
                has_resume_state: record.has_resume_state,
            })
            .collect()
    }

    fn history(&mut self, guid: Guid) -> Vec<StoredVersion> {
        let versions = self.read(|tx| tx.item_history(guid)).unwrap();
        versions
            .into_iter()
            .map(|v| StoredVersion {
                guid: v.guid,
                revision: v.revision,
                content_type: v.content_type,
                raw: v.raw,
                canonical: v.canonical,
                identity_key: v.identity_key,
                deleted: v.deleted,
                applied: v.applied,
                at: v.at,
                cause: v.cause,
            })
            .collect()
    }

    fn rejected_items(&mut self) -> Vec<StoredRejection> {
        let items = self.read(|tx| tx.rejected_items(None, usize::MAX)).unwrap();
        items
            .into_iter()
            .map(|r| StoredRejection {
                id: r.id,
                device: r.device,
                session: r.session,
                datastore: r.datastore,
                device_datastore: r.device_datastore,
                luid: r.luid,
                command: r.command,
                content_type: r.content_type,
                raw: r.raw,
                status: r.status,
                reason: r.reason,
                received_at: r.received_at,
            })
            .collect()
    }

    fn device_by_uri(&mut self, uri: &str) -> Option<DeviceRecord> {
        self.read(|tx| tx.device_by_uri(uri)).unwrap()
    }

    fn problems(&mut self) -> Vec<String> {
        self.check_integrity().unwrap()
    }
}
