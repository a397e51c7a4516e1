//! The engine's storage trait, implemented by the store's transaction: each method is the
//! inherent one of the same name (see there), its error told in the engine's words.

use handsync_engine::storage::{
    AnchorBase, Applied, Cause, ChangeKind, Datastore, DevInfEncoding, DevInfSummary, DeviceChange,
    DeviceDatastore, DeviceId, DeviceItem, DeviceRecord, Guid, ItemContent, ItemRecord,
    NewRejectedItem, NewSession, PcChange, Revision, SessionId, SessionResult, StorageResult,
    SyncStore, Timestamp, UnseenChange,
};

use super::Tx;

impl SyncStore for Tx<'_> {
    fn savepoint(&self, name: &str) -> StorageResult<()> {
        Ok(Tx::savepoint(self, name)?)
    }

    fn rollback_to_savepoint(&self, name: &str) -> StorageResult<()> {
        Ok(Tx::rollback_to_savepoint(self, name)?)
    }

    fn release_savepoint(&self, name: &str) -> StorageResult<()> {
        Ok(Tx::release_savepoint(self, name)?)
    }

    fn upsert_device(&self, uri: &str, now: Timestamp) -> StorageResult<DeviceId> {
        Ok(Tx::upsert_device(self, uri, now)?)
    }

    fn device(&self, device: DeviceId) -> StorageResult<DeviceRecord> {
        Ok(Tx::device(self, device)?)
    }

    fn find_device(&self, uri: &str) -> StorageResult<Option<DeviceRecord>> {
        Ok(Tx::device_by_uri(self, uri)?)
    }

    fn set_device_info(
        &self,
        device: DeviceId,
        raw: &[u8],
        encoding: DevInfEncoding,
        summary: &DevInfSummary,
    ) -> StorageResult<()> {
        Ok(Tx::set_device_info(self, device, raw, encoding, summary)?)
    }

    fn set_next_nonce(&self, device: DeviceId, nonce: &[u8]) -> StorageResult<()> {
        Ok(Tx::set_next_nonce(self, device, nonce)?)
    }

    fn account_digest(&self, name: &str) -> StorageResult<Option<[u8; 16]>> {
        Ok(Tx::account_digest(self, name)?)
    }

    fn enter_account(&self, account: Option<&str>) -> StorageResult<()> {
        Ok(Tx::enter_account(self, account)?)
    }

    fn begin_session(&self, new: &NewSession<'_>) -> StorageResult<SessionId> {
        Ok(Tx::begin_session(self, new)?)
    }

    fn suspend_session(
        &self,
        session: SessionId,
        resume_state: &[u8],
        now: Timestamp,
    ) -> StorageResult<()> {
        Ok(Tx::suspend_session(self, session, resume_state, now)?)
    }

    fn suspended_session(&self, device: DeviceId) -> StorageResult<Option<(SessionId, Vec<u8>)>> {
        Ok(Tx::suspended_session(self, device)?)
    }

    fn take_resume_state(&self, session: SessionId) -> StorageResult<Option<Vec<u8>>> {
        Ok(Tx::take_resume_state(self, session)?)
    }

    fn prune_empty_devices(&self, keep: usize) -> StorageResult<usize> {
        Ok(Tx::prune_empty_devices(self, keep)?)
    }

    fn end_session(
        &self,
        session: SessionId,
        result: SessionResult,
        error: Option<&str>,
        now: Timestamp,
    ) -> StorageResult<()> {
        Ok(Tx::end_session(self, session, result, error, now)?)
    }

    fn set_up_device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
        device_uri: &str,
    ) -> StorageResult<DeviceDatastore> {
        Ok(Tx::set_up_device_datastore(
            self, device, datastore, device_uri,
        )?)
    }

    fn begin_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        client_next_anchor: &str,
        server_next_anchor: &str,
        now: Timestamp,
    ) -> StorageResult<()> {
        Ok(Tx::begin_datastore_sync(
            self,
            device,
            datastore,
            session,
            client_next_anchor,
            server_next_anchor,
            now,
        )?)
    }

    fn complete_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        base: Option<&AnchorBase>,
        now: Timestamp,
    ) -> StorageResult<()> {
        Ok(Tx::complete_datastore_sync(
            self, device, datastore, session, base, now,
        )?)
    }

    fn item(&self, guid: Guid) -> StorageResult<ItemRecord> {
        Ok(Tx::item(self, guid)?)
    }

    fn item_versions_from(&self, guid: Guid, revision: Revision) -> StorageResult<Vec<ItemRecord>> {
        Ok(Tx::item_versions_from(self, guid, revision)?)
    }

    fn items(&self, datastore: Datastore, include_deleted: bool) -> StorageResult<Vec<ItemRecord>> {
        Ok(Tx::items(self, datastore, include_deleted)?)
    }

    fn add_item(
        &self,
        datastore: Datastore,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> StorageResult<ItemRecord> {
        Ok(Tx::add_item(self, datastore, content, cause, now)?)
    }

    fn delete_item(&self, guid: Guid, cause: &Cause, now: Timestamp) -> StorageResult<ItemRecord> {
        Ok(Tx::delete_item(self, guid, cause, now)?)
    }

    fn record_conflict_loser(
        &self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> StorageResult<Revision> {
        Ok(Tx::record_conflict_loser(self, guid, content, cause, now)?)
    }

    fn device_items(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> StorageResult<Vec<DeviceItem>> {
        Ok(Tx::device_items(self, device, datastore)?)
    }

    fn device_item_by_luid(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> StorageResult<Option<DeviceItem>> {
        Ok(Tx::device_item_by_luid(self, device, datastore, luid)?)
    }

    fn forget_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> StorageResult<bool> {
        Ok(Tx::forget_device_item(self, device, datastore, guid)?)
    }

    /// One DELETE rather than one per item.
    fn forget_device_items(&self, device: DeviceId, datastore: Datastore) -> StorageResult<usize> {
        Ok(Tx::forget_device_items(self, device, datastore)?)
    }

    /// One query rather than a scan of what the device holds.
    fn device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> StorageResult<Option<DeviceItem>> {
        Ok(Tx::device_item_by_guid(self, device, datastore, guid)?)
    }

    /// One query on a partial index rather than a scan of what the device holds.
    fn pending_maps(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> StorageResult<Vec<DeviceItem>> {
        Ok(Tx::pending_maps(self, device, datastore)?)
    }

    /// One query rather than every item and mapping read into memory.
    fn live_items_not_held(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> StorageResult<Vec<Guid>> {
        Ok(Tx::live_items_not_held(self, device, datastore)?)
    }

    fn record_luid_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> StorageResult<()> {
        Ok(Tx::record_luid_sent(self, device, datastore, luid)?)
    }

    fn luid_sent(&self, device: DeviceId, datastore: Datastore, luid: &str) -> StorageResult<bool> {
        Ok(Tx::luid_sent(self, device, datastore, luid)?)
    }

    fn clear_luids_sent(&self, device: DeviceId, datastore: Datastore) -> StorageResult<()> {
        Ok(Tx::clear_luids_sent(self, device, datastore)?)
    }

    fn held_items_not_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> StorageResult<Vec<DeviceItem>> {
        Ok(Tx::held_items_not_sent(self, device, datastore)?)
    }

    /// One indexed query rather than a scan of the datastore.
    fn items_by_identity_key(
        &self,
        datastore: Datastore,
        key: &str,
    ) -> StorageResult<Vec<ItemRecord>> {
        Ok(Tx::items_by_identity_key(self, datastore, key)?)
    }

    /// One query, from the device's pending mappings to their versions.
    fn pending_items_by_past_identity_key(
        &self,
        device: DeviceId,
        datastore: Datastore,
        key: &str,
    ) -> StorageResult<Vec<Guid>> {
        Ok(Tx::pending_items_by_past_identity_key(
            self, device, datastore, key,
        )?)
    }

    fn map_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
        luid: &str,
        seen_revision: Option<Revision>,
        now: Timestamp,
    ) -> StorageResult<()> {
        Ok(Tx::map_device_item(
            self,
            device,
            datastore,
            guid,
            luid,
            seen_revision,
            now,
        )?)
    }

    fn apply_from_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        change: DeviceChange<'_>,
        now: Timestamp,
    ) -> StorageResult<Applied> {
        Ok(Tx::apply_from_device(
            self, device, datastore, session, change, now,
        )?)
    }

    fn changes_for_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> StorageResult<Vec<PcChange>> {
        Ok(Tx::changes_for_device(self, device, datastore)?)
    }

    /// A page from the indexes where the last one stopped, without the items: a sync sending
    /// thousands holds a page at a time and reads each item only when a message carries it.
    fn unseen_changes_after(
        &self,
        device: DeviceId,
        datastore: Datastore,
        after: Option<UnseenChange>,
        limit: usize,
    ) -> StorageResult<Vec<UnseenChange>> {
        Ok(Tx::unseen_changes_after(
            self, device, datastore, after, limit,
        )?)
    }

    /// One counting query rather than every change read.
    fn count_unseen_changes(&self, device: DeviceId, datastore: Datastore) -> StorageResult<u64> {
        Ok(Tx::count_unseen_changes(self, device, datastore)?)
    }

    fn record_delivered(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        kind: ChangeKind,
        guid: Guid,
        revision: Revision,
    ) -> StorageResult<()> {
        Ok(Tx::record_delivered(
            self, device, datastore, session, kind, guid, revision,
        )?)
    }

    fn record_rejected_item(
        &self,
        new: &NewRejectedItem<'_>,
        now: Timestamp,
    ) -> StorageResult<i64> {
        Ok(Tx::record_rejected_item(self, new, now)?)
    }
}
