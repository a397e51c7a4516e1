//! Devices, their datastores (anchors, map, what they hold) and the two directions of change:
//! what a device sends us and what it has not seen yet.

use crate::db::{params, DbResult, OptionalRow, Row};
use handsync_engine::storage::{
    AnchorBase, Applied, AppliedOutcome, Cause, ChangeKind, Datastore, DevInfEncoding,
    DevInfSummary, DeviceChange, DeviceDatastore, DeviceId, DeviceItem, DeviceRecord, Guid,
    ItemContent, ItemRecord, PcChange, Reason, Revision, SessionId, Timestamp,
};

use super::error::{Context, Result, StoreError};
use super::items::item_from_row;
use super::types::{
    id_column, optional_id, optional_id_column, optional_text_column, text_column, Direction,
};
use super::Tx;

/// A device with the state of each of its datastores, for `handsync devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    pub device: DeviceRecord,
    pub datastores: Vec<DeviceDatastoreSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDatastoreSummary {
    pub state: DeviceDatastore,
    /// Live items the device holds.
    pub held_items: u64,
}

const DEVICE_COLUMNS: &str = "id, uri, devinf_raw, devinf_encoding, manufacturer, model, oem, \
     firmware_version, software_version, hardware_version, devinf_devid, device_type, \
     first_seen, last_seen, next_nonce";

fn device_from_row(row: &Row<'_>) -> DbResult<DeviceRecord> {
    Ok(DeviceRecord {
        id: id_column(row, 0)?,
        uri: row.get(1)?,
        devinf_raw: row.get(2)?,
        devinf_encoding: optional_text_column(row, 3)?,
        summary: DevInfSummary {
            manufacturer: row.get(4)?,
            model: row.get(5)?,
            oem: row.get(6)?,
            firmware_version: row.get(7)?,
            software_version: row.get(8)?,
            hardware_version: row.get(9)?,
            dev_id: row.get(10)?,
            device_type: row.get(11)?,
        },
        first_seen: id_column(row, 12)?,
        last_seen: id_column(row, 13)?,
        next_nonce: row.get(14)?,
    })
}

const DEVICE_DATASTORE_COLUMNS: &str = "device_id, datastore, device_uri, client_last_anchor, \
     server_last_anchor, pending_client_anchor, pending_server_anchor, last_session_completed, \
     last_session_id, last_sync_at, last_result, last_completed_at, previous_client_anchor, \
     previous_server_anchor, previous_completed_at";

fn device_datastore_from_row(row: &Row<'_>) -> DbResult<DeviceDatastore> {
    Ok(DeviceDatastore {
        device: id_column(row, 0)?,
        datastore: text_column(row, 1)?,
        device_uri: row.get(2)?,
        client_last_anchor: row.get(3)?,
        server_last_anchor: row.get(4)?,
        pending_client_anchor: row.get(5)?,
        pending_server_anchor: row.get(6)?,
        last_session_completed: row.get(7)?,
        last_session: optional_id_column(row, 8)?,
        last_sync_at: optional_id_column(row, 9)?,
        last_result: optional_text_column(row, 10)?,
        last_completed_at: optional_id_column(row, 11)?,
        previous_client_anchor: row.get(12)?,
        previous_server_anchor: row.get(13)?,
        previous_completed_at: optional_id_column(row, 14)?,
    })
}

pub(crate) const DEVICE_ITEM_COLUMNS: &str =
    "d.item_id, d.luid, d.seen_revision, i.revision, i.deleted, d.mapped_at";

pub(crate) fn device_item_from_row(row: &Row<'_>) -> DbResult<DeviceItem> {
    Ok(DeviceItem {
        guid: id_column(row, 0)?,
        luid: row.get(1)?,
        seen_revision: id_column(row, 2)?,
        item_revision: id_column(row, 3)?,
        item_deleted: row.get(4)?,
        mapped_at: optional_id_column(row, 5)?,
    })
}

impl Tx<'_> {
    // ----- devices -----

    /// Finds the device by its SyncML URI, creating it on first contact, and marks it seen.
    pub fn upsert_device(&self, uri: &str, now: Timestamp) -> Result<DeviceId> {
        if uri.trim().is_empty() {
            return Err(StoreError::InvalidInput("device URI is empty".into()));
        }
        self.query_row_cached(
            "INSERT INTO devices (uri, first_seen, last_seen, account_id) VALUES (?1, ?2, ?2, ?3) \
                 ON CONFLICT (account_id, uri) DO UPDATE SET last_seen = CASE WHEN excluded.last_seen > devices.last_seen \
                 THEN excluded.last_seen ELSE devices.last_seen END \
                 RETURNING id",
            params![uri, now.0, self.tenant()],
            |row| id_column(row, 0),
        )
        .context(|| format!("recording device {uri}"))
    }

    pub fn device(&self, device: DeviceId) -> Result<DeviceRecord> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1 AND account_id = ?2");
        self.query_row_cached(&sql, [device.0, self.tenant()], device_from_row)
            .optional()
            .context(|| format!("reading device {device}"))?
            .ok_or(StoreError::DeviceNotFound(device))
    }

    pub fn device_by_uri(&self, uri: &str) -> Result<Option<DeviceRecord>> {
        let sql =
            format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE uri = ?1 AND account_id = ?2");
        self.query_row_cached(&sql, params![uri, self.tenant()], device_from_row)
            .optional()
            .context(|| format!("reading device {uri}"))
    }

    /// Stores the DevInf as received and its summary.
    pub fn set_device_info(
        &self,
        device: DeviceId,
        raw: &[u8],
        encoding: DevInfEncoding,
        summary: &DevInfSummary,
    ) -> Result<()> {
        let changed = self
            .execute_cached(
                "UPDATE devices SET devinf_raw = ?2, devinf_encoding = ?3, manufacturer = ?4, \
                 model = ?5, oem = ?6, firmware_version = ?7, software_version = ?8, \
                 hardware_version = ?9, devinf_devid = ?10, device_type = ?11 WHERE id = ?1",
                params![
                    device.0,
                    raw,
                    encoding.as_str(),
                    summary.manufacturer,
                    summary.model,
                    summary.oem,
                    summary.firmware_version,
                    summary.software_version,
                    summary.hardware_version,
                    summary.dev_id,
                    summary.device_type
                ],
            )
            .context(|| format!("storing the DevInf of device {device}"))?;
        if changed == 0 {
            return Err(StoreError::DeviceNotFound(device));
        }
        Ok(())
    }

    /// Remembers the NextNonce we sent, to check the device's next auth-md5 credentials.
    pub fn set_next_nonce(&self, device: DeviceId, nonce: &[u8]) -> Result<()> {
        let changed = self
            .execute_cached(
                "UPDATE devices SET next_nonce = ?2 WHERE id = ?1",
                params![device.0, nonce],
            )
            .context(|| format!("storing the nonce of device {device}"))?;
        if changed == 0 {
            return Err(StoreError::DeviceNotFound(device));
        }
        Ok(())
    }

    pub fn set_device_setting(&self, device: DeviceId, key: &str, value: &str) -> Result<()> {
        self.device(device)?;
        self.execute_cached(
            "INSERT INTO device_settings (device_id, key, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (device_id, key) DO UPDATE SET value = excluded.value",
            params![device.0, key, value],
        )
        .map(|_| ())
        .context(|| format!("setting {key} of device {device}"))
    }

    pub fn device_setting(&self, device: DeviceId, key: &str) -> Result<Option<String>> {
        self.query_row_cached(
            "SELECT value FROM device_settings WHERE device_id = ?1 AND key = ?2",
            params![device.0, key],
            |row| row.get(0),
        )
        .optional()
        .context(|| format!("reading {key} of device {device}"))
    }

    /// All settings of a device, by key.
    pub fn device_settings(&self, device: DeviceId) -> Result<Vec<(String, String)>> {
        self.collect(
            "SELECT key, value FROM device_settings WHERE device_id = ?1 ORDER BY key",
            [device.0],
            |row| Ok((row.get(0)?, row.get(1)?)),
            || format!("reading the settings of device {device}"),
        )
    }

    /// Every device with the state of its datastores, most recently seen first.
    pub fn devices(&self) -> Result<Vec<DeviceSummary>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE account_id = ?1 ORDER BY last_seen DESC, id"
        );
        let devices = self.collect(&sql, [self.tenant()], device_from_row, || {
            "listing devices".into()
        })?;
        let mut summaries = Vec::with_capacity(devices.len());
        for device in devices {
            let mut datastores = Vec::new();
            for state in self.device_datastores(device.id)? {
                let held_items = self
                    .query_row_cached(
                        "SELECT count(*) FROM device_items d \
                         JOIN device_datastores s ON s.id = d.device_datastore_id \
                         JOIN items i ON i.id = d.item_id \
                         WHERE s.device_id = ?1 AND s.datastore = ?2 AND i.deleted = 0",
                        params![device.id.0, state.datastore.as_str()],
                        |row| row.get::<i64>(0),
                    )
                    .context(|| {
                        format!("counting {} items of device {}", state.datastore, device.id)
                    })?;
                datastores.push(DeviceDatastoreSummary {
                    state,
                    held_items: held_items.max(0) as u64,
                });
            }
            summaries.push(DeviceSummary { device, datastores });
        }
        Ok(summaries)
    }

    // ----- device datastores and anchors -----

    /// Sets up (or updates the URI of) a device's copy of a datastore.
    pub fn set_up_device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
        device_uri: &str,
    ) -> Result<DeviceDatastore> {
        self.device(device)?;
        self.execute_cached(
            "INSERT INTO device_datastores (device_id, datastore, device_uri) \
                 VALUES (?1, ?2, ?3) \
                 ON CONFLICT (device_id, datastore) DO UPDATE SET device_uri = excluded.device_uri",
            params![device.0, datastore.as_str(), device_uri],
        )
        .context(|| format!("setting up {datastore} on device {device}"))?;
        self.device_datastore(device, datastore)?
            .ok_or(StoreError::DeviceDatastoreNotFound { device, datastore })
    }

    pub fn device_datastore(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Option<DeviceDatastore>> {
        let sql = format!(
            "SELECT {DEVICE_DATASTORE_COLUMNS} FROM device_datastores \
             WHERE device_id = ?1 AND datastore = ?2"
        );
        self.query_row_cached(
            &sql,
            params![device.0, datastore.as_str()],
            device_datastore_from_row,
        )
        .optional()
        .context(|| format!("reading {datastore} of device {device}"))
    }

    pub fn device_datastores(&self, device: DeviceId) -> Result<Vec<DeviceDatastore>> {
        let sql = format!(
            "SELECT {DEVICE_DATASTORE_COLUMNS} FROM device_datastores WHERE device_id = ?1 \
             ORDER BY datastore"
        );
        self.collect(&sql, [device.0], device_datastore_from_row, || {
            format!("listing the datastores of device {device}")
        })
    }

    pub(crate) fn device_datastore_id(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<i64> {
        if let Some(id) = self.known_device_datastore_id(device, datastore) {
            return Ok(id);
        }
        let id = self
            .query_row_cached(
                "SELECT id FROM device_datastores WHERE device_id = ?1 AND datastore = ?2",
                params![device.0, datastore.as_str()],
                |row| row.get(0),
            )
            .optional()
            .context(|| format!("finding {datastore} of device {device}"))?
            .ok_or(StoreError::DeviceDatastoreNotFound { device, datastore })?;
        self.remember_device_datastore_id(device, datastore, id);
        Ok(id)
    }

    /// A sync of this datastore starts: remembers the anchors it will move to when (and only
    /// when) it completes, and marks the last session as not completed until then.
    pub fn begin_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        client_next_anchor: &str,
        server_next_anchor: &str,
        now: Timestamp,
    ) -> Result<()> {
        let id = self.device_datastore_id(device, datastore)?;
        self.execute_cached(
            "UPDATE device_datastores SET pending_client_anchor = ?2, \
                 pending_server_anchor = ?3, last_session_completed = 0, last_session_id = ?4, \
                 last_sync_at = ?5, last_result = 'running' WHERE id = ?1",
            params![id, client_next_anchor, server_next_anchor, session.0, now.0],
        )
        .map(|_| ())
        .context(|| format!("starting the {datastore} sync of device {device}"))
    }

    /// The sync completed: the pending anchors become the last ones, and `base` (the anchors
    /// the phone started it from, if we gave them) the previous ones.
    pub fn complete_datastore_sync(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: SessionId,
        base: Option<&AnchorBase>,
        now: Timestamp,
    ) -> Result<()> {
        let state = self
            .device_datastore(device, datastore)?
            .ok_or(StoreError::DeviceDatastoreNotFound { device, datastore })?;
        if state.last_session != Some(session) || state.pending_client_anchor.is_none() {
            return Err(StoreError::InvalidInput(format!(
                "the {datastore} sync of device {device} was not begun in session {session}"
            )));
        }
        self.execute_cached(
            "UPDATE device_datastores SET client_last_anchor = pending_client_anchor, \
                 server_last_anchor = pending_server_anchor, pending_client_anchor = NULL, \
                 pending_server_anchor = NULL, last_session_completed = 1, \
                 last_result = 'completed', last_completed_at = ?2, \
                 previous_client_anchor = ?4, previous_server_anchor = ?5, \
                 previous_completed_at = ?6 \
                 WHERE device_id = ?1 AND datastore = ?3",
            params![
                device.0,
                now.0,
                datastore.as_str(),
                base.map(|b| b.client.as_str()),
                base.and_then(|b| b.server.as_deref()),
                base.and_then(|b| b.completed_at).map(|t| t.0)
            ],
        )
        .map(|_| ())
        .context(|| format!("completing the {datastore} sync of device {device}"))
    }

    // ----- what the device holds -----

    pub fn device_items(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<DeviceItem>> {
        let id = self.device_datastore_id(device, datastore)?;
        let sql = format!(
            "SELECT {DEVICE_ITEM_COLUMNS} FROM device_items d JOIN items i ON i.id = d.item_id \
             WHERE d.device_datastore_id = ?1 ORDER BY d.item_id"
        );
        self.collect(&sql, [id], device_item_from_row, || {
            format!("listing {datastore} items held by device {device}")
        })
    }

    /// Items sent to the device whose Map has not come yet, in GUID order.
    pub fn pending_maps(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<DeviceItem>> {
        let id = self.device_datastore_id(device, datastore)?;
        // Sorted here, not by the query: ordered by item, SQLite would walk every mapping of
        // the device rather than the partial index of the few pending ones.
        let sql = format!(
            "SELECT {DEVICE_ITEM_COLUMNS} FROM device_items d JOIN items i ON i.id = d.item_id \
             WHERE d.device_datastore_id = ?1 AND d.luid IS NULL"
        );
        let mut pending = self.collect(&sql, [id], device_item_from_row, || {
            format!("listing {datastore} items awaiting a Map from device {device}")
        })?;
        pending.sort_by_key(|held| held.guid);
        Ok(pending)
    }

    /// The items sent to the device whose Map never came with an applied version under
    /// this identity key, now or earlier, in GUID order (see the engine's trait).
    pub fn pending_items_by_past_identity_key(
        &self,
        device: DeviceId,
        datastore: Datastore,
        key: &str,
    ) -> Result<Vec<Guid>> {
        let id = self.device_datastore_id(device, datastore)?;
        // From the device's few pending mappings (their partial index) to their versions:
        // no index of every version's key to keep up on each write, and nothing read of
        // other devices' or accounts' items.
        self.collect(
            "SELECT DISTINCT d.item_id FROM device_items d \
             JOIN item_versions v ON v.item_id = d.item_id \
             WHERE d.device_datastore_id = ?1 AND d.luid IS NULL \
             AND v.identity_key = ?2 AND v.applied = 1 \
             ORDER BY d.item_id",
            params![id, key],
            |row| id_column(row, 0),
            || format!("finding {datastore} items sent to device {device} by an earlier key"),
        )
    }

    /// The live items of a datastore the device does not hold, in GUID order.
    pub fn live_items_not_held(&self, device: DeviceId, datastore: Datastore) -> Result<Vec<Guid>> {
        let id = self.device_datastore_id(device, datastore)?;
        self.collect(
            "SELECT i.id FROM items i WHERE i.account_id = ?3 AND i.datastore = ?2 \
             AND i.deleted = 0 AND NOT EXISTS (SELECT 1 FROM device_items d \
                 WHERE d.device_datastore_id = ?1 AND d.item_id = i.id) \
             ORDER BY i.id",
            params![id, datastore.as_str(), self.tenant()],
            |row| id_column(row, 0),
            || format!("listing {datastore} items device {device} does not hold"),
        )
    }

    pub fn device_item_by_luid(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<Option<DeviceItem>> {
        let id = self.device_datastore_id(device, datastore)?;
        let sql = format!(
            "SELECT {DEVICE_ITEM_COLUMNS} FROM device_items d JOIN items i ON i.id = d.item_id \
             WHERE d.device_datastore_id = ?1 AND d.luid = ?2"
        );
        self.query_row_cached(&sql, params![id, luid], device_item_from_row)
            .optional()
            .context(|| format!("finding LUID {luid} of device {device} in {datastore}"))
    }

    pub fn device_item_by_guid(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<Option<DeviceItem>> {
        let id = self.device_datastore_id(device, datastore)?;
        let sql = format!(
            "SELECT {DEVICE_ITEM_COLUMNS} FROM device_items d JOIN items i ON i.id = d.item_id \
             WHERE d.device_datastore_id = ?1 AND d.item_id = ?2"
        );
        self.query_row_cached(&sql, params![id, guid.0], device_item_from_row)
            .optional()
            .context(|| format!("finding item {guid} on device {device}"))
    }

    /// Slow-sync matching: live items with this identity key that the device does not hold
    /// yet, oldest first. The engine links the one it picks with [`Tx::map_device_item`].
    pub fn unheld_items_by_identity_key(
        &self,
        device: DeviceId,
        datastore: Datastore,
        key: &str,
    ) -> Result<Vec<ItemRecord>> {
        let id = self.device_datastore_id(device, datastore)?;
        self.collect(
            "SELECT id, datastore, content_type, raw, canonical, identity_key, revision, \
             created_at, modified_at, deleted, deleted_at, deleted_by_device, \
             deleted_by_session, deleted_reason FROM items i \
             WHERE i.account_id = ?4 AND i.datastore = ?2 AND i.identity_key = ?3 \
             AND i.deleted = 0 AND NOT EXISTS (SELECT 1 FROM device_items d \
                 WHERE d.device_datastore_id = ?1 AND d.item_id = i.id) \
             ORDER BY i.id",
            params![id, datastore.as_str(), key, self.tenant()],
            item_from_row,
            || format!("matching {datastore} items by identity key for device {device}"),
        )
    }

    /// Records that the device holds `guid` as `luid` at `seen_revision`: a Map, or a
    /// slow-sync match. A LUID the device gave another item before now means this one.
    pub fn map_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
        luid: &str,
        seen_revision: Option<Revision>,
        now: Timestamp,
    ) -> Result<()> {
        if luid.is_empty() {
            return Err(StoreError::InvalidInput(format!(
                "empty LUID for item {guid} from device {device}"
            )));
        }
        let id = self.device_datastore_id(device, datastore)?;
        self.check_datastore(guid, datastore)?;
        let stale = self
            .execute_cached(
                "DELETE FROM device_items WHERE device_datastore_id = ?1 AND luid = ?2 \
                 AND item_id != ?3",
                params![id, luid, guid.0],
            )
            .context(|| format!("dropping a stale mapping of LUID {luid} on device {device}"))?;
        if stale > 0 {
            tracing::warn!(%device, %datastore, luid, %guid, "device reused a LUID; old mapping dropped");
        }
        // A Map for an item we never recorded as delivered: the device has some version of it;
        // seen revision 0 makes the next sync send it the current one.
        self.execute_cached(
            "INSERT INTO device_items (device_datastore_id, item_id, luid, seen_revision, \
                 mapped_at) VALUES (?1, ?2, ?3, coalesce(?4, 0), ?5) \
                 ON CONFLICT (device_datastore_id, item_id) DO UPDATE SET luid = excluded.luid, \
                 seen_revision = coalesce(?4, device_items.seen_revision), mapped_at = excluded.mapped_at",
            params![id, guid.0, luid, optional_id(seen_revision), now.0],
        )
        .map(|_| ())
        .context(|| format!("mapping LUID {luid} to item {guid} on device {device}"))
    }

    /// Forgets what the device holds in a datastore (before a slow sync or refresh rebuilds
    /// it). Items are untouched. Returns how many mappings were dropped.
    pub fn forget_device_items(&self, device: DeviceId, datastore: Datastore) -> Result<usize> {
        let id = self.device_datastore_id(device, datastore)?;
        let dropped = self
            .execute_cached(
                "DELETE FROM device_items WHERE device_datastore_id = ?1",
                [id],
            )
            .context(|| format!("forgetting {datastore} items of device {device}"))?;
        tracing::info!(%device, %datastore, dropped, "device mappings forgotten");
        Ok(dropped)
    }

    /// Forgets that the device holds one item (it no longer has it, or a conflict the PC won
    /// means it must get the item again). The item is untouched. Returns whether a mapping
    /// was dropped.
    pub fn forget_device_item(
        &self,
        device: DeviceId,
        datastore: Datastore,
        guid: Guid,
    ) -> Result<bool> {
        let id = self.device_datastore_id(device, datastore)?;
        let dropped = self
            .execute_cached(
                "DELETE FROM device_items WHERE device_datastore_id = ?1 AND item_id = ?2",
                params![id, guid.0],
            )
            .context(|| format!("forgetting item {guid} on device {device}"))?;
        Ok(dropped > 0)
    }

    // ----- PC -> device -----

    /// What changed on the PC since the device last saw it: Adds of live items it does not
    /// hold, Replaces of items it holds at an older revision, Deletes of tombstones it still
    /// holds. In that order, each by revision. The device's own changes are not echoed back:
    /// applying them records that it has them.
    pub fn changes_for_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Vec<PcChange>> {
        let id = self.device_datastore_id(device, datastore)?;
        let columns = "i.id, i.datastore, i.content_type, i.raw, i.canonical, i.identity_key, \
             i.revision, i.created_at, i.modified_at, i.deleted, i.deleted_at, \
             i.deleted_by_device, i.deleted_by_session, i.deleted_reason";
        let what = || format!("finding {datastore} changes for device {device}");
        let adds = self.collect(
            &format!(
                "SELECT {columns}, NULL FROM items i WHERE i.account_id = ?3 \
                 AND i.datastore = ?2 AND i.deleted = 0 \
                 AND NOT EXISTS (SELECT 1 FROM device_items d \
                     WHERE d.device_datastore_id = ?1 AND d.item_id = i.id) \
                 ORDER BY i.revision"
            ),
            params![id, datastore.as_str(), self.tenant()],
            |row| change_from_row(ChangeKind::Add, row),
            what,
        )?;
        let held = |kind, condition: &str| {
            self.collect(
                &format!(
                    "SELECT {columns}, d.luid FROM device_items d JOIN items i ON i.id = d.item_id \
                     WHERE d.device_datastore_id = ?1 AND {condition} ORDER BY i.revision"
                ),
                [id],
                move |row| change_from_row(kind, row),
                what,
            )
        };
        let replaces = held(
            ChangeKind::Replace,
            "i.deleted = 0 AND i.revision > d.seen_revision",
        )?;
        let deletes = held(ChangeKind::Delete, "i.deleted = 1")?;
        Ok(adds.into_iter().chain(replaces).chain(deletes).collect())
    }

    /// The device acknowledged our change (Status 2xx): for an Add or Replace it now holds the
    /// item at `revision` (an Add's mapping stays pending until its Map); for a Delete it no
    /// longer holds the item, so the tombstone is not reported to it again.
    pub fn record_delivered(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        kind: ChangeKind,
        guid: Guid,
        revision: Revision,
    ) -> Result<()> {
        let id = self.device_datastore_id(device, datastore)?;
        self.check_datastore(guid, datastore)?;
        let what = || format!("recording that device {device} got {kind} of item {guid}");
        match kind {
            ChangeKind::Add | ChangeKind::Replace => {
                self.execute_cached(
                    "INSERT INTO device_items (device_datastore_id, item_id, seen_revision) \
                         VALUES (?1, ?2, ?3) ON CONFLICT (device_datastore_id, item_id) \
                         DO UPDATE SET seen_revision = CASE \
                         WHEN excluded.seen_revision > device_items.seen_revision \
                         THEN excluded.seen_revision ELSE device_items.seen_revision END",
                    params![id, guid.0, revision.0],
                )
                .context(what)?;
            }
            ChangeKind::Delete => {
                self.execute_cached(
                    "DELETE FROM device_items WHERE device_datastore_id = ?1 AND item_id = ?2",
                    params![id, guid.0],
                )
                .context(what)?;
            }
        }
        if let Some(session) = session {
            self.count_change(session, datastore, Direction::ToPhone, kind)?;
        }
        Ok(())
    }

    // ----- device -> PC -----

    /// Applies a change the device sent, recording history, the map and what the device now
    /// has. The device wins over unseen PC changes (flagged in [`Applied::conflict`]; the PC's
    /// version stays in history). An engine that wants the PC to win calls
    /// [`Tx::record_conflict_loser`] instead.
    pub fn apply_from_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        change: DeviceChange<'_>,
        now: Timestamp,
    ) -> Result<Applied> {
        let id = self.device_datastore_id(device, datastore)?;
        let applied = match change {
            DeviceChange::Add { luid, content } | DeviceChange::Replace { luid, content } => {
                let is_add = matches!(change, DeviceChange::Add { .. });
                match self.device_item_by_luid(device, datastore, luid)? {
                    Some(held) => {
                        self.replace_from_device(device, datastore, session, &held, content, now)?
                    }
                    None => {
                        let reason = if is_add {
                            Reason::AddedByPhone
                        } else {
                            Reason::ReplacedByPhone
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
                        Applied {
                            outcome: AppliedOutcome::Added,
                            guid: Some(item.guid),
                            revision: Some(item.revision),
                            conflict: false,
                            revived: false,
                        }
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
                        self.execute_cached(
                            "DELETE FROM device_items WHERE device_datastore_id = ?1 AND item_id = ?2",
                            params![id, held.guid.0],
                        )
                        .context(|| format!("unmapping item {} from device {device}", held.guid))?;
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
                            Applied {
                                outcome: AppliedOutcome::Deleted,
                                guid: Some(item.guid),
                                revision: Some(item.revision),
                                conflict,
                                revived: false,
                            }
                        }
                    }
                }
            }
        };
        if let Some(session) = session {
            let kind = match applied.outcome {
                AppliedOutcome::Added => Some(ChangeKind::Add),
                AppliedOutcome::Replaced => Some(ChangeKind::Replace),
                AppliedOutcome::Deleted => Some(ChangeKind::Delete),
                AppliedOutcome::AlreadyDeleted | AppliedOutcome::NotFound => None,
            };
            if let Some(kind) = kind {
                self.count_change(session, datastore, Direction::FromPhone, kind)?;
            }
        }
        Ok(applied)
    }

    fn replace_from_device(
        &self,
        device: DeviceId,
        datastore: Datastore,
        session: Option<SessionId>,
        held: &DeviceItem,
        content: ItemContent<'_>,
        now: Timestamp,
    ) -> Result<Applied> {
        let item = self.item(held.guid)?;
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
            self.revive_item(&item, content, &cause, now)?
        } else {
            self.replace_item(held.guid, content, &cause, now)?
        };
        let id = self.device_datastore_id(device, datastore)?;
        self.execute_cached(
            "UPDATE device_items SET seen_revision = ?3 \
                 WHERE device_datastore_id = ?1 AND item_id = ?2",
            params![id, item.guid.0, item.revision.0],
        )
        .context(|| format!("recording that device {device} has item {}", item.guid))?;
        Ok(Applied {
            outcome: AppliedOutcome::Replaced,
            guid: Some(item.guid),
            revision: Some(item.revision),
            conflict,
            revived,
        })
    }

    fn check_datastore(&self, guid: Guid, expected: Datastore) -> Result<()> {
        // The datastore alone: the item's content is not needed here.
        let found: Datastore = self
            .query_row_cached(
                "SELECT datastore FROM items WHERE id = ?1 AND account_id = ?2",
                [guid.0, self.tenant()],
                |row| text_column(row, 0),
            )
            .optional()
            .context(|| format!("reading the datastore of item {guid}"))?
            .ok_or(StoreError::ItemNotFound(guid))?;
        if found != expected {
            return Err(StoreError::WrongDatastore {
                guid,
                expected,
                found,
            });
        }
        Ok(())
    }
}

fn change_from_row(kind: ChangeKind, row: &Row<'_>) -> DbResult<PcChange> {
    Ok(PcChange {
        kind,
        item: item_from_row(row)?,
        luid: row.get(14)?,
    })
}
