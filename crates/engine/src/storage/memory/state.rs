//! What a [`MemoryStore`](super::MemoryStore) holds and the rules it keeps, the same as the
//! SQLite store's: items are never removed, every change takes the next revision and leaves a
//! version in the history, a device's mappings and anchors move as the engine reports.

mod luids_sent;

use std::collections::{BTreeMap, BTreeSet};

use super::super::error::{StorageError, StorageResult as Result};
use super::super::records::{
    AnchorBase, Applied, AppliedOutcome, DevInfSummary, DeviceChange, DeviceDatastore, DeviceItem,
    DeviceRecord, NewRejectedItem, NewSession, PcChange,
};
use super::super::types::{
    Cause, ChangeKind, Datastore, DevInfEncoding, DeviceId, Guid, ItemContent, ItemRecord, Reason,
    Revision, SessionId, SessionResult, Timestamp, Tombstone,
};
use super::{ChangeCounts, StoredRejection, StoredSession, StoredVersion};

/// What a device holds of one item.
#[derive(Debug, Clone)]
struct Held {
    /// `None` while the device's Map is pending.
    luid: Option<String>,
    seen_revision: Revision,
    mapped_at: Option<Timestamp>,
}

/// A device's copy of a datastore: its state and what it holds, by GUID.
#[derive(Debug, Clone)]
struct DeviceCopy {
    state: DeviceDatastore,
    held: BTreeMap<Guid, Held>,
    /// The LUIDs the device sent in the slow sync under way.
    luids_sent: BTreeSet<String>,
}

/// Everything, cloned whole for a savepoint or a transaction.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    revision: i64,
    items: BTreeMap<Guid, ItemRecord>,
    pub(super) versions: Vec<StoredVersion>,
    devices: BTreeMap<DeviceId, DeviceRecord>,
    copies: BTreeMap<(DeviceId, Datastore), DeviceCopy>,
    pub(super) sessions: BTreeMap<SessionId, StoredSession>,
    pub(super) accounts: BTreeMap<String, [u8; 16]>,
    pub(super) rejected: Vec<StoredRejection>,
}

fn non_empty(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(StorageError::invalid(format!("{what} is empty")));
    }
    Ok(())
}

impl State {
    fn next_revision(&mut self) -> Revision {
        self.revision += 1;
        Revision(self.revision)
    }

    pub(super) fn current_revision(&self) -> Revision {
        Revision(self.revision)
    }

    // ----- devices -----

    pub(super) fn upsert_device(&mut self, uri: &str, now: Timestamp) -> Result<DeviceId> {
        non_empty("device URI", uri)?;
        if let Some(device) = self.devices.values_mut().find(|d| d.uri == uri) {
            device.last_seen = device.last_seen.max(now);
            return Ok(device.id);
        }
        let id = DeviceId(self.devices.keys().next_back().map_or(1, |d| d.0 + 1));
        self.devices.insert(
            id,
            DeviceRecord {
                id,
                uri: uri.to_string(),
                devinf_raw: None,
                devinf_encoding: None,
                summary: DevInfSummary::default(),
                first_seen: now,
                last_seen: now,
                next_nonce: None,
            },
        );
        Ok(id)
    }

    pub(super) fn device(&self, device: DeviceId) -> Result<&DeviceRecord> {
        self.devices
            .get(&device)
            .ok_or_else(|| StorageError::not_found(format!("device {device} not found")))
    }

    pub(super) fn device_by_uri(&self, uri: &str) -> Option<&DeviceRecord> {
        self.devices.values().find(|d| d.uri == uri)
    }

    fn device_mut(&mut self, device: DeviceId) -> Result<&mut DeviceRecord> {
        self.devices
            .get_mut(&device)
            .ok_or_else(|| StorageError::not_found(format!("device {device} not found")))
    }

    pub(super) fn set_device_info(
        &mut self,
        device: DeviceId,
        raw: &[u8],
        encoding: DevInfEncoding,
        summary: &DevInfSummary,
    ) -> Result<()> {
        let record = self.device_mut(device)?;
        record.devinf_raw = Some(raw.to_vec());
        record.devinf_encoding = Some(encoding);
        record.summary = summary.clone();
        Ok(())
    }

    pub(super) fn set_next_nonce(&mut self, device: DeviceId, nonce: &[u8]) -> Result<()> {
        self.device_mut(device)?.next_nonce = Some(nonce.to_vec());
        Ok(())
    }

    // ----- sessions -----

    pub(super) fn begin_session(&mut self, new: &NewSession<'_>) -> Result<SessionId> {
        self.device(new.device)?;
        let id = SessionId(self.sessions.keys().next_back().map_or(1, |s| s.0 + 1));
        let revision_at_start = self.current_revision();
        self.sessions.insert(
            id,
            StoredSession {
                id,
                device: new.device,
                transport: new.transport.to_string(),
                syncml_session_id: new.syncml_session_id.map(str::to_string),
                started_at: new.started_at,
                ended_at: None,
                result: SessionResult::Running,
                error: None,
                revision_at_start,
                revision_at_end: None,
                resume_state: None,
                from_phone: BTreeMap::new(),
                to_phone: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    fn session_mut(&mut self, session: SessionId) -> Result<&mut StoredSession> {
        self.sessions
            .get_mut(&session)
            .ok_or_else(|| StorageError::not_found(format!("session {session} not found")))
    }

    pub(super) fn end_session(
        &mut self,
        session: SessionId,
        result: SessionResult,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        if result == SessionResult::Running {
            return Err(StorageError::invalid(format!(
                "session {session} cannot end as running"
            )));
        }
        let revision_at_end = self.current_revision();
        let record = self.session_mut(session)?;
        if record.result != SessionResult::Running {
            return Err(StorageError::invalid(format!(
                "session {session} has already ended"
            )));
        }
        record.ended_at = Some(now);
        record.result = result;
        record.error = error.map(str::to_string);
        record.revision_at_end = Some(revision_at_end);
        // A datastore whose sync was never completed did not complete, even if the session
        // as a whole did.
        let datastore_result = match result {
            SessionResult::Completed => SessionResult::Failed,
            other => other,
        };
        for copy in self.copies.values_mut() {
            let state = &mut copy.state;
            if state.last_session == Some(session)
                && state.last_result == Some(SessionResult::Running)
            {
                state.last_result = Some(datastore_result);
            }
        }
        Ok(())
    }

    /// As the SQLite store's: devices that never exchanged anything, but the `keep` seen
    /// most recently, go with their sessions.
    pub(super) fn prune_empty_devices(&mut self, keep: usize) -> usize {
        let exchanged = |device: DeviceId| {
            self.sessions.values().any(|s| {
                s.device == device
                    && (s.result == SessionResult::Running
                        || !s.from_phone.is_empty()
                        || !s.to_phone.is_empty())
            }) || self.versions.iter().any(|v| v.cause.device == Some(device))
                || self.items.values().any(|item| {
                    item.deleted
                        .as_ref()
                        .is_some_and(|t| t.device == Some(device))
                })
                || self.rejected.iter().any(|r| r.device == device)
                || self
                    .copies
                    .iter()
                    .any(|((of, _), copy)| *of == device && !copy.held.is_empty())
        };
        let last_seen = |device: DeviceId| {
            self.sessions
                .values()
                .filter(|s| s.device == device)
                .map(|s| s.started_at)
                .max()
        };
        let mut empty: Vec<(Option<Timestamp>, DeviceId)> = self
            .devices
            .keys()
            .copied()
            .filter(|device| !exchanged(*device))
            .map(|device| (last_seen(device), device))
            .collect();
        // Most recently seen first (then the newest device), as the SQLite store orders them.
        empty.sort_by(|a, b| b.cmp(a));
        let doomed: Vec<DeviceId> = empty.into_iter().skip(keep).map(|(_, d)| d).collect();
        for device in &doomed {
            self.copies.retain(|(of, _), _| of != device);
            self.sessions.retain(|_, s| s.device != *device);
            self.devices.remove(device);
        }
        doomed.len()
    }

    pub(super) fn suspend_session(
        &mut self,
        session: SessionId,
        resume_state: &[u8],
        now: Timestamp,
    ) -> Result<()> {
        self.end_session(session, SessionResult::Suspended, None, now)?;
        self.session_mut(session)?.resume_state = Some(resume_state.to_vec());
        Ok(())
    }

    pub(super) fn suspended_session(&self, device: DeviceId) -> Option<(SessionId, Vec<u8>)> {
        let latest = self.sessions.values().rev().find(|s| s.device == device)?;
        match (&latest.result, &latest.resume_state) {
            (SessionResult::Suspended, Some(state)) => Some((latest.id, state.clone())),
            _ => None,
        }
    }

    /// Counts one change of a session: applied from the phone, or delivered to it.
    fn count_change(
        &mut self,
        session: SessionId,
        datastore: Datastore,
        from_phone: bool,
        kind: ChangeKind,
    ) -> Result<()> {
        let record = self.session_mut(session)?;
        let counts = if from_phone {
            &mut record.from_phone
        } else {
            &mut record.to_phone
        };
        counts
            .entry(datastore)
            .or_insert_with(ChangeCounts::default)
            .count(kind);
        Ok(())
    }

    pub(super) fn take_resume_state(&mut self, session: SessionId) -> Result<Option<Vec<u8>>> {
        Ok(self.session_mut(session)?.resume_state.take())
    }

    // ----- a device's datastores -----

    fn copy(&self, device: DeviceId, datastore: Datastore) -> Result<&DeviceCopy> {
        self.copies.get(&(device, datastore)).ok_or_else(|| {
            StorageError::not_found(format!(
                "device {device} has no {datastore} datastore set up"
            ))
        })
    }

    fn copy_mut(&mut self, device: DeviceId, datastore: Datastore) -> Result<&mut DeviceCopy> {
        self.copies.get_mut(&(device, datastore)).ok_or_else(|| {
            StorageError::not_found(format!(
                "device {device} has no {datastore} datastore set up"
            ))
        })
    }

    pub(super) fn set_up_device_datastore(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        device_uri: &str,
    ) -> Result<DeviceDatastore> {
        self.device(device)?;
        let copy = self
            .copies
            .entry((device, datastore))
            .or_insert_with(|| DeviceCopy {
                state: DeviceDatastore {
                    device,
                    datastore,
                    device_uri: String::new(),
                    client_last_anchor: None,
                    server_last_anchor: None,
                    pending_client_anchor: None,
                    pending_server_anchor: None,
                    last_session_completed: false,
                    last_session: None,
                    last_sync_at: None,
                    last_result: None,
                    last_completed_at: None,
                    previous_client_anchor: None,
                    previous_server_anchor: None,
                    previous_completed_at: None,
                },
                held: BTreeMap::new(),
                luids_sent: BTreeSet::new(),
            });
        copy.state.device_uri = device_uri.to_string();
        Ok(copy.state.clone())
    }

    pub(super) fn device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Option<&DeviceDatastore> {
        self.copies.get(&(device, datastore)).map(|c| &c.state)
    }

    pub(super) fn begin_datastore_sync(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        anchors: (&str, &str),
        now: Timestamp,
    ) -> Result<()> {
        let state = &mut self.copy_mut(device, datastore)?.state;
        state.pending_client_anchor = Some(anchors.0.to_string());
        state.pending_server_anchor = Some(anchors.1.to_string());
        state.last_session_completed = false;
        state.last_session = Some(session);
        state.last_sync_at = Some(now);
        state.last_result = Some(SessionResult::Running);
        Ok(())
    }

    pub(super) fn complete_datastore_sync(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        base: Option<&AnchorBase>,
        now: Timestamp,
    ) -> Result<()> {
        let state = &mut self.copy_mut(device, datastore)?.state;
        if state.last_session != Some(session) || state.pending_client_anchor.is_none() {
            return Err(StorageError::invalid(format!(
                "the {datastore} sync of device {device} was not begun in session {session}"
            )));
        }
        state.client_last_anchor = state.pending_client_anchor.take();
        state.server_last_anchor = state.pending_server_anchor.take();
        state.last_session_completed = true;
        state.last_result = Some(SessionResult::Completed);
        state.last_completed_at = Some(now);
        state.previous_client_anchor = base.map(|b| b.client.clone());
        state.previous_server_anchor = base.and_then(|b| b.server.clone());
        state.previous_completed_at = base.and_then(|b| b.completed_at);
        Ok(())
    }

    // ----- items -----

    pub(super) fn item(&self, guid: Guid) -> Result<&ItemRecord> {
        self.items
            .get(&guid)
            .ok_or_else(|| StorageError::not_found(format!("item {guid} not found")))
    }

    pub(super) fn item_versions_from(
        &self,
        guid: Guid,
        revision: Revision,
    ) -> Result<Vec<ItemRecord>> {
        let item = self.item(guid)?;
        Ok(self
            .versions
            .iter()
            .filter(|v| v.guid == guid && v.revision >= revision && v.applied)
            .map(|v| ItemRecord {
                content_type: v.content_type.clone(),
                raw: v.raw.clone(),
                canonical: v.canonical.clone(),
                identity_key: v.identity_key.clone(),
                revision: v.revision,
                modified_at: v.at,
                deleted: v.deleted.then_some(Tombstone {
                    at: v.at,
                    device: v.cause.device,
                    session: v.cause.session,
                    reason: v.cause.reason,
                }),
                ..item.clone()
            })
            .collect())
    }

    pub(super) fn items(&self, datastore: Datastore, include_deleted: bool) -> Vec<ItemRecord> {
        self.items
            .values()
            .filter(|i| i.datastore == datastore && (include_deleted || !i.is_deleted()))
            .cloned()
            .collect()
    }

    pub(super) fn add_item(
        &mut self,
        datastore: Datastore,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        non_empty("content type", content.content_type)?;
        let revision = self.next_revision();
        let guid = Guid(self.items.keys().next_back().map_or(1, |g| g.0 + 1));
        let item = ItemRecord {
            guid,
            datastore,
            content_type: content.content_type.to_string(),
            raw: content.raw.to_vec(),
            canonical: content.canonical.to_string(),
            identity_key: content.identity_key.map(str::to_string),
            revision,
            created_at: now,
            modified_at: now,
            deleted: None,
        };
        self.items.insert(guid, item.clone());
        self.record_version(&item, true, cause, now);
        Ok(item)
    }

    /// A PC edit: a live item gets new content; identical content changes nothing.
    pub(super) fn replace_item(
        &mut self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        non_empty("content type", content.content_type)?;
        let item = self.live_item(guid)?;
        if content == item.content() {
            return Ok(item);
        }
        Ok(self.write_version(guid, content, false, cause, now))
    }

    pub(super) fn delete_item(
        &mut self,
        guid: Guid,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        let item = self.live_item(guid)?;
        Ok(self.write_version(guid, item.content(), true, cause, now))
    }

    fn live_item(&self, guid: Guid) -> Result<ItemRecord> {
        let item = self.item(guid)?;
        if item.is_deleted() {
            return Err(StorageError::invalid(format!("item {guid} is deleted")));
        }
        Ok(item.clone())
    }

    pub(super) fn record_conflict_loser(
        &mut self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<Revision> {
        let mut loser = self.item(guid)?.clone();
        loser.revision = self.next_revision();
        loser.content_type = content.content_type.to_string();
        loser.raw = content.raw.to_vec();
        loser.canonical = content.canonical.to_string();
        loser.identity_key = content.identity_key.map(str::to_string);
        loser.deleted = None;
        let cause = Cause {
            reason: Reason::ConflictLoser,
            ..cause.clone()
        };
        self.record_version(&loser, false, &cause, now);
        Ok(loser.revision)
    }

    /// Makes `content` the item's state (a tombstone when `deleted`) under a new revision
    /// and keeps it as a version.
    fn write_version(
        &mut self,
        guid: Guid,
        content: ItemContent<'_>,
        deleted: bool,
        cause: &Cause,
        now: Timestamp,
    ) -> ItemRecord {
        let revision = self.next_revision();
        let item = self
            .items
            .get_mut(&guid)
            .expect("the caller checked the item");
        let content = (
            content.content_type.to_string(),
            content.raw.to_vec(),
            content.canonical.to_string(),
            content.identity_key.map(str::to_string),
        );
        (
            item.content_type,
            item.raw,
            item.canonical,
            item.identity_key,
        ) = content;
        item.revision = revision;
        item.modified_at = now;
        item.deleted = deleted.then_some(Tombstone {
            at: now,
            device: cause.device,
            session: cause.session,
            reason: cause.reason,
        });
        let item = item.clone();
        self.record_version(&item, true, cause, now);
        item
    }

    fn record_version(&mut self, item: &ItemRecord, applied: bool, cause: &Cause, now: Timestamp) {
        self.versions.push(StoredVersion {
            guid: item.guid,
            revision: item.revision,
            content_type: item.content_type.clone(),
            raw: item.raw.clone(),
            canonical: item.canonical.clone(),
            identity_key: item.identity_key.clone(),
            deleted: item.is_deleted(),
            applied,
            at: now,
            cause: cause.clone(),
        });
    }

    // ----- what a device holds -----

    pub(super) fn device_items(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Vec<DeviceItem>> {
        let copy = self.copy(device, datastore)?;
        copy.held
            .iter()
            .map(|(guid, held)| self.device_item(*guid, held))
            .collect()
    }

    fn device_item(&self, guid: Guid, held: &Held) -> Result<DeviceItem> {
        let item = self.item(guid)?;
        Ok(DeviceItem {
            guid,
            luid: held.luid.clone(),
            seen_revision: held.seen_revision,
            item_revision: item.revision,
            item_deleted: item.is_deleted(),
            mapped_at: held.mapped_at,
        })
    }

    pub(super) fn device_item_by_luid(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<Option<DeviceItem>> {
        let copy = self.copy(device, datastore)?;
        copy.held
            .iter()
            .find(|(_, held)| held.luid.as_deref() == Some(luid))
            .map(|(guid, held)| self.device_item(*guid, held))
            .transpose()
    }

    pub(super) fn forget_device_item(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<bool> {
        Ok(self
            .copy_mut(device, datastore)?
            .held
            .remove(&guid)
            .is_some())
    }

    pub(super) fn forget_device_items(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<usize> {
        let held = &mut self.copy_mut(device, datastore)?.held;
        let dropped = held.len();
        held.clear();
        Ok(dropped)
    }

    fn check_datastore(&self, guid: Guid, expected: Datastore) -> Result<()> {
        let found = self.item(guid)?.datastore;
        if found != expected {
            return Err(StorageError::invalid(format!(
                "item {guid} belongs to {found}, not {expected}"
            )));
        }
        Ok(())
    }

    pub(super) fn map_device_item(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
        luid: &str,
        seen_revision: Option<Revision>,
        now: Timestamp,
    ) -> Result<()> {
        if luid.is_empty() {
            return Err(StorageError::invalid(format!(
                "empty LUID for item {guid} from device {device}"
            )));
        }
        self.copy(device, datastore)?;
        self.check_datastore(guid, datastore)?;
        let held = &mut self.copy_mut(device, datastore)?.held;
        // A LUID the device gave another item before now means this one.
        held.retain(|other, h| *other == guid || h.luid.as_deref() != Some(luid));
        let entry = held.entry(guid).or_insert(Held {
            luid: None,
            seen_revision: Revision(0),
            mapped_at: None,
        });
        entry.luid = Some(luid.to_string());
        entry.mapped_at = Some(now);
        if let Some(seen) = seen_revision {
            entry.seen_revision = seen;
        }
        Ok(())
    }

    // ----- the two directions of change -----

    pub(super) fn apply_from_device(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        change: DeviceChange<'_>,
        now: Timestamp,
    ) -> Result<Applied> {
        self.copy(device, datastore)?;
        let applied = match change {
            DeviceChange::Add { luid, content } | DeviceChange::Replace { luid, content } => {
                match self.device_item_by_luid(device, datastore, luid)? {
                    Some(held) => {
                        self.replace_from_device(device, datastore, session, &held, content, now)?
                    }
                    None => {
                        let reason = match change {
                            DeviceChange::Add { .. } => Reason::AddedByPhone,
                            _ => Reason::ReplacedByPhone,
                        };
                        let cause = Cause::device(reason, device, session);
                        let item = self.add_item(datastore, content, &cause, now)?;
                        self.map_device_item(
                            device,
                            datastore,
                            item.guid,
                            luid,
                            Some(item.revision),
                            now,
                        )?;
                        applied(AppliedOutcome::Added, &item, false, false)
                    }
                }
            }
            DeviceChange::Delete { luid } => {
                match self.device_item_by_luid(device, datastore, luid)? {
                    None => Applied {
                        outcome: AppliedOutcome::NotFound,
                        guid: None,
                        revision: None,
                        conflict: false,
                        revived: false,
                    },
                    Some(held) => {
                        self.forget_device_item(device, datastore, held.guid)?;
                        if held.item_deleted {
                            Applied {
                                outcome: AppliedOutcome::AlreadyDeleted,
                                guid: Some(held.guid),
                                revision: Some(held.item_revision),
                                conflict: false,
                                revived: false,
                            }
                        } else {
                            let conflict = held.item_revision > held.seen_revision;
                            let mut cause = Cause::device(Reason::DeletedByPhone, device, session);
                            if conflict {
                                cause = cause.with_note(format!(
                                    "conflict: PC revision {} unseen by the device",
                                    held.item_revision
                                ));
                            }
                            let item = self.delete_item(held.guid, &cause, now)?;
                            applied(AppliedOutcome::Deleted, &item, conflict, false)
                        }
                    }
                }
            }
        };
        let kind = match applied.outcome {
            AppliedOutcome::Added => Some(ChangeKind::Add),
            AppliedOutcome::Replaced => Some(ChangeKind::Replace),
            AppliedOutcome::Deleted => Some(ChangeKind::Delete),
            AppliedOutcome::AlreadyDeleted | AppliedOutcome::NotFound => None,
        };
        if let (Some(session), Some(kind)) = (session, kind) {
            self.count_change(session, datastore, true, kind)?;
        }
        Ok(applied)
    }

    fn replace_from_device(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        held: &DeviceItem,
        content: ItemContent<'_>,
        now: Timestamp,
    ) -> Result<Applied> {
        let item = self.item(held.guid)?.clone();
        let same_content = !item.is_deleted() && content == item.content();
        // Both sides holding the same content is no conflict, whatever happened in between.
        let conflict = held.item_revision > held.seen_revision && !same_content;
        let mut cause = Cause::device(Reason::ReplacedByPhone, device, session);
        if conflict {
            cause = cause.with_note(format!(
                "conflict: phone won over PC revision {}",
                held.item_revision
            ));
        }
        let revived = item.is_deleted();
        let item = if revived {
            non_empty("content type", content.content_type)?;
            self.write_version(held.guid, content, false, &cause, now)
        } else {
            self.replace_item(held.guid, content, &cause, now)?
        };
        if let Some(entry) = self.copy_mut(device, datastore)?.held.get_mut(&item.guid) {
            entry.seen_revision = item.revision;
        }
        Ok(applied(AppliedOutcome::Replaced, &item, conflict, revived))
    }

    pub(super) fn changes_for_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Vec<PcChange>> {
        let copy = self.copy(device, datastore)?;
        let by_revision = |mut changes: Vec<PcChange>| {
            changes.sort_by_key(|c| c.item.revision);
            changes
        };
        let change = |kind, item: &ItemRecord, luid: Option<&String>| PcChange {
            kind,
            item: item.clone(),
            luid: luid.cloned(),
        };
        let adds = self
            .items
            .values()
            .filter(|i| i.datastore == datastore && !i.is_deleted())
            .filter(|i| !copy.held.contains_key(&i.guid))
            .map(|i| change(ChangeKind::Add, i, None))
            .collect();
        let mut replaces = Vec::new();
        let mut deletes = Vec::new();
        for (guid, held) in &copy.held {
            let item = self.item(*guid)?;
            if item.is_deleted() {
                deletes.push(change(ChangeKind::Delete, item, held.luid.as_ref()));
            } else if item.revision > held.seen_revision {
                replaces.push(change(ChangeKind::Replace, item, held.luid.as_ref()));
            }
        }
        Ok([adds, replaces, deletes]
            .into_iter()
            .flat_map(by_revision)
            .collect())
    }

    pub(super) fn record_delivered(
        &mut self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        kind: ChangeKind,
        guid: Guid,
        revision: Revision,
    ) -> Result<()> {
        self.copy(device, datastore)?;
        self.check_datastore(guid, datastore)?;
        let held = &mut self.copy_mut(device, datastore)?.held;
        match kind {
            ChangeKind::Add | ChangeKind::Replace => {
                let entry = held.entry(guid).or_insert(Held {
                    luid: None,
                    seen_revision: revision,
                    mapped_at: None,
                });
                entry.seen_revision = entry.seen_revision.max(revision);
            }
            ChangeKind::Delete => {
                held.remove(&guid);
            }
        }
        if let Some(session) = session {
            self.count_change(session, datastore, false, kind)?;
        }
        Ok(())
    }

    pub(super) fn record_rejected_item(
        &mut self,
        new: &NewRejectedItem<'_>,
        now: Timestamp,
    ) -> Result<i64> {
        self.device(new.device)?;
        let id = self.rejected.last().map_or(1, |r| r.id + 1);
        self.rejected.push(StoredRejection {
            id,
            device: new.device,
            session: new.session,
            datastore: new.datastore,
            device_datastore: new.device_datastore.to_string(),
            luid: new.luid.map(str::to_string),
            command: new.command.to_string(),
            content_type: new.content_type.to_string(),
            raw: new.raw.to_vec(),
            status: new.status,
            reason: new.reason.to_string(),
            received_at: now,
        });
        Ok(id)
    }
}

impl State {
    /// What breaks the store's own rules; empty when all is well.
    pub(super) fn consistency_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut revisions = std::collections::BTreeSet::new();
        for version in &self.versions {
            if !revisions.insert(version.revision) || version.revision.0 > self.revision {
                problems.push(format!("revision {} reused or ahead", version.revision));
            }
        }
        for item in self.items.values() {
            let latest = self
                .versions
                .iter()
                .filter(|v| v.guid == item.guid && v.applied)
                .max_by_key(|v| v.revision);
            match latest {
                Some(v) if v.revision == item.revision && v.deleted == item.is_deleted() => {}
                _ => problems.push(format!("item {} is not its latest version", item.guid)),
            }
        }
        for ((device, datastore), copy) in &self.copies {
            for guid in copy.held.keys() {
                if self.items.get(guid).map(|i| i.datastore) != Some(*datastore) {
                    problems.push(format!(
                        "device {device} holds unknown {datastore} item {guid}"
                    ));
                }
            }
        }
        problems
    }
}

fn applied(outcome: AppliedOutcome, item: &ItemRecord, conflict: bool, revived: bool) -> Applied {
    Applied {
        outcome,
        guid: Some(item.guid),
        revision: Some(item.revision),
        conflict,
        revived,
    }
}
