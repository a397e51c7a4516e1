//! The storage interface the engine talks to.

use super::error::StorageResult as Result;
use super::records::{
    AnchorBase, Applied, DevInfSummary, DeviceChange, DeviceDatastore, DeviceItem, DeviceRecord,
    NewRejectedItem, NewSession, PcChange, UnseenChange,
};
use super::types::{
    Cause, ChangeKind, Datastore, DevInfEncoding, DeviceId, Guid, ItemContent, ItemRecord,
    Revision, SessionId, SessionResult, Timestamp,
};

/// What the engine needs from storage, for one transaction: the driver opens it, hands it to
/// [`Session::receive`](crate::Session::receive) and commits it when that returns `Ok`.
///
/// Nothing is lost: items are never removed (a delete leaves a tombstone that keeps its
/// content) and every applied change takes the next revision of one global counter and is
/// kept as a version of the item, with its [`Cause`]. Methods naming a device's datastore
/// fail with [`NotFound`](super::StorageErrorKind::NotFound) until
/// [`set_up_device_datastore`](SyncStore::set_up_device_datastore) created it; an item of
/// another datastore than the one named is [`Invalid`](super::StorageErrorKind::Invalid).
pub trait SyncStore {
    // ----- savepoints (SyncML Atomic) -----

    /// Opens a savepoint: what follows can be undone alone. `name` is a plain identifier.
    fn savepoint(&self, name: &str) -> Result<()>;
    /// Undoes everything since the savepoint and closes it.
    fn rollback_to_savepoint(&self, name: &str) -> Result<()>;
    /// Keeps what was done since the savepoint and closes it.
    fn release_savepoint(&self, name: &str) -> Result<()>;

    // ----- devices and accounts -----

    /// Finds the device by its SyncML URI (non-empty), creating it on first contact, and
    /// marks it seen at `now`.
    fn upsert_device(&self, uri: &str, now: Timestamp) -> Result<DeviceId>;
    fn device(&self, device: DeviceId) -> Result<DeviceRecord>;
    /// The device with this SyncML URI, if it ever synced (nothing is created: a client
    /// that has not authenticated leaves no record).
    fn find_device(&self, uri: &str) -> Result<Option<DeviceRecord>>;
    /// Stores the DevInf as received and its summary.
    fn set_device_info(
        &self,
        device: DeviceId,
        raw: &[u8],
        encoding: DevInfEncoding,
        summary: &DevInfSummary,
    ) -> Result<()>;
    /// Remembers the NextNonce we sent, to check the device's next auth-md5 credentials.
    fn set_next_nonce(&self, device: DeviceId, nonce: &[u8]) -> Result<()>;
    /// The account's `md5("name:password")`, `None` if there is no such account. The engine
    /// checks basic and md5 credentials against it ([`crate::credentials`]).
    fn account_digest(&self, name: &str) -> Result<Option<[u8; 16]>>;
    /// From here on (until the transaction ends) works in the data of the account the
    /// session authenticated as (`None`: a session without login), before the engine reads
    /// or writes anything of a device or an item. A store serving several accounts keeps
    /// each one's devices, items and history apart, and may make one account's messages wait
    /// for one another; a store of one household's data needs to do nothing.
    fn enter_account(&self, account: Option<&str>) -> Result<()> {
        let _ = account;
        Ok(())
    }

    // ----- sessions -----

    /// Records a session as running and remembers the revision it starts at.
    fn begin_session(&self, new: &NewSession<'_>) -> Result<SessionId>;
    /// Ends a running session as [`SessionResult::Suspended`], keeping `resume_state`.
    fn suspend_session(
        &self,
        session: SessionId,
        resume_state: &[u8],
        now: Timestamp,
    ) -> Result<()>;
    /// The device's latest session if it is suspended with a resume state.
    fn suspended_session(&self, device: DeviceId) -> Result<Option<(SessionId, Vec<u8>)>>;
    /// Hands out the resume state and clears it, so a suspended session is resumed once.
    fn take_resume_state(&self, session: SessionId) -> Result<Option<Vec<u8>>>;
    /// Ends a running session (not as `Running`). Datastores whose sync it began and did not
    /// complete get its result (`Failed` for a `Completed` session); their anchors stay.
    fn end_session(
        &self,
        session: SessionId,
        result: SessionResult,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<()>;

    /// Removes the devices that never exchanged anything (no running session, no change
    /// counted in any session, no history, mapping or rejected item), all but the `keep`
    /// seen most recently, with their sessions. Returns how many went.
    fn prune_empty_devices(&self, keep: usize) -> Result<usize>;

    // ----- a device's datastores and anchors -----

    /// Sets up (or updates the URI of) a device's copy of a datastore.
    fn set_up_device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
        device_uri: &str,
    ) -> Result<DeviceDatastore>;
    /// A sync starts: remembers the anchors it moves to when (and only when) it completes;
    /// the datastore's last result is `Running` until then.
    fn begin_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        client_next_anchor: &str,
        server_next_anchor: &str,
        now: Timestamp,
    ) -> Result<()>;
    /// The sync begun in `session` completed: the pending anchors become the last ones, and
    /// `base` (the anchors the phone started it from) the previous ones.
    fn complete_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        base: Option<&AnchorBase>,
        now: Timestamp,
    ) -> Result<()>;

    // ----- items -----

    /// The item with this GUID, tombstone or not.
    fn item(&self, guid: Guid) -> Result<ItemRecord>;
    /// The item as each of its applied versions from `revision` on left it, oldest first
    /// (the version that took `revision` included; conflict losers are not versions of it).
    fn item_versions_from(&self, guid: Guid, revision: Revision) -> Result<Vec<ItemRecord>>;
    /// The items of a datastore in GUID order; tombstones only when asked for.
    fn items(&self, datastore: Datastore, include_deleted: bool) -> Result<Vec<ItemRecord>>;
    /// Adds a new item (a non-empty content type) under a new GUID and revision.
    fn add_item(
        &self,
        datastore: Datastore,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord>;
    /// Deletes a live item: it becomes a tombstone keeping its content.
    fn delete_item(&self, guid: Guid, cause: &Cause, now: Timestamp) -> Result<ItemRecord>;
    /// Keeps a version that lost a conflict in the item's history (reason `ConflictLoser`,
    /// never applied) under a new revision; the item keeps its content.
    fn record_conflict_loser(
        &self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<Revision>;

    // ----- what a device holds -----

    /// What the device holds (or was sent, mapping pending), in GUID order.
    fn device_items(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<DeviceItem>>;
    fn device_item_by_luid(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<Option<DeviceItem>>;
    /// Forgets that the device holds one item; returns whether it did.
    fn forget_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<bool>;
    /// Forgets everything the device holds in a datastore (before a slow sync or refresh);
    /// returns how many mappings went.
    fn forget_device_items(&self, device: DeviceId, datastore: Datastore) -> Result<usize> {
        let mut dropped = 0;
        for held in self.device_items(device, datastore)? {
            if self.forget_device_item(device, datastore, held.guid)? {
                dropped += 1;
            }
        }
        Ok(dropped)
    }
    /// What the device holds of one item, if anything.
    fn device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<Option<DeviceItem>> {
        Ok(self
            .device_items(device, datastore)?
            .into_iter()
            .find(|held| held.guid == guid))
    }
    /// Our Adds the device took whose Map has not come (no LUID yet), in GUID order.
    fn pending_maps(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<DeviceItem>> {
        Ok(self
            .device_items(device, datastore)?
            .into_iter()
            .filter(|held| held.luid.is_none())
            .collect())
    }
    /// The live items of a datastore the device does not hold, in GUID order.
    fn live_items_not_held(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<Guid>> {
        let held: std::collections::HashSet<Guid> = self
            .device_items(device, datastore)?
            .into_iter()
            .map(|held| held.guid)
            .collect();
        Ok(self
            .items(datastore, false)?
            .into_iter()
            .map(|item| item.guid)
            .filter(|guid| !held.contains(guid))
            .collect())
    }
    /// Slow-sync matching: the live items of a datastore with this identity key, in GUID
    /// order.
    fn items_by_identity_key(&self, datastore: Datastore, key: &str) -> Result<Vec<ItemRecord>> {
        Ok(self
            .items(datastore, false)?
            .into_iter()
            .filter(|item| item.identity_key.as_deref() == Some(key))
            .collect())
    }
    /// Slow-sync matching of what the device may hold as a copy of ours: the items sent to
    /// it whose Map never came (no LUID) with an applied version, now or earlier, under this
    /// identity key, in GUID order. An item edited on the PC since it went out is found by
    /// the key the device's copy still has.
    fn pending_items_by_past_identity_key(
        &self,
        device: DeviceId,
        datastore: Datastore,
        key: &str,
    ) -> Result<Vec<Guid>> {
        let mut found = Vec::new();
        for held in self.pending_maps(device, datastore)? {
            let versions = self.item_versions_from(held.guid, Revision(0))?;
            if versions
                .iter()
                .any(|version| version.identity_key.as_deref() == Some(key))
            {
                found.push(held.guid);
            }
        }
        Ok(found)
    }
    /// Records that the device holds `guid` as `luid` (non-empty) at `seen_revision`: a Map
    /// (`None`: keep the revision recorded, 0 if none) or a slow-sync match. A LUID the
    /// device gave another item before now means this one.
    fn map_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
        luid: &str,
        seen_revision: Option<Revision>,
        now: Timestamp,
    ) -> Result<()>;

    // ----- what the device sent of a slow sync -----
    //
    // A slow sync (or refresh from the device) carries everything the device holds; what it
    // held and did not send, it no longer has. The LUIDs it sent are kept here rather than
    // in the session, so that a session's memory does not grow with the device's items; a
    // suspended sync finds them again when it resumes.

    /// Records that the device sent `luid` in the slow sync of this datastore under way.
    fn record_luid_sent(&self, device: DeviceId, datastore: Datastore, luid: &str) -> Result<()>;
    /// Whether the device sent `luid` in the slow sync of this datastore under way.
    fn luid_sent(&self, device: DeviceId, datastore: Datastore, luid: &str) -> Result<bool>;
    /// Forgets the LUIDs recorded as sent (a sync of the datastore begins anew, or completed).
    fn clear_luids_sent(&self, device: DeviceId, datastore: Datastore) -> Result<()>;
    /// What the device holds under a LUID it has not sent in the slow sync under way, in
    /// GUID order (pending mappings, without a LUID, are not listed).
    fn held_items_not_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Vec<DeviceItem>>;

    // ----- the two directions of change -----

    /// Applies a change the device sent, recording history, the map, what the device now
    /// holds and the session's counts. The device wins over unseen PC changes (flagged in
    /// [`Applied::conflict`]); an Add of a mapped LUID replaces (a resend must not duplicate);
    /// a Replace of a tombstone revives it; identical content is no conflict.
    fn apply_from_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        change: DeviceChange<'_>,
        now: Timestamp,
    ) -> Result<Applied>;
    /// What the device has not seen: Adds of live items it does not hold, Replaces of items
    /// it holds at an older revision, Deletes of tombstones it holds; in that order, each by
    /// revision.
    fn changes_for_device(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<PcChange>>;
    /// A page of what [`changes_for_device`](SyncStore::changes_for_device) lists, without the
    /// items, in the order of [`UnseenChange::position`]: at most `limit` changes after
    /// `after` (from the first when `None`). The engine reads each item with
    /// [`change_for_device`](SyncStore::change_for_device) when a message is about to carry
    /// it, and the next page when it needs more.
    fn unseen_changes_after(
        &self,
        device: DeviceId,
        datastore: Datastore,
        after: Option<UnseenChange>,
        limit: usize,
    ) -> Result<Vec<UnseenChange>> {
        let after = after.map(|change| change.position());
        let mut changes: Vec<UnseenChange> = self
            .changes_for_device(device, datastore)?
            .into_iter()
            .map(|change| UnseenChange {
                kind: change.kind,
                guid: change.item.guid,
                revision: change.item.revision,
                mapped: change.luid.is_some(),
            })
            .filter(|change| after.is_none_or(|after| change.position() > after))
            .collect();
        changes.sort_by_key(UnseenChange::position);
        changes.truncate(limit);
        Ok(changes)
    }
    /// How many changes the device has not seen the engine can send: Adds, and Replaces and
    /// Deletes of items whose LUID it knows (what `NumberOfChanges` announces).
    fn count_unseen_changes(&self, device: DeviceId, datastore: Datastore) -> Result<u64> {
        Ok(self
            .changes_for_device(device, datastore)?
            .iter()
            .filter(|change| change.kind == ChangeKind::Add || change.luid.is_some())
            .count() as u64)
    }
    /// The change of one item the device has not seen, as the item and what the device holds
    /// of it stand now (the item may have changed since it was listed): an Add of a live
    /// item it does not hold, a Replace of one it holds at an older revision, a Delete of a
    /// tombstone it holds; `None` when there is nothing to send any more.
    fn change_for_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<Option<PcChange>> {
        let item = match self.item(guid) {
            Ok(item) if item.datastore == datastore => item,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == super::StorageErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let change = match self.device_item(device, datastore, guid)? {
            None if !item.is_deleted() => Some((ChangeKind::Add, None)),
            None => None,
            Some(held) if item.is_deleted() => Some((ChangeKind::Delete, held.luid)),
            Some(held) if item.revision > held.seen_revision => {
                Some((ChangeKind::Replace, held.luid))
            }
            Some(_) => None,
        };
        Ok(change.map(|(kind, luid)| PcChange { kind, item, luid }))
    }
    /// The device acknowledged our change: after an Add or Replace it holds the item at
    /// `revision` (at least; an Add's mapping stays pending until its Map); after a Delete it
    /// no longer holds it. Counted in the session's changes.
    fn record_delivered(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        kind: ChangeKind,
        guid: Guid,
        revision: Revision,
    ) -> Result<()>;

    /// Our Add of `guid` went out and its Status has not come: from now on the device may
    /// hold the item under a LUID we do not know, so it is not offered as new again until a
    /// Status, a Map or a slow sync settles it.
    fn record_add_sent(&self, device: DeviceId, datastore: Datastore, guid: Guid) -> Result<()> {
        // Revision 0: whatever version it holds is older than any.
        self.record_delivered(device, datastore, None, ChangeKind::Add, guid, Revision(0))
    }

    /// Keeps an item the engine refused, with its bytes and why; returns its id.
    fn record_rejected_item(&self, new: &NewRejectedItem<'_>, now: Timestamp) -> Result<i64>;
}
