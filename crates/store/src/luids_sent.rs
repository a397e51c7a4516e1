//! What a phone sent of a slow sync: the LUIDs it still holds, kept in the store so that a
//! session's memory does not grow with the phone's items (see schema version 8).

use crate::db::params;
use handsync_engine::storage::{Datastore, DeviceId, DeviceItem};

use super::devices::{device_item_from_row, DEVICE_ITEM_COLUMNS};
use super::error::{Context, Result};
use super::Tx;

impl Tx<'_> {
    /// Records that the device sent `luid` in the slow sync of this datastore under way.
    pub fn record_luid_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
        luid: &str,
    ) -> Result<()> {
        let id = self.device_datastore_id(device, datastore)?;
        self.execute_cached(
            "INSERT INTO luids_sent (device_datastore_id, luid) VALUES (?1, ?2) \
             ON CONFLICT (device_datastore_id, luid) DO NOTHING",
            params![id, luid],
        )
        .map(|_| ())
        .context(|| format!("recording LUID {luid} as sent by device {device} in {datastore}"))
    }

    /// Whether the device sent `luid` in the slow sync of this datastore under way.
    pub fn luid_sent(&self, device: DeviceId, datastore: Datastore, luid: &str) -> Result<bool> {
        let id = self.device_datastore_id(device, datastore)?;
        self.query_row_cached(
            "SELECT count(*) FROM luids_sent WHERE device_datastore_id = ?1 AND luid = ?2",
            params![id, luid],
            |row| row.get::<i64>(0),
        )
        .map(|count| count > 0)
        .context(|| format!("looking for LUID {luid} sent by device {device} in {datastore}"))
    }

    /// Forgets the LUIDs recorded as sent of this datastore.
    pub fn clear_luids_sent(&self, device: DeviceId, datastore: Datastore) -> Result<()> {
        let id = self.device_datastore_id(device, datastore)?;
        self.execute_cached(
            "DELETE FROM luids_sent WHERE device_datastore_id = ?1",
            [id],
        )
        .map(|_| ())
        .context(|| format!("forgetting the LUIDs device {device} sent in {datastore}"))
    }

    /// What the device holds under a LUID it has not sent in the slow sync under way, in GUID
    /// order.
    pub fn held_items_not_sent(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Result<Vec<DeviceItem>> {
        let id = self.device_datastore_id(device, datastore)?;
        let sql = format!(
            "SELECT {DEVICE_ITEM_COLUMNS} FROM device_items d JOIN items i ON i.id = d.item_id \
             WHERE d.device_datastore_id = ?1 AND d.luid IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM luids_sent s \
                 WHERE s.device_datastore_id = d.device_datastore_id AND s.luid = d.luid) \
             ORDER BY d.item_id"
        );
        self.collect(&sql, [id], device_item_from_row, || {
            format!("listing what device {device} holds in {datastore} and did not send")
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Cause, Datastore, ItemContent, Reason, Store, Timestamp};

    #[test]
    fn what_the_phone_did_not_send_is_listed_and_a_new_sync_forgets_what_it_sent() {
        let mut store = Store::open_in_memory().unwrap();
        let now = Timestamp(1);
        store
            .transaction(|tx| {
                let device = tx.upsert_device("IMEI:1", now)?;
                tx.set_up_device_datastore(device, Datastore::Contacts, "Contacts")?;
                for (n, luid) in ["a", "b", "c"].into_iter().enumerate() {
                    let text = format!("item {n}");
                    let content = ItemContent {
                        content_type: "text/plain",
                        raw: text.as_bytes(),
                        canonical: &text,
                        identity_key: None,
                    };
                    let cause = Cause::pc(Reason::AddedOnPc);
                    let item = tx.add_item(Datastore::Contacts, content, &cause, now)?;
                    tx.map_device_item(device, Datastore::Contacts, item.guid, luid, None, now)?;
                }
                tx.record_luid_sent(device, Datastore::Contacts, "b")?;
                tx.record_luid_sent(device, Datastore::Contacts, "b")?;
                tx.record_luid_sent(device, Datastore::Contacts, "new")?;
                assert!(tx.luid_sent(device, Datastore::Contacts, "b")?);
                assert!(!tx.luid_sent(device, Datastore::Contacts, "a")?);
                let unsent: Vec<_> = tx
                    .held_items_not_sent(device, Datastore::Contacts)?
                    .into_iter()
                    .map(|held| held.luid.unwrap())
                    .collect();
                assert_eq!(unsent, ["a", "c"]);
                tx.clear_luids_sent(device, Datastore::Contacts)?;
                assert!(!tx.luid_sent(device, Datastore::Contacts, "b")?);
                assert_eq!(
                    tx.held_items_not_sent(device, Datastore::Contacts)?.len(),
                    3
                );
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }
}
