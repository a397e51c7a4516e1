//! Items, their versions (the history) and restores.

use crate::db::{params, DbResult, OptionalRow, Row};
use handsync_engine::storage::{
    Cause, Datastore, Guid, ItemContent, ItemRecord, Reason, Revision, SessionId, Timestamp,
    Tombstone,
};

use super::error::{Context, Result, StoreError};
use super::types::{
    cause_columns, id_column, optional_id, optional_id_column, optional_text_column, text_column,
    ItemVersion,
};
use super::Tx;

const ITEM_COLUMNS: &str = "id, datastore, content_type, raw, canonical, identity_key, revision, \
     created_at, modified_at, deleted, deleted_at, deleted_by_device, deleted_by_session, \
     deleted_reason";

const VERSION_COLUMNS: &str = "v.item_id, i.datastore, v.revision, v.content_type, v.raw, \
     v.canonical, v.identity_key, v.deleted, v.applied, v.at, v.reason, v.device_id, \
     v.session_id, v.note, v.restored_from_revision";

pub(crate) fn item_from_row(row: &Row<'_>) -> DbResult<ItemRecord> {
    let deleted: bool = row.get(9)?;
    let tombstone = if deleted {
        Some(Tombstone {
            at: id_column(row, 10)?,
            device: optional_id_column(row, 11)?,
            session: optional_id_column(row, 12)?,
            reason: text_column(row, 13)?,
        })
    } else {
        None
    };
    Ok(ItemRecord {
        guid: id_column(row, 0)?,
        datastore: text_column(row, 1)?,
        content_type: row.get(2)?,
        raw: row.get(3)?,
        canonical: row.get(4)?,
        identity_key: row.get(5)?,
        revision: id_column(row, 6)?,
        created_at: id_column(row, 7)?,
        modified_at: id_column(row, 8)?,
        deleted: tombstone,
    })
}

fn version_from_row(row: &Row<'_>) -> DbResult<ItemVersion> {
    Ok(ItemVersion {
        guid: id_column(row, 0)?,
        datastore: text_column(row, 1)?,
        revision: id_column(row, 2)?,
        content_type: row.get(3)?,
        raw: row.get(4)?,
        canonical: row.get(5)?,
        identity_key: row.get(6)?,
        deleted: row.get(7)?,
        applied: row.get(8)?,
        at: id_column(row, 9)?,
        cause: cause_columns(row, 10)?,
        restored_from: optional_id_column(row, 14)?,
    })
}

/// A moment of the store's past that a restore goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointInTime {
    /// Right after the change that took this revision.
    Revision(Revision),
    /// The latest change recorded at or before this time.
    Time(Timestamp),
    /// Just before the session's first change: "undo what this session did".
    BeforeSession(SessionId),
    /// Right after the session's last change.
    AfterSession(SessionId),
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The restore's id in the `restores` table.
    pub id: i64,
    /// The state restored: as of this revision.
    pub target: Revision,
    /// Restoring to this revision undoes the restore.
    pub undo_point: Revision,
    /// Items whose content came back (overwritten or deleted ones).
    pub restored: Vec<Guid>,
    /// Items deleted because they did not exist (or were deleted) at the target.
    pub deleted: Vec<Guid>,
    /// Items already as they were.
    pub unchanged: usize,
}

/// A past restore, as listed by [`Tx::restores`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRecord {
    pub id: i64,
    /// The datastore restored, for a datastore restore.
    pub datastore: Option<Datastore>,
    /// The item restored, for an item restore.
    pub guid: Option<Guid>,
    pub target: Revision,
    /// Restoring to this revision undoes the restore.
    pub undo_point: Revision,
    pub at: Timestamp,
    /// How many items it changed.
    pub changed: u64,
}

/// What a version write makes of the item.
struct NewVersion<'a> {
    content: ItemContent<'a>,
    deleted: bool,
    restored_from: Option<Revision>,
    restore_id: Option<i64>,
}

fn non_empty(guid_or_what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(StoreError::InvalidInput(format!("{guid_or_what} is empty")));
    }
    Ok(())
}

impl Tx<'_> {
    /// The item with this GUID, tombstone or not.
    pub fn item(&self, guid: Guid) -> Result<ItemRecord> {
        self.find_item(guid)?.ok_or(StoreError::ItemNotFound(guid))
    }

    /// The item with this GUID if there is one.
    pub fn find_item(&self, guid: Guid) -> Result<Option<ItemRecord>> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1 AND account_id = ?2");
        self.query_row_cached(&sql, [guid.0, self.tenant()], item_from_row)
            .optional()
            .context(|| format!("reading item {guid}"))
    }

    /// The items of a datastore in GUID order; tombstones only when asked for.
    pub fn items(&self, datastore: Datastore, include_deleted: bool) -> Result<Vec<ItemRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE account_id = ?3 AND datastore = ?1 \
             AND (?2 OR deleted = 0) \
             ORDER BY id"
        );
        self.collect(
            &sql,
            params![datastore.as_str(), include_deleted, self.tenant()],
            item_from_row,
            || format!("listing {datastore} items"),
        )
    }

    /// Live items of a datastore with this identity key (slow-sync matching).
    pub fn items_by_identity_key(
        &self,
        datastore: Datastore,
        key: &str,
    ) -> Result<Vec<ItemRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items \
             WHERE account_id = ?3 AND datastore = ?1 AND identity_key = ?2 AND deleted = 0 \
             ORDER BY id"
        );
        self.collect(
            &sql,
            params![datastore.as_str(), key, self.tenant()],
            item_from_row,
            || format!("looking up {datastore} items by identity key"),
        )
    }

    /// Number of live items per datastore.
    pub fn item_count(&self, datastore: Datastore) -> Result<u64> {
        self.query_row_cached(
            "SELECT count(*) FROM items WHERE account_id = ?2 AND datastore = ?1 AND deleted = 0",
            params![datastore.as_str(), self.tenant()],
            |row| row.get::<i64>(0),
        )
        .context(|| format!("counting {datastore} items"))
        .map(|n| n.max(0) as u64)
    }

    /// Adds a new item. Its GUID is its rowid.
    pub fn add_item(
        &self,
        datastore: Datastore,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        non_empty("content type", content.content_type)?;
        let revision = self.next_revision()?;
        let guid = self
            .query_row_cached(
                "INSERT INTO items (datastore, content_type, raw, canonical, identity_key, \
                 revision, created_at, modified_at, account_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING id",
                params![
                    datastore.as_str(),
                    content.content_type,
                    content.raw,
                    content.canonical,
                    content.identity_key,
                    revision.0,
                    now.0,
                    self.tenant()
                ],
                |row| id_column(row, 0),
            )
            .context(|| format!("adding a {datastore} item"))?;
        self.insert_version(
            guid,
            revision,
            &NewVersion {
                content,
                deleted: false,
                restored_from: None,
                restore_id: None,
            },
            true,
            cause,
            now,
        )?;
        tracing::debug!(%guid, %datastore, %revision, reason = %cause.reason, "item added");
        // What was just written, without reading it back.
        Ok(ItemRecord {
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
        })
    }

    /// Replaces a live item's content; the previous content stays in its history. Replacing
    /// with identical content changes nothing (no new revision).
    pub fn replace_item(
        &self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        non_empty("content type", content.content_type)?;
        let item = self.item(guid)?;
        if item.is_deleted() {
            return Err(StoreError::ItemDeleted(guid));
        }
        if content == item.content() {
            // Same content: a new revision would only send every phone a needless Replace.
            return Ok(item);
        }
        self.write_version(
            &item,
            NewVersion {
                content,
                deleted: false,
                restored_from: None,
                restore_id: None,
            },
            cause,
            now,
        )
    }

    /// Deletes a live item: it becomes a tombstone that keeps its content, and the deletion is
    /// a version of its own.
    pub fn delete_item(&self, guid: Guid, cause: &Cause, now: Timestamp) -> Result<ItemRecord> {
        let item = self.item(guid)?;
        if item.is_deleted() {
            return Err(StoreError::ItemDeleted(guid));
        }
        self.write_version(
            &item,
            NewVersion {
                content: item.content(),
                deleted: true,
                restored_from: None,
                restore_id: None,
            },
            cause,
            now,
        )
    }

    /// Brings a tombstone back to life with new content (a phone edited what the PC deleted).
    pub(crate) fn revive_item(
        &self,
        item: &ItemRecord,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        self.write_version(
            item,
            NewVersion {
                content,
                deleted: false,
                restored_from: None,
                restore_id: None,
            },
            cause,
            now,
        )
    }

    /// Records a version that lost a conflict: kept in the item's history (and restorable by
    /// revision), while the item keeps its content. Returns the loser's revision.
    pub fn record_conflict_loser(
        &self,
        guid: Guid,
        content: ItemContent<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<Revision> {
        self.item(guid)?;
        let revision = self.next_revision()?;
        let cause = Cause {
            reason: Reason::ConflictLoser,
            ..cause.clone()
        };
        self.insert_version(
            guid,
            revision,
            &NewVersion {
                content,
                deleted: false,
                restored_from: None,
                restore_id: None,
            },
            false,
            &cause,
            now,
        )?;
        tracing::debug!(%guid, %revision, "conflict loser recorded");
        Ok(revision)
    }

    /// Every version of an item, oldest first.
    pub fn item_history(&self, guid: Guid) -> Result<Vec<ItemVersion>> {
        self.item(guid)?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM item_versions v JOIN items i ON i.id = v.item_id \
             WHERE v.item_id = ?1 ORDER BY v.revision"
        );
        self.collect(&sql, [guid.0], version_from_row, || {
            format!("reading the history of item {guid}")
        })
    }

    /// The versions written by a session (what it changed, for `handsync history`).
    pub fn versions_of_session(&self, session: SessionId) -> Result<Vec<ItemVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM item_versions v JOIN items i ON i.id = v.item_id \
             WHERE v.session_id = ?1 ORDER BY v.revision"
        );
        self.collect(&sql, [session.0], version_from_row, || {
            format!("reading the changes of session {session}")
        })
    }

    /// The item as each of its applied versions from `revision` on left it, oldest first
    /// (the version that took `revision` included).
    pub fn item_versions_from(&self, guid: Guid, revision: Revision) -> Result<Vec<ItemRecord>> {
        let item = self.item(guid)?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM item_versions v JOIN items i ON i.id = v.item_id \
             WHERE v.item_id = ?1 AND v.revision >= ?2 AND v.applied = 1 ORDER BY v.revision"
        );
        let versions = self.collect(&sql, params![guid.0, revision.0], version_from_row, || {
            format!("reading the history of item {guid} from revision {revision}")
        })?;
        Ok(versions
            .into_iter()
            .map(|version| ItemRecord {
                content_type: version.content_type,
                raw: version.raw,
                canonical: version.canonical,
                identity_key: version.identity_key,
                revision: version.revision,
                modified_at: version.at,
                deleted: version.deleted.then_some(Tombstone {
                    at: version.at,
                    device: version.cause.device,
                    session: version.cause.session,
                    reason: version.cause.reason,
                }),
                ..item.clone()
            })
            .collect())
    }

    /// The version of an item that took this revision.
    pub fn item_version(&self, guid: Guid, revision: Revision) -> Result<ItemVersion> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM item_versions v JOIN items i ON i.id = v.item_id \
             WHERE v.item_id = ?1 AND v.revision = ?2"
        );
        self.query_row_cached(&sql, params![guid.0, revision.0], version_from_row)
            .optional()
            .context(|| format!("reading version {revision} of item {guid}"))?
            .ok_or(StoreError::VersionNotFound { guid, revision })
    }

    /// The revision a point in time stands for.
    pub fn resolve_point(&self, point: PointInTime) -> Result<Revision> {
        match point {
            PointInTime::Revision(revision) => Ok(revision),
            PointInTime::Time(at) => self
                .query_row_cached(
                    "SELECT coalesce(max(v.revision), 0) FROM item_versions v \
                     JOIN items i ON i.id = v.item_id WHERE i.account_id = ?2 AND v.at <= ?1",
                    [at.0, self.tenant()],
                    |row| id_column(row, 0),
                )
                .context(|| format!("finding the last change at or before {}", at.0)),
            PointInTime::BeforeSession(session) => {
                let record = self.session(session)?;
                Ok(record.revision_at_start)
            }
            PointInTime::AfterSession(session) => {
                let record = self.session(session)?;
                match record.revision_at_end {
                    Some(revision) => Ok(revision),
                    None => self.current_revision(),
                }
            }
        }
    }

    /// The applied version that was the item's state at `revision`; `None` if the item did
    /// not exist yet.
    fn version_as_of(&self, guid: Guid, revision: Revision) -> Result<Option<ItemVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM item_versions v JOIN items i ON i.id = v.item_id \
             WHERE v.item_id = ?1 AND v.applied = 1 AND v.revision <= ?2 \
             ORDER BY v.revision DESC LIMIT 1"
        );
        self.query_row_cached(&sql, params![guid.0, revision.0], version_from_row)
            .optional()
            .context(|| format!("reading item {guid} as of revision {revision}"))
    }

    /// Brings back one version of an item (any version, a conflict loser included). If that
    /// version was a deletion, the item is deleted. Recorded as a restore, so it can be undone.
    pub fn restore_item_version(
        &self,
        guid: Guid,
        revision: Revision,
        now: Timestamp,
    ) -> Result<RestoreReport> {
        let item = self.item(guid)?;
        let version = self.item_version(guid, revision)?;
        let mut report = self.begin_restore(None, Some(guid), revision, now)?;
        self.restore_one(&item, Some(&version), &mut report, now)?;
        self.finish_restore(&report)?;
        Ok(report)
    }

    /// Brings an item back to its state at a point in time (deleted if it did not exist then).
    pub fn restore_item(
        &self,
        guid: Guid,
        point: PointInTime,
        now: Timestamp,
    ) -> Result<RestoreReport> {
        let item = self.item(guid)?;
        let target = self.resolve_point(point)?;
        let version = self.version_as_of(guid, target)?;
        let mut report = self.begin_restore(None, Some(guid), target, now)?;
        self.restore_one(&item, version.as_ref(), &mut report, now)?;
        self.finish_restore(&report)?;
        Ok(report)
    }

    /// Brings a whole datastore back to its state at a point in time: items overwritten or
    /// deleted since come back, items added since are deleted. Every change is a new version,
    /// so restoring to [`RestoreReport::undo_point`] undoes it.
    pub fn restore_datastore(
        &self,
        datastore: Datastore,
        point: PointInTime,
        now: Timestamp,
    ) -> Result<RestoreReport> {
        let target = self.resolve_point(point)?;
        let mut report = self.begin_restore(Some(datastore), None, target, now)?;
        for item in self.items(datastore, true)? {
            let version = self.version_as_of(item.guid, target)?;
            self.restore_one(&item, version.as_ref(), &mut report, now)?;
        }
        self.finish_restore(&report)?;
        tracing::info!(
            %datastore,
            %target,
            restored = report.restored.len(),
            deleted = report.deleted.len(),
            "datastore restored"
        );
        Ok(report)
    }

    /// Past restores, newest first.
    pub fn restores(&self) -> Result<Vec<RestoreRecord>> {
        self.collect(
            "SELECT id, datastore, item_id, target_revision, revision_before, at, changed \
             FROM restores WHERE account_id = ?1 ORDER BY id DESC",
            [self.tenant()],
            |row| {
                Ok(RestoreRecord {
                    id: row.get(0)?,
                    datastore: optional_text_column(row, 1)?,
                    guid: optional_id_column(row, 2)?,
                    target: id_column(row, 3)?,
                    undo_point: id_column(row, 4)?,
                    at: id_column(row, 5)?,
                    changed: row.get::<i64>(6)?.max(0) as u64,
                })
            },
            || "listing restores".into(),
        )
    }

    fn begin_restore(
        &self,
        datastore: Option<Datastore>,
        guid: Option<Guid>,
        target: Revision,
        now: Timestamp,
    ) -> Result<RestoreReport> {
        let undo_point = self.current_revision()?;
        let id = self
            .query_row_cached(
                "INSERT INTO restores (datastore, item_id, target_revision, revision_before, at, \
                 account_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                params![
                    datastore.map(Datastore::as_str),
                    optional_id(guid),
                    target.0,
                    undo_point.0,
                    now.0,
                    self.tenant()
                ],
                |row| row.get::<i64>(0),
            )
            .context(|| format!("recording a restore to revision {target}"))?;
        Ok(RestoreReport {
            id,
            target,
            undo_point,
            restored: Vec::new(),
            deleted: Vec::new(),
            unchanged: 0,
        })
    }

    fn finish_restore(&self, report: &RestoreReport) -> Result<()> {
        let changed = (report.restored.len() + report.deleted.len()) as i64;
        self.execute_cached(
            "UPDATE restores SET changed = ?1 WHERE id = ?2",
            [changed, report.id],
        )
        .map(|_| ())
        .context(|| "recording what a restore changed".into())
    }

    fn restore_one(
        &self,
        item: &ItemRecord,
        target: Option<&ItemVersion>,
        report: &mut RestoreReport,
        now: Timestamp,
    ) -> Result<()> {
        let restore_id = Some(report.id);
        let (content, deleted, restored_from) = match target {
            Some(version) => (
                ItemContent {
                    content_type: &version.content_type,
                    raw: &version.raw,
                    canonical: &version.canonical,
                    identity_key: version.identity_key.as_deref(),
                },
                version.deleted,
                Some(version.revision),
            ),
            // Did not exist at the target: delete, keeping the current content in the tombstone.
            None => (item.content(), true, None),
        };
        let unchanged = if deleted {
            item.is_deleted()
        } else {
            !item.is_deleted() && content == item.content()
        };
        if unchanged {
            report.unchanged += 1;
            return Ok(());
        }
        let note = match restored_from {
            Some(revision) => format!("restored from revision {revision}"),
            None => format!("did not exist at revision {}", report.target),
        };
        self.write_version(
            item,
            NewVersion {
                content,
                deleted,
                restored_from,
                restore_id,
            },
            &Cause::pc(Reason::Restored).with_note(note),
            now,
        )?;
        if deleted {
            report.deleted.push(item.guid);
        } else {
            report.restored.push(item.guid);
        }
        Ok(())
    }

    /// Makes `new` the item's state under a new revision and records it as a version.
    fn write_version(
        &self,
        item: &ItemRecord,
        new: NewVersion<'_>,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        let guid = item.guid;
        let revision = self.next_revision()?;
        let content = new.content;
        let (deleted_at, deleted_by_device, deleted_by_session, deleted_reason) = if new.deleted {
            (Some(now), cause.device, cause.session, Some(cause.reason))
        } else {
            (None, None, None, None)
        };
        self.execute_cached(
            "UPDATE items SET content_type = ?2, raw = ?3, canonical = ?4, identity_key = ?5, \
                 revision = ?6, modified_at = ?7, deleted = ?8, deleted_at = ?9, \
                 deleted_by_device = ?10, deleted_by_session = ?11, deleted_reason = ?12 \
                 WHERE id = ?1",
            params![
                guid.0,
                content.content_type,
                content.raw,
                content.canonical,
                content.identity_key,
                revision.0,
                now.0,
                new.deleted,
                optional_id(deleted_at),
                optional_id(deleted_by_device),
                optional_id(deleted_by_session),
                deleted_reason.map(Reason::as_str)
            ],
        )
        .context(|| format!("writing item {guid}"))?;
        self.insert_version(guid, revision, &new, true, cause, now)?;
        tracing::debug!(%guid, %revision, deleted = new.deleted, reason = %cause.reason, "item changed");
        // What was just written, without reading it back.
        Ok(ItemRecord {
            guid,
            datastore: item.datastore,
            content_type: content.content_type.to_string(),
            raw: content.raw.to_vec(),
            canonical: content.canonical.to_string(),
            identity_key: content.identity_key.map(str::to_string),
            revision,
            created_at: item.created_at,
            modified_at: now,
            deleted: new.deleted.then_some(Tombstone {
                at: now,
                device: cause.device,
                session: cause.session,
                reason: cause.reason,
            }),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_version(
        &self,
        guid: Guid,
        revision: Revision,
        new: &NewVersion<'_>,
        applied: bool,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<()> {
        let content = new.content;
        self.execute_cached(
            "INSERT INTO item_versions (item_id, revision, content_type, raw, canonical, \
                 identity_key, deleted, applied, at, reason, device_id, session_id, note, \
                 restored_from_revision, restore_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                guid.0,
                revision.0,
                content.content_type,
                content.raw,
                content.canonical,
                content.identity_key,
                new.deleted,
                applied,
                now.0,
                cause.reason.as_str(),
                optional_id(cause.device),
                optional_id(cause.session),
                cause.note,
                optional_id(new.restored_from),
                new.restore_id
            ],
        )
        .map(|_| ())
        .context(|| format!("recording version {revision} of item {guid}"))
    }

    /// Runs a query and collects its rows, naming what failed.
    pub(crate) fn collect<T, P: crate::db::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&Row<'_>) -> DbResult<T>,
        what: impl Fn() -> String,
    ) -> Result<Vec<T>> {
        self.tx.query_map(sql, params, map).context(what)
    }
}
