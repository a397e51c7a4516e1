//! The store interface the engine talks to, and its implementation for the SQLite store's
//! transaction ([`handsync_store::Tx`]).
//!
//! The engine never opens or commits a transaction: the driver (tests, the HTTP and OBEX
//! bindings) begins one per incoming SyncML message, hands it to
//! [`Session::receive`](super::Session::receive) and commits it when that returns `Ok`
//! (rolls it back on `Err`). Everything the engine does for one message is thus atomic.

use handsync_store::{
    Applied, Cause, ChangeKind, Datastore, DevInfEncoding, DevInfSummary, DeviceChange,
    DeviceDatastore, DeviceId, DeviceItem, DeviceRecord, Guid, Item, ItemContent, NewRejectedItem,
    NewSession, PcChange, Revision, SessionId, SessionResult, StoreError, Timestamp, Tx,
};

type Result<T> = std::result::Result<T, StoreError>;

/// What the engine needs from storage. Methods mirror [`Tx`]'s; see there for semantics.
pub trait SyncStore {
    /// Savepoints, so an `Atomic` can be undone alone.
    fn savepoint(&self, name: &str) -> Result<()>;
    fn rollback_to_savepoint(&self, name: &str) -> Result<()>;
    fn release_savepoint(&self, name: &str) -> Result<()>;

    fn upsert_device(&self, uri: &str, now: Timestamp) -> Result<DeviceId>;
    fn device(&self, device: DeviceId) -> Result<DeviceRecord>;
    fn set_device_info(
        &self,
        device: DeviceId,
        raw: &[u8],
        encoding: DevInfEncoding,
        summary: &DevInfSummary,
    ) -> Result<()>;
    fn set_next_nonce(&self, device: DeviceId, nonce: &[u8]) -> Result<()>;
    fn verify_basic(&self, name: &str, password: &str) -> Result<bool>;
    fn verify_md5(&self, name: &str, credential: &str, nonce: &[u8]) -> Result<bool>;

    fn begin_session(&self, new: &NewSession<'_>) -> Result<SessionId>;
    fn suspend_session(
        &self,
        session: SessionId,
        resume_state: &[u8],
        now: Timestamp,
    ) -> Result<()>;
    fn suspended_session(&self, device: DeviceId) -> Result<Option<(SessionId, Vec<u8>)>>;
    fn take_resume_state(&self, session: SessionId) -> Result<Option<Vec<u8>>>;
    fn end_session(
        &self,
        session: SessionId,
        result: SessionResult,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<()>;

    fn set_up_device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
        device_uri: &str,
    ) -> Result<DeviceDatastore>;
    fn begin_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        client_next_anchor: &str,
        server_next_anchor: &str,
        now: Timestamp,
    ) -> Result<()>;
    fn complete_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        now: Timestamp,
    ) -> Result<()>;

    fn item(&self, guid: Guid) -> Result<Item>;
    fn items(&self, datastore: Datastore, include_deleted: bool) -> Result<Vec<Item>>;
    fn add_item(
        &self,
        datastore: Datastore,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<Item>;
    fn delete_item(&self, guid: Guid, cause: &Cause, now: Timestamp) -> Result<Item>;
    fn record_conflict_loser(
        &self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<Revision>;

    fn device_items(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<DeviceItem>>;
    fn device_item_by_luid(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<Option<DeviceItem>>;
    fn forget_device_items(&self, device: DeviceId, datastore: Datastore) -> Result<usize>;
    fn forget_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<bool>;
    fn unheld_items_by_identity_key(
        &self,
        device: DeviceId,
        datastore: Datastore,
        key: &str,
    ) -> Result<Vec<Item>>;
    fn map_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
        luid: &str,
        seen_revision: Option<Revision>,
        now: Timestamp,
    ) -> Result<()>;
    fn apply_map(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
        luid: &str,
        now: Timestamp,
    ) -> Result<()>;
    fn apply_from_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        change: DeviceChange<'_>,
        now: Timestamp,
    ) -> Result<Applied>;
    fn changes_for_device(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<PcChange>>;
    fn record_delivered(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        kind: ChangeKind,
        guid: Guid,
        revision: Revision,
    ) -> Result<()>;
    /// Keeps an item the engine refused, with its bytes and why.
    fn record_rejected_item(&self, new: &NewRejectedItem<'_>, now: Timestamp) -> Result<i64>;
}

/// Forwards each method to the inherent method of the same name.
macro_rules! forward {
    ($( fn $name:ident(&self $(, $arg:ident : $ty:ty)* ) -> $ret:ty; )*) => {
        impl SyncStore for Tx<'_> {
            $( fn $name(&self $(, $arg: $ty)*) -> $ret { Tx::$name(self $(, $arg)*) } )*
        }
    };
}

forward! {
    fn savepoint(&self, name: &str) -> Result<()>;
    fn rollback_to_savepoint(&self, name: &str) -> Result<()>;
    fn release_savepoint(&self, name: &str) -> Result<()>;
    fn upsert_device(&self, uri: &str, now: Timestamp) -> Result<DeviceId>;
    fn device(&self, device: DeviceId) -> Result<DeviceRecord>;
    fn set_device_info(&self, device: DeviceId, raw: &[u8], encoding: DevInfEncoding,
        summary: &DevInfSummary) -> Result<()>;
    fn set_next_nonce(&self, device: DeviceId, nonce: &[u8]) -> Result<()>;
    fn verify_basic(&self, name: &str, password: &str) -> Result<bool>;
    fn verify_md5(&self, name: &str, credential: &str, nonce: &[u8]) -> Result<bool>;
    fn begin_session(&self, new: &NewSession<'_>) -> Result<SessionId>;
    fn suspend_session(&self, session: SessionId, resume_state: &[u8], now: Timestamp)
        -> Result<()>;
    fn suspended_session(&self, device: DeviceId) -> Result<Option<(SessionId, Vec<u8>)>>;
    fn take_resume_state(&self, session: SessionId) -> Result<Option<Vec<u8>>>;
    fn end_session(&self, session: SessionId, result: SessionResult, error: Option<&str>,
        now: Timestamp) -> Result<()>;
    fn set_up_device_datastore(&self, device: DeviceId, datastore: Datastore,
        device_uri: &str) -> Result<DeviceDatastore>;
    fn begin_datastore_sync(&self, device: DeviceId, datastore: Datastore, session: SessionId,
        client_next_anchor: &str, server_next_anchor: &str, now: Timestamp) -> Result<()>;
    fn complete_datastore_sync(&self, device: DeviceId, datastore: Datastore,
        session: SessionId, now: Timestamp) -> Result<()>;
    fn item(&self, guid: Guid) -> Result<Item>;
    fn items(&self, datastore: Datastore, include_deleted: bool) -> Result<Vec<Item>>;
    fn add_item(&self, datastore: Datastore, content: ItemContent<'_>, cause: &Cause,
        now: Timestamp) -> Result<Item>;
    fn delete_item(&self, guid: Guid, cause: &Cause, now: Timestamp) -> Result<Item>;
    fn record_conflict_loser(&self, guid: Guid, content: ItemContent<'_>, cause: &Cause,
        now: Timestamp) -> Result<Revision>;
    fn device_items(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<DeviceItem>>;
    fn device_item_by_luid(&self, device: DeviceId, datastore: Datastore, luid: &str)
        -> Result<Option<DeviceItem>>;
    fn forget_device_items(&self, device: DeviceId, datastore: Datastore) -> Result<usize>;
    fn forget_device_item(&self, device: DeviceId, datastore: Datastore, guid: Guid)
        -> Result<bool>;
    fn unheld_items_by_identity_key(&self, device: DeviceId, datastore: Datastore, key: &str)
        -> Result<Vec<Item>>;
    fn map_device_item(&self, device: DeviceId, datastore: Datastore, guid: Guid, luid: &str,
        seen_revision: Option<Revision>, now: Timestamp) -> Result<()>;
    fn apply_map(&self, device: DeviceId, datastore: Datastore, guid: Guid, luid: &str,
        now: Timestamp) -> Result<()>;
    fn apply_from_device(&self, device: DeviceId, datastore: Datastore,
        session: Option<SessionId>, change: DeviceChange<'_>, now: Timestamp) -> Result<Applied>;
    fn changes_for_device(&self, device: DeviceId, datastore: Datastore)
        -> Result<Vec<PcChange>>;
    fn record_delivered(&self, device: DeviceId, datastore: Datastore,
        session: Option<SessionId>, kind: ChangeKind, guid: Guid, revision: Revision)
        -> Result<()>;
    fn record_rejected_item(&self, new: &NewRejectedItem<'_>, now: Timestamp) -> Result<i64>;
}
