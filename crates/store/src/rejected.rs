//! Items a phone sent that the engine refused: kept with their bytes, device, datastore, LUID,
//! content type, the status the phone got and why, so the user can recover them.

use crate::db::{params, DbResult, OptionalRow, Row};
use handsync_engine::storage::{Datastore, DeviceId, NewRejectedItem, SessionId, Timestamp};

use super::error::{Context, Result, StoreError};
use super::types::{id_column, optional_id, optional_id_column, optional_text_column};
use super::Tx;

/// A refused item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedItem {
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

const REJECTED_COLUMNS: &str = "id, device_id, session_id, datastore, device_datastore, luid, \
     command, content_type, raw, status, reason, received_at";

fn rejected_from_row(row: &Row<'_>) -> DbResult<RejectedItem> {
    Ok(RejectedItem {
        id: row.get(0)?,
        device: id_column(row, 1)?,
        session: optional_id_column(row, 2)?,
        datastore: optional_text_column(row, 3)?,
        device_datastore: row.get(4)?,
        luid: row.get(5)?,
        command: row.get(6)?,
        content_type: row.get(7)?,
        raw: row.get(8)?,
        status: row.get(9)?,
        reason: row.get(10)?,
        received_at: id_column(row, 11)?,
    })
}

impl Tx<'_> {
    /// Keeps an item the engine refused; returns its id.
    pub fn record_rejected_item(&self, new: &NewRejectedItem<'_>, now: Timestamp) -> Result<i64> {
        self.device(new.device)?;
        let id = self
            .query_row_cached(
                "INSERT INTO rejected_items (device_id, session_id, datastore, device_datastore, \
                 luid, command, content_type, raw, status, reason, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
                params![
                    new.device.0,
                    optional_id(new.session),
                    new.datastore.map(Datastore::as_str),
                    new.device_datastore,
                    new.luid,
                    new.command,
                    new.content_type,
                    new.raw,
                    new.status,
                    new.reason,
                    now.0
                ],
                |row| row.get(0),
            )
            .context(|| format!("keeping an item device {} sent", new.device))?;
        tracing::info!(
            id,
            device = %new.device,
            status = new.status,
            luid = new.luid,
            "refused item kept"
        );
        Ok(id)
    }

    /// Refused items, newest first; only `device`'s when given.
    pub fn rejected_items(
        &self,
        device: Option<DeviceId>,
        limit: usize,
    ) -> Result<Vec<RejectedItem>> {
        let sql = format!(
            "SELECT {REJECTED_COLUMNS} FROM rejected_items \
             WHERE (CAST(?1 AS BIGINT) IS NULL OR device_id = ?1) \
             AND device_id IN (SELECT id FROM devices WHERE account_id = ?3) \
             ORDER BY id DESC LIMIT ?2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.collect(
            &sql,
            params![optional_id(device), limit, self.tenant()],
            rejected_from_row,
            || "listing refused items".into(),
        )
    }

    /// How many items the engine refused in a session.
    pub fn rejected_item_count(&self, session: SessionId) -> Result<u64> {
        self.query_row_cached(
            "SELECT count(*) FROM rejected_items WHERE session_id = ?1",
            [session.0],
            |row| row.get::<i64>(0),
        )
        .map(|n| n.max(0) as u64)
        .context(|| format!("counting the items refused in session {session}"))
    }

    pub fn rejected_item(&self, id: i64) -> Result<RejectedItem> {
        let sql = format!(
            "SELECT {REJECTED_COLUMNS} FROM rejected_items WHERE id = ?1 \
             AND device_id IN (SELECT id FROM devices WHERE account_id = ?2)"
        );
        self.query_row_cached(&sql, [id, self.tenant()], rejected_from_row)
            .optional()
            .context(|| format!("reading refused item {id}"))?
            .ok_or(StoreError::RejectedItemNotFound(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn refused_items_are_kept_and_listed_newest_first() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .transaction(|tx| {
                let phone = tx.upsert_device("IMEI:1", Timestamp(1))?;
                let other = tx.upsert_device("IMEI:2", Timestamp(1))?;
                let mut new = NewRejectedItem {
                    device: phone,
                    session: None,
                    datastore: Some(Datastore::Contacts),
                    device_datastore: "./contacts",
                    luid: Some("7"),
                    command: "Add",
                    content_type: "text/x-vcard",
                    raw: b"BEGIN:VCARD\r\nN:\xff\r\n",
                    status: 415,
                    reason: "not a vCard: line 2",
                };
                let first = tx.record_rejected_item(&new, Timestamp(10))?;
                new.device = other;
                new.datastore = None;
                new.luid = None;
                let second = tx.record_rejected_item(&new, Timestamp(20))?;
                let all = tx.rejected_items(None, 10)?;
                assert_eq!(
                    all.iter().map(|r| r.id).collect::<Vec<_>>(),
                    [second, first]
                );
                let one = tx.rejected_item(first)?;
                assert_eq!(one.raw, b"BEGIN:VCARD\r\nN:\xff\r\n");
                assert_eq!(one.luid.as_deref(), Some("7"));
                assert_eq!(one.datastore, Some(Datastore::Contacts));
                assert_eq!(one.status, 415);
                assert_eq!(one.received_at, Timestamp(10));
                assert_eq!(tx.rejected_items(Some(phone), 10)?.len(), 1);
                assert_eq!(tx.rejected_item_count(SessionId(1))?, 0);
                assert!(matches!(
                    tx.rejected_item(999),
                    Err(StoreError::RejectedItemNotFound(999))
                ));
                new.device = DeviceId(999);
                assert!(matches!(
                    tx.record_rejected_item(&new, Timestamp(30)),
                    Err(StoreError::DeviceNotFound(_))
                ));
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
}
