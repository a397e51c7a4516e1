//! What a device has not seen, listed page by page without the items: a sync sending many
//! items keeps a cursor, not a list (see `Session::read_changes` in the engine).

use crate::db::params;
use handsync_engine::storage::{ChangeKind, Datastore, DeviceId, UnseenChange};

use super::error::{Context, Result};
use super::types::id_column;
use super::Tx;

impl Tx<'_> {
    /// A page of what [`Tx::changes_for_device`] lists, without reading the items: at most
    /// `limit` changes after `after`, in the order of [`UnseenChange::position`] (Adds by
    /// revision, then Replaces and Deletes each by GUID), each page read from its index
    /// where the last one stopped.
    pub fn unseen_changes_after(
        &self,
        device: DeviceId,
        datastore: Datastore,
        after: Option<UnseenChange>,
        limit: usize,
    ) -> Result<Vec<UnseenChange>> {
        let id = self.device_datastore_id(device, datastore)?;
        let what = || format!("listing {datastore} changes for device {device}");
        let (after_kind, after_key) = after.map_or((0, 0), |change| change.position());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut changes = Vec::new();
        if after_kind == 0 {
            changes = self.collect(
                "SELECT i.id, i.revision FROM items i WHERE i.account_id = ?3 \
                 AND i.datastore = ?2 AND i.deleted = 0 AND i.revision > ?4 \
                 AND NOT EXISTS (SELECT 1 FROM device_items d \
                     WHERE d.device_datastore_id = ?1 AND d.item_id = i.id) \
                 ORDER BY i.revision LIMIT ?5",
                params![id, datastore.as_str(), self.tenant(), after_key, limit],
                |row| {
                    Ok(UnseenChange {
                        kind: ChangeKind::Add,
                        guid: id_column(row, 0)?,
                        revision: id_column(row, 1)?,
                        mapped: false,
                    })
                },
                what,
            )?;
        }
        for (rank, kind, condition) in [
            (
                1,
                ChangeKind::Replace,
                "i.deleted = 0 AND i.revision > d.seen_revision",
            ),
            (2, ChangeKind::Delete, "i.deleted = 1"),
        ] {
            let room = limit - changes.len() as i64;
            if room <= 0 || after_kind > rank {
                continue;
            }
            let after_guid = if after_kind == rank { after_key } else { 0 };
            changes.extend(self.collect(
                &format!(
                    "SELECT d.item_id, i.revision, d.luid FROM device_items d \
                     JOIN items i ON i.id = d.item_id \
                     WHERE d.device_datastore_id = ?1 AND d.item_id > ?2 AND {condition} \
                     ORDER BY d.item_id LIMIT ?3"
                ),
                params![id, after_guid, room],
                move |row| {
                    Ok(UnseenChange {
                        kind,
                        guid: id_column(row, 0)?,
                        revision: id_column(row, 1)?,
                        mapped: row.get::<Option<String>>(2)?.is_some(),
                    })
                },
                what,
            )?);
        }
        Ok(changes)
    }

    /// How many changes the device has not seen can be sent: Adds, and Replaces and Deletes
    /// of items whose LUID it knows.
    pub fn count_unseen_changes(&self, device: DeviceId, datastore: Datastore) -> Result<u64> {
        let id = self.device_datastore_id(device, datastore)?;
        self.query_row_cached(
            "SELECT (SELECT count(*) FROM items i WHERE i.account_id = ?3 \
                 AND i.datastore = ?2 AND i.deleted = 0 \
                 AND NOT EXISTS (SELECT 1 FROM device_items d \
                     WHERE d.device_datastore_id = ?1 AND d.item_id = i.id)) \
             + (SELECT count(*) FROM device_items d JOIN items i ON i.id = d.item_id \
                 WHERE d.device_datastore_id = ?1 AND d.luid IS NOT NULL \
                 AND (i.deleted = 1 OR i.revision > d.seen_revision))",
            params![id, datastore.as_str(), self.tenant()],
            |row| row.get::<i64>(0),
        )
        .map(|count| count.max(0) as u64)
        .context(|| format!("counting {datastore} changes for device {device}"))
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        Cause, ChangeKind, Datastore, ItemContent, Reason, Revision, Store, StoreError, Timestamp,
    };

    fn content(text: &str) -> ItemContent<'_> {
        ItemContent {
            content_type: "text/plain",
            raw: text.as_bytes(),
            canonical: text,
            identity_key: None,
        }
    }

    #[test]
    fn pages_list_what_changes_for_device_lists_and_the_count_what_can_go() {
        let mut store = Store::open_in_memory().unwrap();
        let now = Timestamp(1);
        let contacts = Datastore::Contacts;
        store
            .transaction(|tx| {
                let device = tx.upsert_device("IMEI:1", now)?;
                tx.set_up_device_datastore(device, contacts, "Contacts")?;
                let cause = Cause::pc(Reason::AddedOnPc);
                let mut items = Vec::new();
                for n in 0..9 {
                    let text = format!("item {n}");
                    items.push(tx.add_item(contacts, content(&text), &cause, now)?);
                }
                // Held as they were: 0 to 5; then 0 and 1 edited (Replaces), 2 deleted (a
                // Delete), 0 and 6 sent without their Map yet (Replaces not mapped); 7 and 8
                // not held (Adds).
                for (n, item) in items.iter().enumerate().take(6) {
                    let luid = format!("L{n}");
                    tx.map_device_item(
                        device,
                        contacts,
                        item.guid,
                        &luid,
                        Some(item.revision),
                        now,
                    )?;
                }
                for item in &items[..2] {
                    tx.replace_item(item.guid, content("edited"), &cause, now)?;
                }
                tx.delete_item(items[2].guid, &cause, now)?;
                tx.forget_device_item(device, contacts, items[0].guid)?;
                for item in [&items[0], &items[6]] {
                    let revision = Revision(0);
                    tx.record_delivered(
                        device,
                        contacts,
                        None,
                        ChangeKind::Add,
                        item.guid,
                        revision,
                    )?;
                }

                let mut paged = Vec::new();
                loop {
                    let page =
                        tx.unseen_changes_after(device, contacts, paged.last().copied(), 2)?;
                    let done = page.len() < 2;
                    paged.extend(page);
                    if done {
                        break;
                    }
                }
                let mut listed: Vec<_> = tx
                    .changes_for_device(device, contacts)?
                    .into_iter()
                    .map(|change| (change.kind, change.item.guid, change.luid.is_some()))
                    .collect();
                listed.sort_by_key(|(kind, guid, _)| (*kind as u8, guid.0));
                let mut got: Vec<_> = paged.iter().map(|c| (c.kind, c.guid, c.mapped)).collect();
                got.sort_by_key(|(kind, guid, _)| (*kind as u8, guid.0));
                assert_eq!(got, listed);
                let positions: Vec<_> = paged.iter().map(|c| c.position()).collect();
                assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
                let sendable = paged
                    .iter()
                    .filter(|c| c.kind == ChangeKind::Add || c.mapped)
                    .count();
                assert_eq!(tx.count_unseen_changes(device, contacts)?, sendable as u64);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
}
