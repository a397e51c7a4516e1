//! A store in memory: the engine's [`SyncStore`] kept in ordered maps, with the same
//! semantics as the SQLite store (history, tombstones, revisions, savepoints, maps, anchors,
//! resume states, refused items). For tests and for trying the engine without a database.
//!
//! Transactions: [`MemoryStore::transaction`] runs one and puts everything back as it was
//! when it fails; savepoints are snapshots of the whole state.

mod state;

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::error::{StorageError, StorageResult as Result};
use super::records::{
    AnchorBase, Applied, DevInfSummary, DeviceChange, DeviceDatastore, DeviceItem, DeviceRecord,
    NewRejectedItem, NewSession, PcChange,
};
use super::sync_store::SyncStore;
use super::types::{
    Cause, ChangeKind, Datastore, DevInfEncoding, DeviceId, Guid, ItemContent, ItemRecord,
    Revision, SessionId, SessionResult, Timestamp,
};
use crate::credentials::md5_user_password;
use state::State;

/// One version of an item in its history: every applied change writes one, and so does a
/// conflict loser (not applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub guid: Guid,
    pub revision: Revision,
    pub content_type: String,
    pub raw: Vec<u8>,
    pub canonical: String,
    pub identity_key: Option<String>,
    /// This version is a deletion (its content is what was deleted).
    pub deleted: bool,
    /// `false` for a conflict loser: kept for the record, never the item's content.
    pub applied: bool,
    pub at: Timestamp,
    pub cause: Cause,
}

/// How many changes of each kind a session made in one datastore and one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub added: u64,
    pub replaced: u64,
    pub deleted: u64,
}

impl ChangeCounts {
    fn count(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Add => self.added += 1,
            ChangeKind::Replace => self.replaced += 1,
            ChangeKind::Delete => self.deleted += 1,
        }
    }
}

/// A session as the memory store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub id: SessionId,
    pub device: DeviceId,
    pub transport: String,
    pub syncml_session_id: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub result: SessionResult,
    pub error: Option<String>,
    pub revision_at_start: Revision,
    pub revision_at_end: Option<Revision>,
    pub resume_state: Option<Vec<u8>>,
    /// Changes applied from the phone, per datastore.
    pub from_phone: BTreeMap<Datastore, ChangeCounts>,
    /// Changes the phone acknowledged, per datastore.
    pub to_phone: BTreeMap<Datastore, ChangeCounts>,
}

/// An item the engine refused, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRejection {
    pub id: i64,
    pub device: DeviceId,
    pub session: Option<SessionId>,
    pub datastore: Option<Datastore>,
    pub device_datastore: String,
    pub luid: Option<String>,
    pub command: String,
    pub content_type: String,
    pub raw: Vec<u8>,
    pub status: u16,
    pub reason: String,
    pub received_at: Timestamp,
}

/// The engine's storage in memory. [`SyncStore`] is implemented for `MemoryStore` itself:
/// hand `&store` to the engine inside [`MemoryStore::transaction`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RefCell<State>,
    /// Open savepoints, oldest first, with the state each one goes back to.
    savepoints: RefCell<Vec<(String, State)>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Runs `f` as one transaction: what it did is kept if it returns `Ok`, undone otherwise.
    pub fn transaction<T, E>(
        &mut self,
        f: impl FnOnce(&MemoryStore) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let before = self.state.get_mut().clone();
        let result = f(self);
        // The end of a transaction closes its savepoints.
        self.savepoints.get_mut().clear();
        if result.is_err() {
            *self.state.get_mut() = before;
        }
        result
    }

    /// Creates an account; only `md5("name:password")` is kept. A name must be non-empty and
    /// without ':' (it would make basic auth's "name:password" ambiguous) and new.
    pub fn add_account(&mut self, name: &str, password: &str) -> Result<()> {
        if name.is_empty() || name.contains(':') {
            return Err(StorageError::invalid(format!(
                "account name {name:?} must be non-empty and without ':'"
            )));
        }
        let accounts = &mut self.state.get_mut().accounts;
        if accounts.contains_key(name) {
            return Err(StorageError::invalid(format!(
                "account {name:?} already exists"
            )));
        }
        accounts.insert(name.to_string(), md5_user_password(name, password));
        Ok(())
    }

    /// A change made on the PC: a live item gets new content (identical content changes
    /// nothing). The previous content stays in the history.
    pub fn replace_item(
        &mut self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        self.state.get_mut().replace_item(guid, content, cause, now)
    }

    /// The last revision handed out.
    pub fn current_revision(&self) -> Revision {
        self.state.borrow().current_revision()
    }

    /// Every version of an item, oldest first.
    pub fn history(&self, guid: Guid) -> Vec<StoredVersion> {
        let state = self.state.borrow();
        let versions = state.versions.iter().filter(|v| v.guid == guid);
        versions.cloned().collect()
    }

    pub fn device_by_uri(&self, uri: &str) -> Option<DeviceRecord> {
        self.state.borrow().device_by_uri(uri).cloned()
    }

    /// The state of a device's copy of a datastore, if it was ever set up.
    pub fn device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Option<DeviceDatastore> {
        self.state
            .borrow()
            .device_datastore(device, datastore)
            .cloned()
    }

    /// Sessions, newest first.
    pub fn sessions(&self) -> Vec<StoredSession> {
        self.state
            .borrow()
            .sessions
            .values()
            .rev()
            .cloned()
            .collect()
    }

    /// Refused items, newest first.
    pub fn rejected_items(&self) -> Vec<StoredRejection> {
        self.state.borrow().rejected.iter().rev().cloned().collect()
    }

    /// What breaks the store's rules (a version for every revision of an item, mappings of
    /// existing items only); empty when all is well.
    pub fn consistency_problems(&self) -> Vec<String> {
        self.state.borrow().consistency_problems()
    }

    fn savepoint_index(&self, name: &str) -> Result<usize> {
        self.savepoints
            .borrow()
            .iter()
            .rposition(|(open, _)| open == name)
            .ok_or_else(|| StorageError::invalid(format!("no savepoint {name} is open")))
    }
}

fn check_savepoint_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StorageError::invalid(format!(
            "savepoint name {name:?} is not a plain identifier"
        )));
    }
    Ok(())
}

impl SyncStore for MemoryStore {
    fn savepoint(&self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let snapshot = self.state.borrow().clone();
        self.savepoints
            .borrow_mut()
            .push((name.to_string(), snapshot));
        Ok(())
    }

    fn rollback_to_savepoint(&self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let index = self.savepoint_index(name)?;
        let (_, snapshot) = self
            .savepoints
            .borrow_mut()
            .drain(index..)
            .next()
            .expect("found");
        *self.state.borrow_mut() = snapshot;
        Ok(())
    }

    fn release_savepoint(&self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        let index = self.savepoint_index(name)?;
        self.savepoints.borrow_mut().truncate(index);
        Ok(())
    }

    fn upsert_device(&self, uri: &str, now: Timestamp) -> Result<DeviceId> {
        self.state.borrow_mut().upsert_device(uri, now)
    }

    fn device(&self, device: DeviceId) -> Result<DeviceRecord> {
        self.state.borrow().device(device).cloned()
    }

    fn find_device(&self, uri: &str) -> Result<Option<DeviceRecord>> {
        Ok(self.state.borrow().device_by_uri(uri).cloned())
    }

    fn set_device_info(
        &self,
        device: DeviceId,
        raw: &[u8],
        encoding: DevInfEncoding,
        summary: &DevInfSummary,
    ) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.set_device_info(device, raw, encoding, summary)
    }

    fn set_next_nonce(&self, device: DeviceId, nonce: &[u8]) -> Result<()> {
        self.state.borrow_mut().set_next_nonce(device, nonce)
    }

    fn account_digest(&self, name: &str) -> Result<Option<[u8; 16]>> {
        Ok(self.state.borrow().accounts.get(name).copied())
    }

    fn begin_session(&self, new: &NewSession<'_>) -> Result<SessionId> {
        self.state.borrow_mut().begin_session(new)
    }

    fn suspend_session(
        &self,
        session: SessionId,
        resume_state: &[u8],
        now: Timestamp,
    ) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.suspend_session(session, resume_state, now)
    }

    fn suspended_session(&self, device: DeviceId) -> Result<Option<(SessionId, Vec<u8>)>> {
        Ok(self.state.borrow().suspended_session(device))
    }

    fn take_resume_state(&self, session: SessionId) -> Result<Option<Vec<u8>>> {
        self.state.borrow_mut().take_resume_state(session)
    }

    fn prune_empty_devices(&self, keep: usize) -> Result<usize> {
        Ok(self.state.borrow_mut().prune_empty_devices(keep))
    }

    fn end_session(
        &self,
        session: SessionId,
        result: SessionResult,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.end_session(session, result, error, now)
    }

    fn set_up_device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
        device_uri: &str,
    ) -> Result<DeviceDatastore> {
        let mut state = self.state.borrow_mut();
        state.set_up_device_datastore(device, datastore, device_uri)
    }

    fn begin_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        client_next_anchor: &str,
        server_next_anchor: &str,
        now: Timestamp,
    ) -> Result<()> {
        let anchors = (client_next_anchor, server_next_anchor);
        let mut state = self.state.borrow_mut();
        state.begin_datastore_sync(device, datastore, session, anchors, now)
    }

    fn complete_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        base: Option<&AnchorBase>,
        now: Timestamp,
    ) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.complete_datastore_sync(device, datastore, session, base, now)
    }

    fn item(&self, guid: Guid) -> Result<ItemRecord> {
        self.state.borrow().item(guid).cloned()
    }

    fn item_versions_from(&self, guid: Guid, revision: Revision) -> Result<Vec<ItemRecord>> {
        self.state.borrow().item_versions_from(guid, revision)
    }

    fn items(&self, datastore: Datastore, include_deleted: bool) -> Result<Vec<ItemRecord>> {
        Ok(self.state.borrow().items(datastore, include_deleted))
    }

    fn add_item(
        &self,
        datastore: Datastore,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        let mut state = self.state.borrow_mut();
        state.add_item(datastore, content, cause, now)
    }

    fn delete_item(&self, guid: Guid, cause: &Cause, now: Timestamp) -> Result<ItemRecord> {
        self.state.borrow_mut().delete_item(guid, cause, now)
    }

    fn record_conflict_loser(
        &self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<Revision> {
        let mut state = self.state.borrow_mut();
        state.record_conflict_loser(guid, content, cause, now)
    }

    fn device_items(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<DeviceItem>> {
        self.state.borrow().device_items(device, datastore)
    }

    fn device_item_by_luid(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<Option<DeviceItem>> {
        let state = self.state.borrow();
        state.device_item_by_luid(device, datastore, luid)
    }

    fn forget_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<bool> {
        let mut state = self.state.borrow_mut();
        state.forget_device_item(device, datastore, guid)
    }

    fn forget_device_items(&self, device: DeviceId, datastore: Datastore) -> Result<usize> {
        let mut state = self.state.borrow_mut();
        state.forget_device_items(device, datastore)
    }

    fn record_luid_sent(&self, device: DeviceId, datastore: Datastore, luid: &str) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.record_luid_sent(device, datastore, luid)
    }

    fn luid_sent(&self, device: DeviceId, datastore: Datastore, luid: &str) -> Result<bool> {
        self.state.borrow().luid_sent(device, datastore, luid)
    }

    fn clear_luids_sent(&self, device: DeviceId, datastore: Datastore) -> Result<()> {
        self.state.borrow_mut().clear_luids_sent(device, datastore)
    }

    fn held_items_not_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Vec<DeviceItem>> {
        self.state.borrow().held_items_not_sent(device, datastore)
    }

    fn map_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
        luid: &str,
        seen_revision: Option<Revision>,
        now: Timestamp,
    ) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.map_device_item(device, datastore, guid, luid, seen_revision, now)
    }

    fn apply_from_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        change: DeviceChange<'_>,
        now: Timestamp,
    ) -> Result<Applied> {
        let mut state = self.state.borrow_mut();
        state.apply_from_device(device, datastore, session, change, now)
    }

    fn changes_for_device(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<PcChange>> {
        self.state.borrow().changes_for_device(device, datastore)
    }

    fn record_delivered(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        kind: ChangeKind,
        guid: Guid,
        revision: Revision,
    ) -> Result<()> {
        let mut state = self.state.borrow_mut();
        state.record_delivered(device, datastore, session, kind, guid, revision)
    }

    fn record_rejected_item(&self, new: &NewRejectedItem<'_>, now: Timestamp) -> Result<i64> {
        self.state.borrow_mut().record_rejected_item(new, now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Reason, StorageErrorKind};
    use super::*;

    const NOTE: ItemContent<'static> = ItemContent {
        content_type: "text/plain",
        raw: b"a",
        canonical: "a",
        identity_key: None,
    };

    fn add(store: &MemoryStore, at: i64) -> Result<ItemRecord> {
        let cause = Cause::pc(Reason::AddedOnPc);
        store.add_item(Datastore::Notes, NOTE, &cause, Timestamp(at))
    }

    #[test]
    fn a_savepoint_undoes_only_what_followed_it() {
        let mut store = MemoryStore::new();
        store
            .transaction(|store| {
                add(store, 1)?;
                store.savepoint("atomic")?;
                add(store, 2)?;
                store.rollback_to_savepoint("atomic")?;
                store.savepoint("atomic")?;
                add(store, 3)?;
                store.release_savepoint("atomic")?;
                assert!(store.savepoint("bad name; DROP").is_err());
                assert!(store.release_savepoint("never_opened").is_err());
                Ok::<_, StorageError>(())
            })
            .unwrap();
        let notes = store.items(Datastore::Notes, false).unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[1].created_at, Timestamp(3));
        assert!(store.consistency_problems().is_empty());
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        let mut store = MemoryStore::new();
        let failed = store.transaction(|store| {
            add(store, 1)?;
            store.upsert_device("IMEI:1", Timestamp(1))?;
            store.upsert_device(" ", Timestamp(1))
        });
        assert_eq!(failed.unwrap_err().kind(), StorageErrorKind::Invalid);
        assert!(store.items(Datastore::Notes, true).unwrap().is_empty());
        assert!(store.device_by_uri("IMEI:1").is_none());
        assert_eq!(store.current_revision(), Revision(0));
    }

    #[test]
    fn deletes_leave_tombstones_and_every_change_a_version() {
        let mut store = MemoryStore::new();
        let guid = add(&store, 1).unwrap().guid;
        let edited = ItemContent {
            raw: b"b",
            canonical: "b",
            ..NOTE
        };
        let cause = Cause::pc(Reason::ReplacedOnPc);
        store
            .replace_item(guid, NOTE, &cause, Timestamp(2))
            .unwrap();
        store
            .replace_item(guid, edited, &cause, Timestamp(3))
            .unwrap();
        let deleted = store
            .delete_item(guid, &Cause::pc(Reason::DeletedOnPc), Timestamp(4))
            .unwrap();
        assert!(deleted.is_deleted());
        assert_eq!(deleted.canonical, "b", "a tombstone keeps its content");
        let again = store.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), Timestamp(5));
        assert_eq!(again.unwrap_err().kind(), StorageErrorKind::Invalid);
        let reasons: Vec<_> = store.history(guid).iter().map(|v| v.cause.reason).collect();
        // Replacing with the same content made no version.
        assert_eq!(
            reasons,
            [Reason::AddedOnPc, Reason::ReplacedOnPc, Reason::DeletedOnPc]
        );
        let missing = store.item(Guid(99)).unwrap_err();
        assert_eq!(missing.kind(), StorageErrorKind::NotFound);
    }
}
